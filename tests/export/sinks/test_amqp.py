"""AMQP sink against the machine's RabbitMQ: confirmed, persistent messages read back from a bound queue."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from signwatch.export.sinks import SinkError, open_sink
from tests.export.sinks.conftest import (
    AMQP_URL,
    Pki,
    closed_port,
    fails,
    records,
    require_server,
    run,
    send_all,
    unique,
)


@pytest.fixture(scope="module")
def server() -> str:
    return require_server(AMQP_URL, "RabbitMQ")


@asynccontextmanager
async def bound_queue(exchange: str, routing_key: str) -> AsyncIterator[AbstractQueue]:
    """A queue bound to `exchange` (declared here as the sink declares it); both are deleted afterwards."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        declared = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(unique("signwatch.test.q."), exclusive=True)
        await queue.bind(declared, routing_key)
        try:
            yield queue
        finally:
            await queue.delete(if_unused=False, if_empty=False)
            await declared.delete()
    finally:
        await connection.close()


async def drain(queue: AbstractQueue, count: int) -> list[AbstractIncomingMessage]:
    got = []
    for _ in range(count):
        message = await queue.get(timeout=5, fail=True)
        assert message is not None
        await message.ack()
        got.append(message)
    assert await queue.get(fail=False) is None, "more messages than sent"
    return got


def test_batch_is_confirmed_and_arrives_in_order(server: str) -> None:
    exchange = unique("signwatch.test.x.")
    batch = records(200)

    async def go() -> list[AbstractIncomingMessage]:
        async with bound_queue(exchange, "events.#") as queue:
            url = f"{server}?exchange={exchange}&routing_key=events.acme"
            await send_all(open_sink(url), batch[:150], batch[150:])
            return await drain(queue, len(batch))

    got = run(go())
    assert [m.message_id for m in got] == [r.id for r in batch]
    assert [m.body for m in got] == [r.line for r in batch]
    assert {m.delivery_mode for m in got} == {aio_pika.DeliveryMode.PERSISTENT}
    assert got[0].headers == {"tenant": "acme", "seq": 1}
    assert got[0].routing_key == "events.acme"


def test_the_sink_declares_a_missing_exchange_and_unroutable_messages_fail(server: str) -> None:
    exchange = unique("signwatch.test.x.")
    sink = open_sink(f"{server}?exchange={exchange}&routing_key=nobody.listens")
    try:
        error = fails(sink, records(3), retryable=True)  # declared, but no queue is bound: returned, not dropped
        assert "unroutable" in str(error)
        run(send_all(open_sink(f"{server}?exchange={exchange}&routing_key=nobody.listens&mandatory=0"), records(1)))
    finally:

        async def cleanup() -> None:
            connection = await aio_pika.connect(AMQP_URL)
            channel = await connection.channel()
            await channel.exchange_delete(exchange)
            await connection.close()

        run(cleanup())


def test_an_exchange_of_another_type_is_not_retryable(server: str) -> None:
    exchange = unique("signwatch.test.x.")

    async def declare(kind: aio_pika.ExchangeType, delete: bool = False) -> None:
        connection = await aio_pika.connect(AMQP_URL)
        channel = await connection.channel()
        if delete:
            await channel.exchange_delete(exchange)
        else:
            await channel.declare_exchange(exchange, kind, durable=True)
        await connection.close()

    run(declare(aio_pika.ExchangeType.FANOUT))
    try:
        fails(open_sink(f"{server}?exchange={exchange}"), records(1), retryable=False)
    finally:
        run(declare(aio_pika.ExchangeType.FANOUT, delete=True))


@asynccontextmanager
async def tls_proxy(pki: Pki, target: tuple[str, int]) -> AsyncIterator[int]:
    """A TLS front for the plain broker (as a TLS-terminating load balancer would be); yields its port."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki.cert_file, pki.key_file)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        broker_reader, broker_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    async with server:
        yield server.sockets[0].getsockname()[1]


def test_amqps_verifies_the_broker_with_the_given_ca(server: str, pki: Pki, other_pki: Pki) -> None:
    exchange = unique("signwatch.test.x.")
    parts = urlsplit(server)
    batch = records(3)

    async def go() -> list[AbstractIncomingMessage]:
        async with bound_queue(exchange, "events") as queue, tls_proxy(pki, (parts.hostname, parts.port)) as port:
            url = f"amqps://{parts.username}:{parts.password}@127.0.0.1:{port}{parts.path}?exchange={exchange}"
            untrusted = open_sink(url, tls_verify=str(other_pki.ca_file))
            try:
                await untrusted.open()
            except SinkError as exc:
                assert not exc.retryable, exc
            else:
                raise AssertionError("a broker certificate from another CA was accepted")
            await send_all(open_sink(url, tls_verify=str(pki.ca_file)), batch)
            return await drain(queue, len(batch))

    assert [m.message_id for m in run(go())] == [r.id for r in batch]


def test_wrong_password_is_not_retryable(server: str) -> None:
    url = server.replace("guest:guest@", "guest:wrong-password@", 1)
    error = fails(open_sink(url), records(1), retryable=False)
    assert "wrong-password" not in str(error)


def test_wrong_port_is_retryable() -> None:
    fails(open_sink(f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F"), records(1), retryable=True)


def test_the_password_is_masked() -> None:
    sink = open_sink("amqps://user:s3cret@rabbit.example/%2F?exchange=sw&routing_key=events")
    assert sink.name == "amqps://user:***@rabbit.example/%2F?exchange=sw&routing_key=events"
