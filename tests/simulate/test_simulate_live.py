"""The live loop (feed → FAKE Atlas API state → signed webhooks) and the labels file."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from signwatch.simulate import (
    AtlasState,
    LiveFeed,
    SendReport,
    SimEvent,
    SimRun,
    read_labels,
    run_live,
    sign,
    write_labels,
)


class SteppingClock:
    """Moves 30 simulated minutes each time it is read."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=30)
        return self.now


def test_run_live_sends_and_publishes_each_chunk(run: SimRun) -> None:
    keys = {tenant.slug: tenant.api_key for tenant in run.config.tenants}
    received: list[str] = []

    async def hook(request: Request) -> Response:
        body = await request.body()
        tenant = request.path_params["tenant"]
        if request.headers["x-atlas-signature"] != sign(body, keys[tenant]):
            return Response(status_code=401)
        received.append(json.loads(body)["id"])
        return Response(status_code=202)

    app = Starlette(routes=[Route("/webhooks/atlas/{tenant}", hook, methods=["POST"])])
    clock = SteppingClock(run.config.end)
    state = AtlasState(run.config.tenants, run.events, clock=lambda: clock.now)
    chunks: list[list[SimEvent]] = []

    async def go() -> SendReport:
        stop = asyncio.Event()

        def on_chunk(events: list[SimEvent], report: SendReport) -> None:
            chunks.append(events)
            assert report.failed == 0
            if len(chunks) == 8:
                stop.set()

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            return await run_live(
                LiveFeed(run), run.config.tenants, "http://signwatch", atlas=state, interval=0,
                clock=clock, stop=stop, on_chunk=on_chunk, client=client,
            )  # fmt: skip

    report = asyncio.run(go())
    sent = [event for chunk in chunks for event in chunk]
    assert len(chunks) == 8 and sent
    assert report.stored == len(sent) == len(received)
    assert received and set(received) == {event.id for event in sent}
    expected = LiveFeed(run).advance(run.config.end + timedelta(hours=4))
    assert [event.id for event in sent] == [event.id for event in expected]
    newest = sent[-1]
    view = state.envelope(newest.tenant, newest.envelope_id)
    assert view is not None and view.history[-1].id == newest.id


def test_labels_round_trip_as_json_lines(run: SimRun, tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    assert write_labels(path, run.labels) == len(run.labels) == 5
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and all(json.loads(line)["kind"] for line in lines)
    assert read_labels(path) == run.labels
