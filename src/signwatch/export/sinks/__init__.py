"""Export sinks (design §2 export/sinks): the contract every sink keeps, `open_sink`, and what the sinks share.

The forwarder reads events in ingestion order, formats each as one line and hands batches to a sink; it moves its
checkpoint only after `send` returns. So `send` returns only once the receiver has acknowledged the whole batch
(what "acknowledged" means for each receiver is said in its module) and raises `SinkError` on any failure, with
`retryable` telling the forwarder whether to back off and try again or to stop and report. Delivery is at least
once: a batch that failed part-way is sent again whole, so receivers dedupe on `Record.id`.

URLs (the query holds the sink's options; an unknown option is refused):

    file:///var/log/signwatch/events.ndjson?max_bytes=104857600&keep=10
    splunk+https://splunk.example:8088?token=…&index=main&sourcetype=…&ack=1       (splunk+http:// for tests)
    syslog+tcp://siem.example:514           syslog+tls://siem.example:6514?ca=/etc/ssl/siem-ca.pem
    https://receiver.example/signwatch                                               (http:// for tests)
    nats://user:pass@nats.example:4222/signwatch.events?stream=SIGNWATCH
    redis://:pass@redis.example:6379/0?stream=signwatch:events&maxlen=1000000
    amqp://user:pass@rabbit.example:5672/%2F?exchange=signwatch&routing_key=events  (amqps:// with TLS)

Every network sink also takes `timeout=` (seconds for one connect or one batch; default 10). `docs/forwarding.md`
is the operator's version of this list. Sink modules are imported on first use, so a deployment needs the client
library (nats-py, redis, aio-pika) only of the sinks it uses.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import re
import socket
import ssl
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

import orjson

from signwatch.notify.guard import non_public

DEFAULT_TIMEOUT = 10.0
SECRET_PARAMS = frozenset({"token", "password", "secret"})
# scheme → module of this package that builds the sink (`from_url(parts, options)`); imported on first use
MODULES = {
    "file": "file",
    "splunk+https": "hec",
    "splunk+http": "hec",
    "syslog+tcp": "syslog",
    "syslog+tls": "syslog",
    "https": "https",
    "http": "https",
    "nats": "nats",
    "redis": "redis_streams",
    "amqp": "amqp",
    "amqps": "amqp",
}


@dataclass(frozen=True, slots=True)
class Record:
    """One formatted event, as the forwarder hands it over."""

    seq: int
    id: str  # the event id (stable: receivers dedupe on it)
    tenant: str
    line: bytes  # the formatted record (one line, no trailing newline)


class SinkError(Exception):
    """The batch was not (wholly) acknowledged. `retryable`: False when trying again cannot help (bad token,
    refused address, certificate not trusted, malformed record) and an operator has to act."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Sink(Protocol):
    name: str  # for status lines, without secrets

    async def open(self) -> None: ...

    async def send(self, batch: Sequence[Record]) -> None: ...  # returns after the receiver acknowledged everything

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Options:
    """`open_sink`'s keyword arguments, handed to the sink module's `from_url`."""

    signing_key: str | None = field(default=None, repr=False)  # HMAC key of the https sink
    tls_verify: bool | str = True  # False: no verification; a str: path of a CA bundle to trust
    allow_private: bool = True  # False: refuse receivers that resolve to loopback/private/link-local addresses


def open_sink(
    url: str, *, signing_key: str | None = None, tls_verify: bool | str = True, allow_private: bool = True
) -> Sink:
    """The sink a URL names, not yet opened. A malformed URL or an unknown option raises ValueError."""
    parts = urlsplit(url.strip())
    module = MODULES.get(parts.scheme.lower())
    if module is None:
        raise ValueError(f"unknown sink scheme {parts.scheme!r} in {redact(parts)} (known: {', '.join(MODULES)})")
    build = importlib.import_module(f"{__name__}.{module}").from_url
    sink: Sink = build(parts, Options(signing_key, tls_verify, allow_private))
    return sink


# -- URL parsing, shared by the sink modules ------------------------------------------------------------------


