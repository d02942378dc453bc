"""Splunk HEC sink against a local server that answers like HEC: event shape, batching, tokens, busy, indexer acks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from signwatch.export.sinks import Record, open_sink
from tests.export.sinks.conftest import Http, cef, closed_port, fails, records, run, send_all

TOKEN = "t0k"


@dataclass
class Hec:
    """What the fake HEC received, and how it should answer."""

    url: str = ""
    posts: list[list[dict[str, Any]]] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)
    busy: bool = False
    indexer_ack: bool = False
    index_after_polls: int = 2  # an ackId reads true from this poll on (-1: never)
    polls: int = 0
    next_ack: int = 0

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for post in self.posts for event in post]


def concatenated(body: bytes) -> list[dict[str, Any]]:
    """HEC's batch format: JSON objects one after another, optionally separated by whitespace."""
    decoder, text, at, out = json.JSONDecoder(), body.decode(), 0, []
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        out.append(value)
    return out


def hec_app(hec: Hec) -> Starlette:
    def refused(request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") != f"Splunk {TOKEN}":
            return JSONResponse({"text": "Invalid token", "code": 4}, status_code=403)
        if hec.busy:
            return JSONResponse({"text": "Server is busy", "code": 9}, status_code=503)
        return None

    async def event(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        hec.posts.append(concatenated(await request.body()))
        if not hec.indexer_ack:
            return JSONResponse({"text": "Success", "code": 0})
        channel = request.headers.get("x-splunk-request-channel")
        if not channel:
            return JSONResponse({"text": "Data channel is missing", "code": 10}, status_code=400)
        hec.channels.add(channel)
        hec.next_ack += 1
        return JSONResponse({"text": "Success", "code": 0, "ackId": hec.next_ack - 1})

    async def ack(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        hec.polls += 1
        done = hec.index_after_polls >= 0 and hec.polls >= hec.index_after_polls
        asked = json.loads(await request.body())["acks"]
        return JSONResponse({"acks": {str(n): done for n in asked}})

    return Starlette(
        routes=[
            Route("/services/collector/event", event, methods=["POST"]),
            Route("/services/collector/ack", ack, methods=["POST"]),
        ]
    )


@pytest.fixture
def hec() -> Iterator[Hec]:
    box = Hec()
    with Http(hec_app(box)) as server:
        box.url = f"splunk+http://127.0.0.1:{server.port}"
        yield box


def test_batch_becomes_hec_events_with_fields_and_time(hec: Hec) -> None:
    batch = [*records(2), cef(3, tenant="globex")]
    sink = open_sink(f"{hec.url}?token={TOKEN}&index=signwatch&host=sw1")
    assert TOKEN not in sink.name and "token=***" in sink.name
    run(send_all(sink, batch))

    assert len(hec.posts) == 1
    first, _, third = hec.events
    assert first["event"] == json.loads(batch[0].line)  # JSON lines go as JSON
    assert first["time"] == datetime(2026, 11, 20, 10, 0, 0, 250_000, tzinfo=UTC).timestamp()  # its occurredAt
    assert first["fields"] == {"tenant": "acme", "seq": "1", "id": batch[0].id}
    assert (first["host"], first["source"], first["sourcetype"], first["index"]) == (
        "sw1",
        "signwatch",
        "_json",
        "signwatch",
    )
    assert third["event"] == batch[2].line.decode()  # anything else goes as a string
    assert third["sourcetype"] == "signwatch"
    assert third["fields"]["tenant"] == "globex"


def test_a_large_batch_is_split_into_posts_in_order(hec: Hec) -> None:
    batch = records(60)
    run(send_all(open_sink(f"{hec.url}?token={TOKEN}&sourcetype=signwatch:event&max_body=4096"), batch))
    assert len(hec.posts) > 1
    assert [e["fields"]["id"] for e in hec.events] == [r.id for r in batch]
    assert {e["sourcetype"] for e in hec.events} == {"signwatch:event"}
    assert "index" not in hec.events[0]


def test_busy_hec_is_retryable(hec: Hec) -> None:
    hec.busy = True
    error = fails(open_sink(f"{hec.url}?token={TOKEN}"), records(1), retryable=True)
    assert "503" in str(error) and "Server is busy" in str(error)


def test_invalid_token_is_not_retryable_and_not_shown(hec: Hec) -> None:
    error = fails(open_sink(f"{hec.url}?token=wrong-secret"), records(1), retryable=False)
    assert "403" in str(error) and "Invalid token" in str(error)
    assert "wrong-secret" not in str(error)


def test_indexer_ack_is_polled_until_indexed(hec: Hec) -> None:
    hec.indexer_ack = True
    batch = records(30)
    run(send_all(open_sink(f"{hec.url}?token={TOKEN}&ack=1&max_body=4096&channel=ch-1"), batch))
    assert len(hec.posts) > 1 and hec.channels == {"ch-1"}
    assert hec.polls >= 2
    assert [e["fields"]["id"] for e in hec.events] == [r.id for r in batch]


def test_events_never_indexed_within_ack_timeout_are_retryable(hec: Hec) -> None:
    hec.indexer_ack, hec.index_after_polls = True, -1
    error = fails(open_sink(f"{hec.url}?token={TOKEN}&ack=1&ack_timeout=0.6"), records(2), retryable=True)
    assert "not indexed" in str(error)


def test_ack_asked_but_not_enabled_on_the_token_is_not_retryable(hec: Hec) -> None:
    error = fails(open_sink(f"{hec.url}?token={TOKEN}&ack=1"), records(1), retryable=False)
    assert "ackId" in str(error)


def test_wrong_port_is_retryable() -> None:
    fails(open_sink(f"splunk+http://127.0.0.1:{closed_port()}?token={TOKEN}"), records(1), retryable=True)


def test_empty_batch_sends_nothing(hec: Hec) -> None:
    empty: list[Record] = []
    run(send_all(open_sink(f"{hec.url}?token={TOKEN}"), empty))
    assert hec.posts == []
