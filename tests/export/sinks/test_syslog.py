"""Syslog sink against local TCP and TLS receivers: octet-counted frames of RFC 5424 messages, parsed back."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from signwatch.export.sinks import Record, open_sink
from signwatch.export.sinks.syslog import frame, message
from tests.export.sinks.conftest import Pki, cef, closed_port, fails, records, run

# RFC 5424 §6 ABNF as a regex: HEADER SP STRUCTURED-DATA [SP MSG]
PRINTUSASCII = rb"[\x21-\x7e]"
SD_NAME = rb"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except '=', SP, ']', '"'
PARAM_VALUE = rb'(?:[^"\\\]]|\\["\\\]])*'  # '"', '\' and ']' only escaped
SD_ELEMENT = rb"\[" + SD_NAME + rb"(?: " + SD_NAME + rb'="' + PARAM_VALUE + rb'")*\]'
RFC5424 = re.compile(
    rb"<(?P<pri>\d{1,3})>(?P<version>[1-9]\d{0,2}) "
    rb"(?P<timestamp>-|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) "
    rb"(?P<hostname>-|" + PRINTUSASCII + rb"{1,255}) "
    rb"(?P<app>-|" + PRINTUSASCII + rb"{1,48}) "
    rb"(?P<procid>-|" + PRINTUSASCII + rb"{1,128}) "
    rb"(?P<msgid>-|" + PRINTUSASCII + rb"{1,32}) "
    rb"(?P<sd>-|(?:" + SD_ELEMENT + rb")+)"
    rb"(?: (?P<msg>.*))?\Z",
    re.DOTALL,
)
SD_PARAM = re.compile(rb"(" + SD_NAME + rb')="(' + PARAM_VALUE + rb')"')


def parse(msg: bytes) -> dict[str, bytes]:
    match = RFC5424.match(msg)
    assert match, f"not RFC 5424: {msg!r}"
    return {k: v for k, v in match.groupdict().items() if v is not None}


def sd_params(sd: bytes) -> dict[str, str]:
    unescape = re.compile(rb'\\(["\\\]])')
    return {k.decode(): unescape.sub(rb"\1", v).decode() for k, v in SD_PARAM.findall(sd)}


async def read_frames(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Octet-counted frames (RFC 6587 §3.4.1): MSG-LEN SP SYSLOG-MSG, until the connection closes."""
    while True:
        try:
            length = await reader.readuntil(b" ")
        except asyncio.IncompleteReadError:
            return
        assert re.fullmatch(rb"[1-9]\d* ", length), length
        yield await reader.readexactly(int(length))


@dataclass
class Collector:
    port: int = 0
    messages: list[bytes] = field(default_factory=list)
    connections: int = 0
    close_after: int | None = None  # close each connection after this many messages
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        seen = 0
        async for msg in read_frames(reader):
            self.messages.append(msg)
            self.arrived.set()
            seen += 1
            if self.close_after is not None and seen >= self.close_after:
                break
        writer.close()
        self.hung_up.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()


@asynccontextmanager
async def collector(tls: ssl.SSLContext | None = None, *, close_after: int | None = None) -> AsyncIterator[Collector]:
    box = Collector(close_after=close_after)
    server = await asyncio.start_server(box.handle, "127.0.0.1", 0, ssl=tls)
    box.port = server.sockets[0].getsockname()[1]
    async with server:
        yield box


def test_batch_arrives_as_octet_counted_rfc5424_messages() -> None:
    batch = [*records(2), cef(3)]

    async def go() -> list[bytes]:
        async with collector() as box:
            sink = open_sink(f"syslog+tcp://127.0.0.1:{box.port}?hostname=sw-host&severity=notice")
            await sink.open()
            await sink.send(batch)
            await box.wait_for(3)
            await sink.close()
            return box.messages

    first, _, third = (parse(m) for m in run(go()))
    assert first["pri"] == b"133"  # local0 (16) * 8 + notice (5)
    assert (first["version"], first["hostname"], first["app"], first["procid"]) == (
        b"1",
        b"sw-host",
        b"signwatch",
        b"-",
    )
    assert first["timestamp"] == b"2026-11-20T10:00:00.250Z"  # the event's occurredAt
    assert first["msgid"] == b"envelope.sent"
    assert first["sd"].startswith(b"[signwatch@32473 ")
    assert sd_params(first["sd"]) == {"tenant": "acme", "seq": "1", "id": batch[0].id}
    assert first["msg"] == batch[0].line
    assert third["msgid"] == b"envelope.voided"  # a CEF line's Device Event Class ID
    assert sd_params(third["sd"])["tenant"] == 'ac"me]\\'  # escaped on the wire, intact after unescaping
    assert third["msg"] == batch[2].line


def test_tls_with_the_receivers_ca(pki: Pki, other_pki: Pki) -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(pki.cert_file, pki.key_file)
    batch = records(5)

    async def go() -> list[bytes]:
        async with collector(server_tls) as box:
            url = f"syslog+tls://127.0.0.1:{box.port}"
            sink = open_sink(f"{url}?ca={pki.ca_file}")
            await sink.open()
            await sink.send(batch)
            await box.wait_for(5)
            await sink.close()
            untrusted = open_sink(f"{url}?ca={other_pki.ca_file}")
            try:
                await untrusted.open()
            except Exception as exc:
                assert getattr(exc, "retryable", None) is False, exc
                assert "certificate" in str(exc)
            else:
                raise AssertionError("a certificate from another CA was accepted")
            return box.messages

    assert [parse(m)["msg"] for m in run(go())] == [r.line for r in batch]


def test_a_connection_the_receiver_closed_is_reopened_for_the_next_batch() -> None:
    first, second = records(2), records(2, start=3)

    async def go() -> Collector:
        async with collector(close_after=2) as box:
            sink = open_sink(f"syslog+tcp://127.0.0.1:{box.port}")
            await sink.send(first)
            await box.wait_for(2)
            await box.hung_up.wait()
            await asyncio.sleep(0.05)  # let the FIN reach the sink's side
            await sink.send(second)
            await box.wait_for(4)
            await sink.close()
            return box

    box = run(go())
    assert box.connections == 2
    assert [parse(m)["msg"] for m in box.messages] == [r.line for r in first + second]


def test_wrong_port_is_retryable() -> None:
    fails(open_sink(f"syslog+tcp://127.0.0.1:{closed_port()}"), records(1), retryable=True)


def test_private_receivers_can_be_refused() -> None:
    error = fails(open_sink("syslog+tcp://127.0.0.1:514", allow_private=False), records(1), retryable=False)
    assert "loopback" in str(error)


text = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=200, deadline=None)
@given(tenant=text, event_id=text, seq=st.integers(0, 2**63), line=st.binary(max_size=200), host=text)
def test_any_record_frames_into_a_parsable_message(
    tenant: str, event_id: str, seq: int, line: bytes, host: str
) -> None:
    record = Record(seq=seq, id=event_id, tenant=tenant, line=line)
    msg = message(record, pri=134, hostname=host, now=datetime(2026, 11, 20, 12, 0, 0, 1_500, tzinfo=UTC))
    framed = frame(msg)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) and rest == msg
    parsed = parse(msg)
    assert sd_params(parsed["sd"]) == {"tenant": tenant, "seq": str(seq), "id": event_id}
    assert parsed.get("msg", b"") == line
    assert parsed["timestamp"] == b"2026-11-20T12:00:00.001Z"
