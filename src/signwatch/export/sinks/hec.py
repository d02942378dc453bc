"""Export sinks (design §2 export/sinks): Splunk HTTP Event Collector — batches POSTed to /services/collector/event.

URL: `splunk+https://splunk.example:8088?token=…&index=main&sourcetype=…&host=…&ack=1` (`splunk+http://` for
tests; default port 8088; a path, e.g. a proxy prefix, goes before `/services/collector/…`). Options: `token`
(required), `index`, `sourcetype` (default `_json` for JSON lines, `signwatch` for others such as CEF), `host`
(default this machine's name), `ack`, `channel` (default a random UUID per sink), `timeout`, `ack_timeout`
(default 60 s), `max_body` (bytes per POST, default 1 MiB: a larger batch takes several POSTs, in order).

Each record becomes one event object, `{"event": <the line as JSON if it parses, else the string>, "time": <the
event's occurredAt, else now, epoch seconds>, "host", "source": "signwatch", "sourcetype", "index"?, "fields":
{"tenant", "seq", "id"}}`, and the objects of a POST are concatenated (newline-separated), with
`Authorization: Splunk <token>`.

Acknowledged = every POST answered 2xx with `{"code": 0}`: HEC has accepted the events into its indexing queue.
With `ack=1` (indexer acknowledgement enabled on the token) every POST carries `X-Splunk-Request-Channel` and its
`ackId` is then polled on `/services/collector/ack` until it reads true, i.e. the events are indexed (and
replicated per the index's policy); not all true within `ack_timeout` → retryable SinkError (the batch is resent,
so Splunk may then hold duplicates: search with `dedup id`). 408/429/5xx, timeouts and connection errors are
retryable; other refusals (401/403 token, 400 index or format) are not.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult

import httpx
import orjson

from signwatch.export.sinks import (
    Options,
    Record,
    SinkError,
    facts,
    flag,
    host_port,
    http_retryable,
    integer,
    network_error,
    options,
    redact,
    seconds,
    tls_context,
    vet,
)

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"
CHANNEL_HEADER = "X-Splunk-Request-Channel"
USER_AGENT = "signwatch-export"
DEFAULT_PORT = 8088
MAX_BODY = 1024 * 1024
ACK_POLL_FIRST, ACK_POLL_MAX = 0.25, 5.0  # seconds between ack polls: doubling from the first to the max
KNOWN = {"token", "index", "sourcetype", "host", "ack", "channel", "timeout", "ack_timeout", "max_body"}


@dataclass(frozen=True, slots=True)
class HecTarget:
    """Where and how to send: the parsed URL."""

    base_url: str  # scheme://host:port[/prefix]
    host: str
    port: int
    token: str = field(repr=False)
    index: str | None = None
    sourcetype: str | None = None
    event_host: str = "signwatch"
    ack: bool = False
    channel: str = ""
    timeout: float = 10.0
    ack_timeout: float = 60.0
    max_body: int = MAX_BODY
    verify: ssl.SSLContext | bool = True
    allow_private: bool = True


def from_url(parts: SplitResult, opts: Options) -> HecSink:
    found = options(parts, KNOWN)
    if not found.get("token"):
        raise ValueError("splunk sink: the token option is required (?token=…)")
    host, port = host_port(parts, DEFAULT_PORT)
    scheme = "https" if parts.scheme.lower() == "splunk+https" else "http"
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    target = HecTarget(
        base_url=f"{scheme}://{netloc}{parts.path.rstrip('/')}",
        host=host,
        port=port,
        token=found["token"],
        index=found.get("index") or None,
        sourcetype=found.get("sourcetype") or None,
        event_host=found.get("host") or socket.gethostname(),
        ack=flag(found, "ack", False),
        channel=found.get("channel") or str(uuid.uuid4()),
        timeout=seconds(found),
        ack_timeout=seconds(found, "ack_timeout", 60.0),
        max_body=integer(found, "max_body", MAX_BODY, minimum=1024),
        verify=tls_context(opts.tls_verify) if scheme == "https" else True,
        allow_private=opts.allow_private,
    )
    return HecSink(target, name=redact(parts))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HecSink:
    def __init__(
        self,
        target: HecTarget,
        *,
        name: str,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.target = target
        self.name = name
        self._client = client
        self._owned = client is None
        self._clock = clock

    async def open(self) -> None:
        await vet(self.target.host, self.target.port, self.target.allow_private)
        if self._client is None:
            self._client = httpx.AsyncClient(verify=self.target.verify, timeout=self.target.timeout)

    async def send(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        if self._client is None:
            await self.open()
        ack_ids: list[int] = []
        for body in self._bodies(batch, self._clock()):
            answer = await self._post(EVENT_PATH, body)
            if not isinstance(answer, dict) or answer.get("code") != 0:
                raise SinkError(f"{self.name}: unexpected HEC answer {answer!r}", retryable=False)
            if self.target.ack:
                ack_id = answer.get("ackId")
                if not isinstance(ack_id, int):
                    raise SinkError(f"{self.name}: ack=1 but HEC gave no ackId (is indexer ack on?)", retryable=False)
                ack_ids.append(ack_id)
        if ack_ids:
            await self._await_acks(ack_ids)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._owned:
            await client.aclose()

    def event(self, record: Record, now: datetime) -> bytes:
        """The HEC event object for one record."""
        seen = facts(record.line)
        is_json = seen.json is not None
        body: dict[str, Any] = {
            "event": seen.json if is_json else record.line.decode("utf-8", "replace"),
            "time": round((seen.occurred_at or now).timestamp(), 3),
            "host": self.target.event_host,
            "source": "signwatch",
            "sourcetype": self.target.sourcetype or ("_json" if is_json else "signwatch"),
            "fields": {"tenant": record.tenant, "seq": str(record.seq), "id": record.id},
        }
        if self.target.index:
            body["index"] = self.target.index
        return orjson.dumps(body)

    def _bodies(self, batch: Sequence[Record], now: datetime) -> Iterator[bytes]:
        chunk: list[bytes] = []
        size = 0
        for record in batch:
            event = self.event(record, now)
            if chunk and size + len(event) + 1 > self.target.max_body:
                yield b"\n".join(chunk)
                chunk, size = [], 0
            chunk.append(event)
            size += len(event) + 1
        if chunk:
            yield b"\n".join(chunk)

    async def _post(self, path: str, body: bytes) -> Any:
        """POST to HEC; the decoded JSON answer of a 2xx, else SinkError."""
        assert self._client is not None
        headers = {
            "Authorization": f"Splunk {self.target.token}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            CHANNEL_HEADER: self.target.channel,
        }
        try:
            response = await self._client.post(self.target.base_url + path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise network_error(self.name, exc) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not response.is_success:
            said = answer if isinstance(answer, dict) else {"text": response.text[:200]}
            detail = f"HTTP {response.status_code}: {said.get('text')} (code {said.get('code')})"
            raise SinkError(f"{self.name}: {detail}", retryable=http_retryable(response.status_code))
        return answer

    async def _await_acks(self, ack_ids: list[int]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.target.ack_timeout
        pending, delay = set(ack_ids), ACK_POLL_FIRST
        while True:
            answer = await self._post(ACK_PATH, orjson.dumps({"acks": sorted(pending)}))
            acks = answer.get("acks") if isinstance(answer, dict) else None
            if not isinstance(acks, dict):
                raise SinkError(f"{self.name}: unexpected ack answer {answer!r}", retryable=False)
            pending -= {int(key) for key, done in acks.items() if done is True and str(key).isdigit()}
            if not pending:
                return
            left = deadline - loop.time()
            if left <= 0:
                raise SinkError(
                    f"{self.name}: {len(pending)} of {len(ack_ids)} POSTs not indexed within "
                    f"{self.target.ack_timeout:g}s (ack ids {sorted(pending)})",
                    retryable=True,
                )
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, ACK_POLL_MAX)
