"""Export sinks (design §2 export/sinks): syslog — RFC 5424 messages over TCP or TLS, octet-counted (RFC 6587).

URLs: `syslog+tcp://siem.example:514` and `syslog+tls://siem.example:6514?ca=/etc/ssl/siem-ca.pem` (default ports
514 and 6514). Options: `ca` (a CA bundle to trust for this receiver; else `tls_verify`), `facility` (default
`local0`), `severity` (default `info`), `hostname` (default this machine's name), `timeout`.

Each record is one RFC 5424 message, framed by octet counting (RFC 6587 §3.4.1, `MSG-LEN SP SYSLOG-MSG`):
`<PRI>1 TIMESTAMP HOSTNAME signwatch - MSGID [signwatch@32473 tenant="…" seq="…" id="…"] LINE`, where PRI is
facility * 8 + severity, TIMESTAMP the event's occurredAt (else now) in UTC with milliseconds, MSGID the event
type (the JSON line's `type`, a CEF line's Device Event Class ID) or `-`, SD-PARAM values escape `"`, `\\` and
`]`, and LINE (NDJSON, CEF …) is the MSG, as is (no BOM).

Acknowledged = written and drained: syslog over TCP has no application-level acknowledgement, so `send` returns
once the whole batch has left this process's buffers for the kernel (the transport's write buffer limit is 0, so
`drain()` waits for all of it). A receiver that dies right then can still lose what its kernel had queued. A
connection the receiver has closed is noticed before the next batch and reopened. Connection errors and timeouts
are retryable; an untrusted certificate is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import SplitResult

from signwatch.export.sinks import (
    Options,
    Record,
    facts,
    host_port,
    network_error,
    options,
    redact,
    seconds,
    tls_context,
    vet,
)

APP_NAME = "signwatch"
SD_ID = "signwatch@32473"  # 32473: the private enterprise number reserved for documentation (RFC 5612)
FACILITIES = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "authpriv": 10, "audit": 13} | {
    f"local{n}": 16 + n for n in range(8)
}
SEVERITIES = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}
KNOWN = {"ca", "facility", "severity", "hostname", "timeout"}


def from_url(parts: SplitResult, opts: Options) -> SyslogSink:
    found = options(parts, KNOWN)
    tls = parts.scheme.lower() == "syslog+tls"
    if "ca" in found and not tls:
        raise ValueError("syslog+tcp sink: the ca option needs syslog+tls://")
    facility, severity = found.get("facility", "local0"), found.get("severity", "info")
    if facility not in FACILITIES:
        raise ValueError(f"syslog sink: unknown facility {facility!r} (known: {', '.join(FACILITIES)})")
    if severity not in SEVERITIES:
        raise ValueError(f"syslog sink: unknown severity {severity!r} (known: {', '.join(SEVERITIES)})")
    host, port = host_port(parts, 6514 if tls else 514)
    return SyslogSink(
        host,
        port,
        name=redact(parts),
        tls=tls_context(opts.tls_verify, found.get("ca")) if tls else None,
        pri=FACILITIES[facility] * 8 + SEVERITIES[severity],
        hostname=found.get("hostname") or socket.gethostname(),
        timeout=seconds(found),
        allow_private=opts.allow_private,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def message(record: Record, *, pri: int, hostname: str, now: datetime) -> bytes:
    """The RFC 5424 SYSLOG-MSG for one record (unframed)."""
    seen = facts(record.line)
    at = (seen.occurred_at or now).astimezone(UTC)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S") + f".{at.microsecond // 1000:03d}Z"
    params = " ".join(f'{key}="{sd_escape(value)}"' for key, value in record_params(record))
    header = f"<{pri}>1 {stamp} {printable(hostname, 255)} {APP_NAME} - {printable(seen.type or '', 32)}"
    return f"{header} [{SD_ID} {params}] ".encode() + record.line


def frame(msg: bytes) -> bytes:
    """Octet-counting framing (RFC 6587 §3.4.1): `MSG-LEN SP SYSLOG-MSG`."""
    return b"%d %s" % (len(msg), msg)


def record_params(record: Record) -> list[tuple[str, str]]:
    return [("tenant", record.tenant), ("seq", str(record.seq)), ("id", record.id)]


def sd_escape(value: str) -> str:
    """PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\\` and `]` get a backslash."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def printable(value: str, limit: int) -> str:
    """A header field: PRINTUSASCII (33-126) only, at most `limit` characters, `-` (NILVALUE) when empty."""
    cleaned = "".join(ch if 33 <= ord(ch) <= 126 else "_" for ch in value)[:limit]
    return cleaned or "-"


class SyslogSink:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str,
        tls: ssl.SSLContext | None = None,
        pri: int = 16 * 8 + 6,
        hostname: str = "signwatch",
        timeout: float = 10.0,
        allow_private: bool = True,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.host, self.port = host, port
        self.name = name
        self._tls = tls
        self._pri = pri
        self._hostname = hostname
        self._timeout = timeout
        self._allow_private = allow_private
        self._clock = clock
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            return
        await vet(self.host, self.port, self._allow_private)
        try:
            async with asyncio.timeout(self._timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self._tls, server_hostname=self.host if self._tls else None
                )
        except (OSError, TimeoutError) as exc:
            raise network_error(f"{self.name}: connect", exc) from exc
        # With a high-water mark of 0, drain() returns only once the transport has handed everything to the kernel.
        self._writer.transport.set_write_buffer_limits(high=0)

    async def send(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        if self._reader is not None and self._reader.at_eof():  # the receiver hung up since the last batch
            await self.close()
        await self.open()
        assert self._writer is not None
        now = self._clock()
        data = b"".join(frame(message(r, pri=self._pri, hostname=self._hostname, now=now)) for r in batch)
        try:
            async with asyncio.timeout(self._timeout):
                self._writer.write(data)
                await self._writer.drain()
        except (OSError, TimeoutError) as exc:
            self._abort()
            raise network_error(self.name, exc) from exc

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(self._timeout):
                await writer.wait_closed()

    def _abort(self) -> None:
        """Drop a connection whose state is unknown; part of the batch may have gone, so it is sent again whole."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.transport.abort()
