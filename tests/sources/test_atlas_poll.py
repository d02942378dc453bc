"""The Atlas poller over real HTTP against the FAKE Atlas list API (the real one cannot run here)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from signwatch.events import Geo
from signwatch.simulate import SimConfig, SimTenant, create_atlas_api, generate
from signwatch.sources.atlas_poll import AtlasPoller
from signwatch.store import EventFilter, Scope, SqlStore, WriteItem
from signwatch.store.sql import normalize_url
from tests.conftest import LiveServer

TENANT = SimTenant(slug="acme", api_key="acme-api-key-0123456789", timezone="Europe/Berlin", users=6)
END = datetime(2026, 11, 20, 12, tzinfo=UTC)


def no_geo(ip: str) -> Geo:
    return Geo(country="ZZ")


def run_poll(store: SqlStore, url: str, key: str = TENANT.api_key, **kw: object) -> object:
    async def go() -> object:
        poller = AtlasPoller(store, "acme", key, url, no_geo, page_limit=50, **kw)  # type: ignore[arg-type]
        try:
            return await poller.poll_once()
        finally:
            await poller.aclose()

    return asyncio.run(go())


def all_events(store: SqlStore) -> list:  # type: ignore[type-arg]
    return store.read_events(Scope.all(), 0, 100_000, EventFilter()).events


def test_poll_turns_changes_into_events_once_and_resumes(store: SqlStore) -> None:
    assert normalize_url(store.url)
    run = generate(
        SimConfig(
            tenants=(TENANT,), start=END - timedelta(days=2), end=END, incidents=False, envelopes_per_user_per_day=3
        )
    )
    clock = {"now": END - timedelta(days=1)}
    app = create_atlas_api(run, clock=lambda: clock["now"])
    with LiveServer(app) as api:
        first = run_poll(store, api.url)
        visible = [e for e in run.events if e.occurred_at <= clock["now"]]
        stored = all_events(store)
        assert first.stored == len(visible) == len(stored)  # type: ignore[attr-defined]
        assert {e.source for e in stored} == {"poll"}
        again = run_poll(store, api.url)
        assert again.stored == 0  # type: ignore[attr-defined]
        clock["now"] = END
        later = run_poll(store, api.url)
        assert later.stored == len(run.events) - len(visible)  # type: ignore[attr-defined]
        assert len(all_events(store)) == len(run.events)
        assert store.get_position("poll:atlas:acme") is not None
    ids = {e.id for e in all_events(store)}
    assert len(ids) == len(run.events)
    some = run.events[-1]
    state = store.get_envelope(Scope.all(), "acme", some.envelope_id)
    assert state is not None


def test_poll_dedupes_against_webhook_events(store: SqlStore) -> None:
    """Events already delivered by webhook are not stored again by the poller, and vice versa."""
    from signwatch.sources.atlas import parse_event

    run = generate(
        SimConfig(
            tenants=(TENANT,), start=END - timedelta(days=1), end=END, incidents=False, envelopes_per_user_per_day=3
        )
    )
    half = run.events[: len(run.events) // 2]
    hooked = [parse_event(e.payload, tenant="acme", received_at=END, geo=no_geo) for e in half]
    store.write_batch([WriteItem(None, e) for e in hooked])
    with LiveServer(create_atlas_api(run, clock=lambda: END)) as api:
        report = run_poll(store, api.url)
    assert report.stored == len(run.events) - len(half)  # type: ignore[attr-defined]
    assert len(all_events(store)) == len(run.events)
    rest = [parse_event(e.payload, tenant="acme", received_at=END, geo=no_geo) for e in run.events[len(half) :]]
    assert set(store.write_batch([WriteItem(None, e) for e in rest])) == {"duplicate"}


def test_poll_with_a_wrong_key_fails_without_storing(store: SqlStore) -> None:
    run = generate(SimConfig(tenants=(TENANT,), start=END - timedelta(days=1), end=END, incidents=False))
    with LiveServer(create_atlas_api(run, clock=lambda: END)) as api:
        try:
            run_poll(store, api.url, key="wrong-key-0000000000")
        except httpx.HTTPStatusError as exc:
            assert exc.response.status_code == 401
        else:
            raise AssertionError("a refused poll must raise")
    assert all_events(store) == [] and store.get_position("poll:atlas:acme") is None


def test_background_poller_runs_inside_serve(settings, store: SqlStore, tenants: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """A poller configured for `serve` fills the store on its own, with no webhook at all."""
    import time

    from signwatch.api import create_app
    from signwatch.config import PollerConfig

    run = generate(
        SimConfig(
            tenants=(TENANT,), start=END - timedelta(days=1), end=END, incidents=False, envelopes_per_user_per_day=3
        )
    )
    with LiveServer(create_atlas_api(run, clock=lambda: END)) as api:
        configured = settings.model_copy(
            update={"pollers": [PollerConfig(tenant="acme", base_url=api.url, interval_seconds=0.2)]}
        )
        with LiveServer(create_app(configured, store)):
            deadline = time.monotonic() + 30
            while len(all_events(store)) < len(run.events) and time.monotonic() < deadline:
                time.sleep(0.1)
    stored = all_events(store)
    assert len(stored) == len(run.events) and {e.source for e in stored} == {"poll"}
