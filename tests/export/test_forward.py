"""Forwarders on both backends: the event log reaches a sink in order, the checkpoint moves only after the
sink acknowledged, a failing sink loses nothing, a forwarder killed with SIGKILL resumes with every event
delivered (at least once), and `forward status` reports the lag."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import orjson
import pytest
import redis

from signwatch.config import ForwarderSettings
from signwatch.crypto import load_box
from signwatch.events import Actor, Event, Geo, event_id
from signwatch.export.forward import Forwarder, display, status
from signwatch.export.sinks import Record, SinkError, open_sink
from signwatch.store import SqlStore, WriteItem
from tests.conftest import SECRET
from tests.export.sinks.conftest import REDIS_URL

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def add_events(store: SqlStore, n: int, start: int = 0) -> list[str]:
    events = [
        Event(
            id=event_id("acme", "t", str(i)),
            tenant="acme",
            source="atlas",
            type="envelope.sent",
            occurred_at=T0 + timedelta(seconds=i),
            envelope_id=f"e{i}",
            actor=Actor("u", "eve@acme.example"),
            geo=Geo(),
        )
        for i in range(start, start + n)
    ]
    for k in range(0, n, 1000):
        store.write_batch([WriteItem(None, e) for e in events[k : k + 1000]])
    return [e.id for e in events]


class Flaky:
    """A sink in front of a file sink that refuses the `fail_on`-th batch once (a receiver outage)."""

    def __init__(self, inner_url: str, fail_on: int) -> None:
        self.inner = open_sink(inner_url)
        self.name = "flaky"
        self.calls = 0
        self.fail_on = fail_on

    async def open(self) -> None:
        await self.inner.open()

    async def send(self, batch: Sequence[Record]) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise SinkError("receiver down", retryable=True)
        await self.inner.send(batch)

    async def close(self) -> None:
        await self.inner.close()


def file_lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_events_reach_the_sink_in_order_and_resume(store: SqlStore, tmp_path: Path) -> None:
    box = load_box(SECRET, store.url)
    ids = add_events(store, 1200)
    out = tmp_path / "events.ndjson"
    config = ForwarderSettings(name="file", sink=f"file://{out}", batch=500)
    assert asyncio.run(Forwarder(store, box, config).run(once=True)) == 1200
    got = file_lines(out)
    assert [r["id"] for r in got] == ids and [r["seq"] for r in got] == sorted(r["seq"] for r in got)
    more = add_events(store, 10, start=5000)
    assert asyncio.run(Forwarder(store, box, config).run(once=True)) == 10
    assert [r["id"] for r in file_lines(out)] == ids + more  # nothing twice, nothing skipped
    [line] = status(store, datetime.now(UTC))
    assert line.lag_events == 0 and line.forwarded == 1210 and line.sink == f"file://{out}"


def test_a_failing_sink_keeps_the_checkpoint_until_it_recovers(store: SqlStore, tmp_path: Path) -> None:
    box = load_box(SECRET, store.url)
    ids = add_events(store, 300)
    out = tmp_path / "events.ndjson"
    config = ForwarderSettings(name="flaky", sink=f"file://{out}", batch=100)
    flaky = Flaky(f"file://{out}", fail_on=2)
    forwarder = Forwarder(store, box, config, sink_factory=lambda url: flaky)

    async def go() -> int:
        stop = asyncio.Event()
        task = asyncio.create_task(forwarder.run(stop=stop))
        for _ in range(200):
            await asyncio.sleep(0.05)
            record = store.get_forwarder("flaky")
            if record and record.position >= store.log_end():
                break
        stop.set()
        return await task

    asyncio.run(go())
    assert [r["id"] for r in file_lines(out)] == ids  # the refused batch was sent again, in order
    record = store.get_forwarder("flaky")
    assert record is not None and record.last_error is None and record.forwarded == 300


def test_status_reports_lag_and_errors(store: SqlStore, tmp_path: Path) -> None:
    box = load_box(SECRET, store.url)
    add_events(store, 50)
    config = ForwarderSettings(name="down", sink="redis://127.0.0.1:1/0?stream=x", batch=10)
    forwarder = Forwarder(store, box, config)
    with pytest.raises(SinkError):
        asyncio.run(forwarder.run(once=True))
    store.forwarder_failed("down", "connection refused", datetime.now(UTC))
    [line] = status(store, datetime.now(UTC))
    assert line.lag_events == 50 and line.position == 0 and line.last_error == "connection refused"
    assert line.lag_seconds >= 0
    assert display("splunk+https://h:8088/x?token=abc&index=main") == "splunk+https://h:8088/x?index=main"
    assert display("amqp://guest:secret@h:5672/%2F") == "amqp://h:5672/%2F"


@pytest.mark.slow
def test_killed_anywhere_it_resumes_with_nothing_lost(store: SqlStore, db_url: str, tmp_path: Path) -> None:
    ids = set(add_events(store, 4000))
    stream = f"signwatch:test:{uuid.uuid4().hex[:10]}"
    sink = f"{REDIS_URL}?stream={stream}"
    env = {**os.environ, "SIGNWATCH_DB": db_url, "SIGNWATCH_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "signwatch", "forward", "--sink", sink, "--name", "kill", "--batch", "50"]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(3):  # kill -9 three times, at whatever point it has reached
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            start = client.xlen(stream)
            while client.xlen(stream) < start + 200 and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        done = subprocess.run([*command, "--once"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        got = [fields[b"id"].decode() for _, fields in client.xrange(stream)]
        assert set(got) == ids  # every event, at least once
        seqs = [int(fields[b"seq"]) for _, fields in client.xrange(stream)]
        # in order, except that a restart may resend what followed its last checkpoint (already seen)
        assert all(b > a or b in seqs[: i + 1] for i, (a, b) in enumerate(pairwise(seqs)))
        record = store.get_forwarder("kill")
        assert record is not None and record.position == store.log_end()
    finally:
        client.delete(stream)
        client.close()


def test_serve_runs_configured_forwarders(store: SqlStore, db_url: str, tmp_path: Path) -> None:
    from httpx import Client

    from signwatch.api import create_app
    from signwatch.config import Settings
    from signwatch.tenants import add_tenant
    from tests.conftest import KEY, LiveServer
    from tests.helpers import atlas_payload, signed

    out = tmp_path / "serve.ndjson"
    settings = Settings(  # type: ignore[call-arg]
        db=db_url, secret_key=SECRET, forwarders=[{"name": "in-serve", "sink": f"file://{out}", "poll_seconds": 0.05}]
    )
    add_tenant(store, load_box(SECRET, db_url), "acme", KEY, "Europe/Berlin")
    with LiveServer(create_app(settings, store)) as server, Client(base_url=server.url) as client:
        body, headers = signed(atlas_payload(), KEY)
        event = client.post("/webhooks/atlas/acme", content=body, headers=headers).json()["eventId"]
        deadline = time.monotonic() + 20
        while not (out.exists() and out.read_bytes()) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r["id"] for r in file_lines(out)] == [event]
