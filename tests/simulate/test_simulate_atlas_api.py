"""The FAKE Atlas list API: authentication, keyset pagination, status filter, status endpoint, its clock."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from signwatch.simulate import AtlasState, LiveFeed, SimRun, create_atlas_api, serve_atlas_api
from signwatch.simulate.lifecycle import rfc3339


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Api:
    """Synchronous calls into the app in-process, through httpx's ASGI transport."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def get(self, path: str, *, params: dict[str, str] | None = None, headers: dict[str, str]) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://atlas") as client:
                return await client.get(path, params=params, headers=headers)

        return asyncio.run(call())


def headers(run: SimRun, slug: str = "acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {run.tenants[slug].api_key}", "Atlas-Account": slug}


@pytest.fixture
def clock(run: SimRun) -> Clock:
    return Clock(run.config.end)


@pytest.fixture
def api(run: SimRun, clock: Clock) -> Api:
    return Api(create_atlas_api(run, clock=clock))


def all_pages(api: Api, run: SimRun, slug: str = "acme", **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.get("/api/envelopes", params=query, headers=headers(run, slug))
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= int(params.get("limit", 100))
        items.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize(
    "sent",
    [
        {},
        {"Atlas-Account": "acme"},
        {"Authorization": "Bearer demo-atlas-key-acme"},
        {"Authorization": "Bearer nope", "Atlas-Account": "acme"},
        {"Authorization": "Bearer demo-atlas-key-globex", "Atlas-Account": "acme"},
        {"Authorization": "Basic demo-atlas-key-acme", "Atlas-Account": "acme"},
        {"Authorization": "Bearer demo-atlas-key-acme", "Atlas-Account": "nobody"},
    ],
)
def test_refused_without_the_tenant_key(api: Api, sent: dict[str, str]) -> None:
    for path in ("/api/envelopes", "/api/envelope/env_x/status"):
        response = api.get(path, headers=sent)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["message"]


def test_pages_cover_every_envelope_exactly_once_in_order(api: Api, run: SimRun) -> None:
    items = all_pages(api, run, limit="37")
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    expected = {envelope_id for envelope_id, state in run.envelopes.items() if state.tenant == "acme"}
    assert set(ids) == expected
    assert [(item["updated_at"], item["id"]) for item in items] == sorted((i["updated_at"], i["id"]) for i in items)
    first = items[0]
    assert set(first) >= {"id", "status", "created_at", "updated_at", "sender", "metadata", "ip_address", "user_agent"}
    assert first["sender"]["email"].endswith("@acme.example")
    for item in items:
        if item["status"] == "sent":
            assert item["recipient"] is None
        else:
            assert item["recipient"]["email"] and item["recipient"]["name"]


def test_status_filter_and_updated_since(api: Api, run: SimRun) -> None:
    statuses = Counter(state.status for state in run.envelopes.values() if state.tenant == "globex")
    for status in ("completed", "voided", "viewed"):
        items = all_pages(api, run, "globex", status=status, limit="500")
        assert len(items) == statuses[status]
        assert {item["status"] for item in items} == {status}
    since = run.config.end - timedelta(days=1)
    recent = all_pages(api, run, "globex", updated_since=rfc3339(since))
    expected = [s for s in run.envelopes.values() if s.tenant == "globex" and s.updated_at >= since]
    assert len(recent) == len(expected)


@pytest.mark.parametrize(
    "params",
    [{"status": "lost"}, {"limit": "0"}, {"limit": "9999"}, {"limit": "x"}, {"updated_since": "yesterday"},
     {"updated_since": "2026-11-01T00:00:00"}, {"cursor": "%%%"}, {"cursor": "bm90LWpzb24"}],
)  # fmt: skip
def test_malformed_queries_are_400(api: Api, run: SimRun, params: dict[str, str]) -> None:
    response = api.get("/api/envelopes", params=params, headers=headers(run))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] in params


def test_status_endpoint(api: Api, run: SimRun) -> None:
    envelope_id = next(e.envelope_id for e in run.events if e.tenant == "acme" and e.type == "envelope.completed")
    response = api.get(f"/api/envelope/{envelope_id}/status", headers=headers(run))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == body["envelope_id"] == envelope_id
    assert body["status"] == "completed"
    history = [event for event in run.events if event.envelope_id == envelope_id]
    assert body["history"] == [
        {"event": event.type, "at": event.payload["created_at"], "event_id": event.id} for event in history
    ]
    assert body["updated_at"] == history[-1].payload["created_at"]
    assert body["sender"] == history[0].payload["data"]["sender"]
    assert body["metadata"]["business_unit"]


def test_unknown_or_foreign_envelope_is_404(api: Api, run: SimRun) -> None:
    foreign = next(e.envelope_id for e in run.events if e.tenant == "globex")
    for envelope_id in ("env_doesnotexist", foreign):
        response = api.get(f"/api/envelope/{envelope_id}/status", headers=headers(run, "acme"))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_only_events_up_to_now_are_visible(api: Api, run: SimRun, clock: Clock) -> None:
    completed = next(e for e in run.events if e.tenant == "acme" and e.type == "envelope.completed")
    sent = next(e for e in run.events if e.envelope_id == completed.envelope_id)
    path = f"/api/envelope/{completed.envelope_id}/status"
    clock.now = sent.occurred_at - timedelta(seconds=1)
    assert api.get(path, headers=headers(run)).status_code == 404
    clock.now = sent.occurred_at
    assert api.get(path, headers=headers(run)).json()["status"] == "sent"
    clock.now = completed.occurred_at - timedelta(seconds=1)
    assert api.get(path, headers=headers(run)).json()["status"] == "signed"
    clock.now = completed.occurred_at
    assert api.get(path, headers=headers(run)).json()["status"] == "completed"
    clock.now = run.config.start + timedelta(days=1)
    early = all_pages(api, run, limit="500")
    assert early and all(item["updated_at"] <= rfc3339(clock.now) for item in early)
    assert len(early) < len([s for s in run.envelopes.values() if s.tenant == "acme"]) / 5


def test_live_events_show_up_as_time_passes(run: SimRun, clock: Clock) -> None:
    state = AtlasState(run.config.tenants, run.events, clock=clock)
    api = Api(create_atlas_api(state))
    before = {item["id"] for item in all_pages(api, run, limit="500")}
    later = run.config.end + timedelta(hours=6)
    live = [event for event in LiveFeed(run).advance(later) if event.tenant == "acme"]
    state.add(live)
    assert {item["id"] for item in all_pages(api, run, limit="500")} == before
    clock.now = later
    after = {item["id"]: item for item in all_pages(api, run, limit="500")}
    assert set(after) == before | {event.envelope_id for event in live}
    assert after[live[-1].envelope_id]["updated_at"] == live[-1].payload["created_at"]


@pytest.mark.parametrize("shutdown", ["cancel", "stop"])
def test_serves_over_real_http(run: SimRun, shutdown: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = AtlasState(run.config.tenants, run.events[:500])

    async def go() -> httpx.Response:
        stop = asyncio.Event()
        server = asyncio.create_task(serve_atlas_api(state, port, stop=stop))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(100):
                    try:
                        return await client.get("/api/envelopes", headers=headers(run))
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                raise AssertionError("server did not start")
        finally:
            if shutdown == "stop":
                stop.set()
                await asyncio.wait_for(server, timeout=5)
            else:
                server.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await server

    response = asyncio.run(go())
    assert response.status_code == 200 and response.json()["data"]