def redact(parts: SplitResult, *, user_is_secret: bool = False) -> str:
    """The URL for status lines: the password (or a lone user, when it is a token) and secret options masked."""
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{'***' if user_is_secret else user}{':***' if colon else ''}@{hostport}"
    pairs = [pair.partition("=") for pair in parts.query.split("&") if pair]
    query = "&".join(f"{k}={'***' if k.lower() in SECRET_PARAMS else v}" if eq else k for k, eq, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def options(parts: SplitResult, known: Collection[str]) -> dict[str, str]:
    """The URL's query as a dict; an unknown or repeated option raises ValueError."""
    found: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in known:
            raise ValueError(f"{parts.scheme} sink: unknown option {key!r} (known: {', '.join(sorted(known))})")
        if key in found:
            raise ValueError(f"{parts.scheme} sink: option {key!r} given twice")
        found[key] = value
    return found


def integer(found: dict[str, str], key: str, default: int, *, minimum: int = 0) -> int:
    raw = found.get(key)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise ValueError(f"option {key}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"option {key}={value} is below {minimum}")
    return value


def seconds(found: dict[str, str], key: str = "timeout", default: float = DEFAULT_TIMEOUT) -> float:
    raw = found.get(key)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise ValueError(f"option {key}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"option {key} must be positive")
    return value


def flag(found: dict[str, str], key: str, default: bool) -> bool:
    raw = found.get(key)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"option {key}={raw!r} is not a boolean (1/0)")


def host_port(parts: SplitResult, default_port: int) -> tuple[str, int]:
    if not parts.hostname:
        raise ValueError(f"{redact(parts)}: no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{redact(parts)}: invalid port") from None
    return parts.hostname, port or default_port


def tls_context(tls_verify: bool | str, ca: str | None = None) -> ssl.SSLContext:
    """A client TLS context: verified against the system store, or `ca` / a `tls_verify` path; unverified when
    `tls_verify` is False and no `ca` is given. A CA file that cannot be read raises ValueError."""
    cafile = ca or (tls_verify if isinstance(tls_verify, str) else None)
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load CA file {cafile}: {exc}") from None
    if tls_verify is False and not ca:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# -- at the edges of every network sink ------------------------------------------------------------------------


async def vet(host: str, port: int, allow_private: bool) -> None:
    """With `allow_private` off, refuse a receiver any of whose addresses is not public (checked at connect)."""
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SinkError(f"cannot resolve {host}: {exc}", retryable=True) from exc
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        reason = non_public(address)
        if reason:
            raise SinkError(f"refused: {host} resolves to {address}, {reason} (allow_private is off)", retryable=False)


def network_error(where: str, exc: BaseException) -> SinkError:
    """A SinkError for a failed connect/send: retryable, unless the receiver's certificate is not trusted."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return SinkError(f"{where}: TLS certificate not trusted: {cause.verify_message}", retryable=False)
        cause = cause.__cause__ or cause.__context__
    detail = str(exc) or type(exc).__name__
    return SinkError(f"{where}: {detail}", retryable=True)


def http_retryable(status: int) -> bool:
    """HTTP answers worth trying again: 408, 429 and 5xx (anything else non-2xx needs an operator)."""
    return status in (408, 429) or status >= 500


def ndjson(batch: Sequence[Record]) -> bytes:
    """The batch with a newline after each record (a CSV record may itself hold quoted line breaks)."""
    return b"".join(record.line + b"\n" for record in batch)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a sink may read from a formatted record: its JSON value, event type and time, when it has them."""

    json: Any = None  # None when the record is not JSON (CEF, CSV) or is JSON null
    type: str | None = None
    occurred_at: datetime | None = None


# CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
_CEF_FIELD = rb"((?:[^|\\]|\\.)*)\|"
_CEF_HEADER = re.compile(rb"CEF:" + _CEF_FIELD * 7)
_CEF_RT = re.compile(rb"(?<=[ |])rt=(\d{1,16})(?= |$)")


def facts(line: bytes) -> Facts:
    """The event type and time as each format (docs/formats.md) writes them: `type`/`occurredAt` (NDJSON),
    `metadata.event_code`/`time` (OCSF), `event.action`/`@timestamp` (ECS), Device Event Class ID/`rt` (CEF)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _cef(line)
    if not isinstance(value, dict):
        return Facts(json=value)
    kind = value.get("type") or _dig(value, "metadata", "event_code") or _dig(value, "event", "action")
    at = value.get("occurredAt") or value.get("@timestamp") or value.get("time")
    occurred: datetime | None = None
    try:
        if isinstance(at, str):
            occurred = datetime.fromisoformat(at)
        elif isinstance(at, int) and not isinstance(at, bool):
            occurred = datetime.fromtimestamp(at / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        occurred = None
    return Facts(value, kind if isinstance(kind, str) else None, occurred if occurred and occurred.tzinfo else None)


def _dig(value: dict[str, Any], outer: str, inner: str) -> Any:
    nested = value.get(outer)
    return nested.get(inner) if isinstance(nested, dict) else None


def _cef(line: bytes) -> Facts:
    header = _CEF_HEADER.match(line)
    if header is None:
        return Facts()
    kind = re.sub(rb"\\(.)", rb"\1", header.group(5)).decode("utf-8", "replace")
    rt = _CEF_RT.search(line, header.end())
    try:
        occurred = datetime.fromtimestamp(int(rt.group(1)) / 1000, UTC) if rt else None
    except (ValueError, OverflowError, OSError):
        occurred = None
    return Facts(type=kind or None, occurred_at=occurred)
