"""Export sinks (design §2 export/sinks): NATS JetStream — each record published to a subject, with publish acks.

URL: `nats://user:pass@nats.example:4222/signwatch.events?stream=SIGNWATCH` (a lone user is a token:
`nats://TOKEN@host`). The path is the subject (required, no wildcards). Options: `stream` (default `SIGNWATCH`),
`timeout`.

On open the stream is looked up and, when missing, created with `subjects=[subject]` and the server's defaults
(file storage, one replica, 2-minute duplicate window). Every message carries `Nats-Msg-Id: <event id>`, so
JetStream drops a resent record within the stream's duplicate window, and `Nats-Expected-Stream`, so a subject
captured by some other stream is refused rather than stored there; `Signwatch-Tenant` and `Signwatch-Seq` headers
say whose and which it is. The batch is published in order on one connection and its acks are awaited together.

Acknowledged = every message has its PubAck (stored, or a duplicate already stored): JetStream has written it to
the stream's replicas — on disk as the server's `sync_interval` allows, not necessarily fsynced. Everything is
retryable (connection, timeout, no stream answering) except refused credentials and a record over the server's
`max_payload`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from urllib.parse import SplitResult, unquote, urlunsplit

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from signwatch.export.sinks import (
    Options,
    Record,
    SinkError,
    host_port,
    network_error,
    options,
    redact,
    seconds,
    vet,
)

DEFAULT_STREAM = "SIGNWATCH"
MSG_ID_HEADER = "Nats-Msg-Id"
KNOWN = {"stream", "timeout"}
FATAL = (nats.errors.AuthorizationError, nats.errors.InvalidUserCredentialsError)
AUTH_WORDS = ("authorization violation", "authentication")  # nats-py raises the server's -ERR as a plain Error


def from_url(parts: SplitResult, opts: Options) -> NatsSink:
    found = options(parts, KNOWN)
    subject = unquote(parts.path).strip("/")
    if not subject or any(ch in subject for ch in " \t*>") or ".." in subject:
        raise ValueError(f"nats sink: {subject!r} is not a subject to publish to (nats://host:4222/signwatch.events)")
    stream = found.get("stream") or DEFAULT_STREAM
    if any(ch in stream for ch in " \t.*>/\\"):
        raise ValueError(f"nats sink: {stream!r} is not a valid stream name")
    host, port = host_port(parts, 4222)
    return NatsSink(
        urlunsplit(("nats", parts.netloc, "", "", "")),
        subject,
        stream,
        host=host,
        port=port,
        name=redact(parts, user_is_secret=bool(parts.username and parts.password is None)),
        timeout=seconds(found),
        allow_private=opts.allow_private,
    )


class NatsSink:
    def __init__(
        self,
        server: str,
        subject: str,
        stream: str,
        *,
        host: str,
        port: int,
        name: str,
        timeout: float = 10.0,
        allow_private: bool = True,
    ) -> None:
        self._server = server  # with credentials: never shown
        self.subject, self.stream = subject, stream
        self.name = name
        self._host, self._port = host, port
        self._timeout = timeout
        self._allow_private = allow_private
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._last_error: Exception | None = None

    def __repr__(self) -> str:
        return f"NatsSink({self.name!r})"

    async def open(self) -> None:
        if self._nc is not None and self._nc.is_connected:
            return
        await self._drop()
        await vet(self._host, self._port, self._allow_private)
        self._last_error = None
        self._nc = Client()  # ours before connecting, so a failed connect's socket is closed by _drop
        try:
            async with asyncio.timeout(self._timeout):
                # nats-py retries the first connect until a server has failed more than max_reconnect_attempts
                # times (0 would mean forever): 1 gives two quick tries, then NoServersError.
                await self._nc.connect(
                    servers=[self._server],
                    name="signwatch-export",
                    connect_timeout=max(1, round(self._timeout / 2)),
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0,  # no pause between those two tries
                    error_cb=self._remember,
                )
            self._js = self._nc.jetstream(timeout=self._timeout)
            try:
                await self._js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(name=self.stream, subjects=[self.subject])
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            await self._drop()
            cause = self._last_error if isinstance(exc, nats.errors.NoServersError) and self._last_error else exc
            if isinstance(cause, FATAL) or any(word in str(cause).lower() for word in AUTH_WORDS):
                raise SinkError(f"{self.name}: credentials refused: {cause}", retryable=False) from exc
            raise network_error(f"{self.name}: connect", cause) from exc

    async def send(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        await self.open()
        assert self._js is not None
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for record in batch:
                headers = {
                    MSG_ID_HEADER: record.id,
                    "Signwatch-Tenant": record.tenant,
                    "Signwatch-Seq": str(record.seq),
                }
                futures.append(
                    await self._js.publish_async(self.subject, record.line, stream=self.stream, headers=headers)
                )
            async with asyncio.timeout(self._timeout):
                await asyncio.gather(*futures)
        except nats.js.errors.NoStreamResponseError as exc:
            raise SinkError(
                f"{self.name}: no JetStream stream answered for {self.subject} (is it bound to stream {self.stream}?)",
                retryable=True,
            ) from exc
        except nats.errors.MaxPayloadError as exc:
            raise SinkError(f"{self.name}: a record is larger than the server's max_payload", retryable=False) from exc
        except nats.js.errors.APIError as exc:
            raise SinkError(f"{self.name}: JetStream refused a message: {exc}", retryable=True) from exc
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            await self._drop()
            raise network_error(self.name, exc) from exc
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()  # frees the client's slot for it
                elif not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" log for the acks we gave up on

    async def close(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
                await nc.close()

    async def _remember(self, exc: Exception) -> None:
        """nats-py's error callback: keep the last error (the reason behind a NoServersError); nothing is logged."""
        self._last_error = exc
