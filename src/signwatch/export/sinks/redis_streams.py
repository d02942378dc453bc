"""Export sinks (design §2 export/sinks): Redis Streams — each batch XADDed by one Lua script call.

URL: `redis://:password@redis.example:6379/0?stream=signwatch:events&maxlen=1000000` (the path is the database
number, default 0; `redis://user:password@…` for an ACL user). Options: `stream` (the key, default
`signwatch:events`), `maxlen` (approximate trimming, `MAXLEN ~`, default 1,000,000 entries; 0 = never trim),
`timeout`.

Every record becomes one entry with the fields `id` (event id), `seq`, `tenant` and `record` (the line), in batch
order; the entry ids are Redis's own (`<ms>-<n>`). The batch goes as the arguments of one EVALSHA of a small
script that XADDs them in order (one round trip, one command to parse, 1.6-2.7 times the events/s of MULTI with one
XADD per record): Redis runs a script atomically, and a script stops at the first error (a key of another type
fails the first XADD) and is never refused for memory once it has written, so a batch goes in whole or not at all.
An ACL user without the right to run scripts gets the same batch as one MULTI … EXEC instead.

Acknowledged = the script answered with the number of entries it added, one per record: the entries are in
Redis's memory and, with AOF, written per its `appendfsync` policy (`everysec`: up to a second can be lost in a
crash; `always` for none). Streams do not dedupe: a resent batch adds the entries again, so consumers dedupe on
the `id` field. Connection errors, timeouts, a loading/read-only/out-of-memory server are retryable; refused
credentials or permissions and a key that is not a stream (WRONGTYPE) are not. The client's own retries are off:
the forwarder retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import SplitResult, urlunsplit

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.typing import EncodableT, FieldT

from signwatch.export.sinks import (
    Options,
    Record,
    SinkError,
    host_port,
    integer,
    network_error,
    options,
    redact,
    seconds,
    vet,
)

DEFAULT_STREAM = "signwatch:events"
DEFAULT_MAXLEN = 1_000_000
KNOWN = {"stream", "maxlen", "timeout"}
ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)
FATAL = (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError, redis.exceptions.NoPermissionError)
# KEYS[1] the stream; ARGV: maxlen (0: no trimming), then id, seq, tenant, record for each record in order.
XADD_ALL = """
local stream, maxlen, added = KEYS[1], tonumber(ARGV[1]), 0
for i = 2, #ARGV, 4 do
  if maxlen > 0 then
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
      'id', ARGV[i], 'seq', ARGV[i + 1], 'tenant', ARGV[i + 2], 'record', ARGV[i + 3])
  else
    redis.call('XADD', stream, '*', 'id', ARGV[i], 'seq', ARGV[i + 1], 'tenant', ARGV[i + 2], 'record', ARGV[i + 3])
  end
  added = added + 1
end
return added
"""


def from_url(parts: SplitResult, opts: Options) -> RedisStreamSink:
    found = options(parts, KNOWN)
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"redis sink: the path is the database number, not {db!r}")
    host, port = host_port(parts, 6379)
    return RedisStreamSink(
        urlunsplit(("redis", parts.netloc, f"/{db}", "", "")),
        found.get("stream") or DEFAULT_STREAM,
        host=host,
        port=port,
        name=redact(parts),
        maxlen=integer(found, "maxlen", DEFAULT_MAXLEN),
        timeout=seconds(found),
        allow_private=opts.allow_private,
    )


class RedisStreamSink:
    def __init__(
        self,
        url: str,
        stream: str,
        *,
        host: str,
        port: int,
        name: str,
        maxlen: int = DEFAULT_MAXLEN,
        timeout: float = 10.0,
        allow_private: bool = True,
    ) -> None:
        self._url = url  # with credentials: never shown
        self.stream = stream
        self.name = name
        self.maxlen = maxlen
        self._host, self._port = host, port
        self._timeout = timeout
        self._allow_private = allow_private
        self._client: aioredis.Redis | None = None
        self._script: AsyncScript | None = None  # None: scripts not allowed for this user, MULTI instead

    def __repr__(self) -> str:
        return f"RedisStreamSink({self.name!r})"

    async def open(self) -> None:
        if self._client is not None:
            return
        await vet(self._host, self._port, self._allow_private)
        client = aioredis.Redis.from_url(
            self._url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
            client_name="signwatch-export",
        )
        try:
            await client.ping()
        except ERRORS as exc:
            await client.aclose()
            raise self._error(exc, "connect") from exc
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._script = client.register_script(XADD_ALL)

    async def send(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        await self.open()
        assert self._client is not None
        try:
            if self._script is not None:
                try:
                    added = await self._scripted(self._script, batch)
                except redis.exceptions.NoPermissionError:
                    # Refused before its first XADD (a stream's key is the same for all): nothing was added. A user
                    # refused the key itself is refused the MULTI too, and that error is the one raised.
                    self._script = None
                    added = await self._transaction(batch)
            else:
                added = await self._transaction(batch)
        except ERRORS as exc:
            raise self._error(exc) from exc
        if added != len(batch):
            raise SinkError(f"{self.name}: Redis added {added} entries for {len(batch)} records", retryable=True)

    async def _scripted(self, script: AsyncScript, batch: Sequence[Record]) -> int:
        args: list[EncodableT] = [self.maxlen]
        for record in batch:
            args += (record.id, record.seq, record.tenant, record.line)
        return int(await script(keys=[self.stream], args=args))

    async def _transaction(self, batch: Sequence[Record]) -> int:
        """The batch as MULTI, one XADD per record, EXEC (for users without the right to run scripts)."""
        assert self._client is not None
        async with self._client.pipeline(transaction=True) as pipe:
            for record in batch:
                fields: dict[FieldT, EncodableT] = {
                    "id": record.id,
                    "seq": record.seq,
                    "tenant": record.tenant,
                    "record": record.line,
                }
                pipe.xadd(self.stream, fields, maxlen=self.maxlen or None, approximate=True)
            ids = await pipe.execute()
        return sum(1 for entry in ids if entry)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _error(self, exc: Exception, where: str = "") -> SinkError:
        label = f"{self.name}: {where}" if where else self.name
        if isinstance(exc, FATAL) or (isinstance(exc, redis.exceptions.ResponseError) and "WRONGTYPE" in str(exc)):
            return SinkError(f"{label}: {exc}", retryable=False)
        return network_error(label, exc)
