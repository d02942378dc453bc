"""Export sinks (design §2 export/sinks): AMQP 0-9-1 (RabbitMQ) — persistent messages with publisher confirms.

URL: `amqp://user:pass@rabbit.example:5672/%2F?exchange=signwatch&routing_key=events` (`amqps://`, default port
5671, for TLS verified per `tls_verify`). The path is the virtual host (`%2F` is `/`, the default). Options:
`exchange` (default `signwatch`), `routing_key` (default `events`), `mandatory` (default 1), `timeout`.

On open the exchange is declared (durable, topic): created when missing, accepted when it exists with those
properties (one of another type is refused). Every record is one message: body = the line, `delivery_mode`
persistent, `message_id` = the event id, `app_id` signwatch, headers `tenant` and `seq`. The batch is published in
order on one channel and the confirms are awaited together.

Acknowledged = every message confirmed (`basic.ack`) by the broker: RabbitMQ has routed it and, for a durable
queue, written it to disk (for a quorum queue, to a majority of replicas). With `mandatory` on (the default) a
message that no queue takes is returned to us and the batch fails (retryable: bind a queue), since a silently
dropped message is a lost event; `mandatory=0` lets the broker drop it. A nack, a lost connection or a timeout is
retryable (the batch is resent: consumers dedupe on `message_id`); refused credentials, permissions or an
exchange of another type are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from urllib.parse import SplitResult, urlunsplit

import aio_pika
import aio_pika.exceptions as amqp_errors
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from signwatch.export.sinks import (
    Options,
    Record,
    SinkError,
    flag,
    host_port,
    network_error,
    options,
    redact,
    seconds,
    tls_context,
    vet,
)

KNOWN = {"exchange", "routing_key", "mandatory", "timeout"}
ERRORS = (amqp_errors.AMQPError, OSError, TimeoutError, RuntimeError)  # RuntimeError: channel state
FATAL = (
    amqp_errors.AuthenticationError,
    amqp_errors.ProbableAuthenticationError,
    amqp_errors.ChannelPreconditionFailed,
    aiormq.exceptions.ChannelAccessRefused,
    aiormq.exceptions.ConnectionNotAllowed,
    amqp_errors.IncompatibleProtocolError,
)


def from_url(parts: SplitResult, opts: Options) -> AmqpSink:
    found = options(parts, KNOWN)
    tls = parts.scheme.lower() == "amqps"
    host, port = host_port(parts, 5671 if tls else 5672)
    exchange = found.get("exchange", "signwatch")
    if not exchange:
        raise ValueError("amqp sink: exchange must not be empty (the default exchange cannot be declared)")
    return AmqpSink(
        urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, "", "")),
        exchange,
        found.get("routing_key", "events"),
        host=host,
        port=port,
        name=redact(parts),
        mandatory=flag(found, "mandatory", True),
        timeout=seconds(found),
        tls=tls_context(opts.tls_verify) if tls else None,
        allow_private=opts.allow_private,
    )


class AmqpSink:
    def __init__(
        self,
        url: str,
        exchange: str,
        routing_key: str,
        *,
        host: str,
        port: int,
        name: str,
        mandatory: bool = True,
        timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
        allow_private: bool = True,
    ) -> None:
        self._url = url  # with credentials: never shown
        self.exchange_name, self.routing_key = exchange, routing_key
        self.name = name
        self.mandatory = mandatory
        self._host, self._port = host, port
        self._timeout = timeout
        self._tls = tls
        self._allow_private = allow_private
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    def __repr__(self) -> str:
        return f"AmqpSink({self.name!r})"

    async def open(self) -> None:
        if self._exchange is not None and self._channel is not None and not self._channel.is_closed:
            return
        await self._drop()
        await vet(self._host, self._port, self._allow_private)
        try:
            async with asyncio.timeout(self._timeout):
                self._connection = await aio_pika.connect(
                    self._url,
                    ssl_context=self._tls,
                    timeout=self._timeout,
                    client_properties={"connection_name": "signwatch-export"},
                )
                self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
                self._exchange = await self._channel.declare_exchange(
                    self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
        except ERRORS as exc:
            await self._drop()
            raise self._error(exc, "connect") from exc

    async def send(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        await self.open()
        exchange = self._exchange
        assert exchange is not None
        # Tasks start in creation order and each takes the channel's publish lock before its first pause, so the
        # messages go out in batch order; their confirms are then awaited together.
        tasks = [
            asyncio.ensure_future(exchange.publish(self._message(r), self.routing_key, mandatory=self.mandatory))
            for r in batch
        ]
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.gather(*tasks)
        except ERRORS as exc:
            await self._drop()
            raise self._error(exc) from exc
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        await self._drop()

    @staticmethod
    def _message(record: Record) -> aio_pika.Message:
        return aio_pika.Message(
            record.line,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=record.id,
            app_id="signwatch",
            headers={"tenant": record.tenant, "seq": record.seq},
        )

    def _error(self, exc: BaseException, where: str = "") -> SinkError:
        label = f"{self.name}: {where}" if where else self.name
        if isinstance(exc, FATAL):
            return SinkError(f"{label}: {type(exc).__name__}: {exc}", retryable=False)
        if isinstance(exc, amqp_errors.PublishError):
            return SinkError(f"{label}: a message was unroutable (no queue bound for it): {exc}", retryable=True)
        return network_error(label, exc)

    async def _drop(self) -> None:
        connection, self._connection, self._channel, self._exchange = self._connection, None, None, None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(*ERRORS):
                await connection.close()
