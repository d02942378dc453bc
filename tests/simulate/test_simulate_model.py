"""The generator: determinism, volume, envelope lifecycles, business-hours cadence and live continuation."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from signwatch.simulate import LiveFeed, SimConfig, SimEvent, SimRun, SimTenant, demo_tenants, generate
from signwatch.simulate.cadence import is_business_hours, relative_rate
from signwatch.simulate.lifecycle import SENDER_ACTIONS, TERMINAL_EVENTS
from signwatch.simulate.world import build_world

ORDER = ["envelope.sent", "envelope.delivered", "envelope.viewed", "envelope.signed", "envelope.completed"]


def by_envelope(events: list[SimEvent]) -> dict[str, list[SimEvent]]:
    grouped: dict[str, list[SimEvent]] = defaultdict(list)
    for event in events:
        grouped[event.envelope_id].append(event)
    return grouped


def test_same_seed_same_events_other_seed_other_events(config: SimConfig, run: SimRun) -> None:
    again = generate(config)
    assert [event.payload for event in again.events] == [event.payload for event in run.events]
    assert again.labels == run.labels
    other = generate(SimConfig(tenants=config.tenants, start=config.start, end=config.end, seed=8))
    assert {event.id for event in other.events}.isdisjoint({event.id for event in run.events[:100]})


def test_volume_and_speed_with_defaults(config: SimConfig) -> None:
    began = time.perf_counter()
    result = generate(config)
    elapsed = time.perf_counter() - began
    assert 20_000 <= len(result.events) <= 60_000
    assert elapsed < 3.0


def test_event_ids_are_unique_and_shaped(run: SimRun) -> None:
    ids = [event.id for event in (*run.events, *run.upcoming)]
    assert len(ids) == len(set(ids))
    assert all(event_id.startswith("evt_") for event_id in ids)
    assert all(event.envelope_id.startswith("env_") for event in run.events)


def test_events_are_sorted_and_inside_the_window(config: SimConfig, run: SimRun) -> None:
    times = [event.occurred_at for event in run.events]
    assert times == sorted(times)
    assert config.start <= times[0] and times[-1] < config.end
    assert all(event.occurred_at >= config.end for event in run.upcoming)


def test_payload_shape(run: SimRun) -> None:
    tenants = run.tenants
    for event in run.events[:2000]:
        payload = event.payload
        assert set(payload) == {"id", "event", "created_at", "envelope_id", "data"}
        assert payload["created_at"] == event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        data = payload["data"]
        assert data["sender"]["user_id"].startswith("usr_")
        assert data["sender"]["email"].endswith(f"@{event.tenant}.example")
        assert data["metadata"]["business_unit"] in {"sales", "legal", "hr", "procurement", "finance"}
        assert data["metadata"]["client_reference_id"]
        assert data["subject"]
        if event.type == "envelope.completed":  # emitted by Atlas itself: no actor address
            assert "signer" not in data and "ip_address" not in data and "user_agent" not in data
            assert data["recipient"]["email"]
            continue
        assert data["ip_address"] and data["user_agent"].startswith("Mozilla/5.0")
        if event.type in SENDER_ACTIONS:
            assert "signer" not in data and "recipient" not in data
        else:
            assert data["signer"]["email"] == data["recipient"]["email"]
            assert data["recipient"]["name"]
        assert event.tenant in tenants


def test_actors_act_from_their_own_addresses(config: SimConfig, run: SimRun) -> None:
    worlds = {tenant.slug: build_world(tenant, config.seed) for tenant in config.tenants}
    addresses = {
        (slug, person.email): set(person.addresses)
        for slug, world in worlds.items()
        for person in (*world.users, *world.counterparties)
    }
    relocated = {label["ipAddress"] for label in run.labels if label["kind"] == "new_network"}
    for event in run.events:
        data = event.payload["data"]
        if event.type == "envelope.completed":
            continue
        actor = data["sender"] if event.type in SENDER_ACTIONS else data["signer"]
        assert data["ip_address"] in addresses[event.tenant, actor["email"]] | relocated


def test_lifecycles_are_ordered_with_at_most_one_terminal(run: SimRun) -> None:
    for events in by_envelope([*run.events, *run.upcoming]).values():
        types = [event.type for event in events]
        assert types[0] == "envelope.sent"
        assert len(types) == len(set(types))
        times = [event.occurred_at for event in events]
        assert times == sorted(times) and len(set(times)) == len(times)
        terminals = [kind for kind in types if kind in TERMINAL_EVENTS]
        assert len(terminals) <= 1
        if terminals:
            assert types[-1] == terminals[0]
        if "envelope.signed" in types:
            assert types[-2:] == ["envelope.signed", "envelope.completed"]
        normal = [kind for kind in types if kind in ORDER]
        assert normal == [kind for kind in ORDER if kind in normal]
        assert events[-1].occurred_at - events[0].occurred_at <= timedelta(days=10)


def test_outcome_mix(run: SimRun) -> None:
    statuses = Counter(state.status for state in run.envelopes.values())
    total = sum(statuses.values())
    assert statuses["completed"] / total > 0.6
    assert 0.01 < statuses["declined"] / total < 0.1
    assert 0.01 < statuses["voided"] / total < 0.12
    assert (statuses["delivered"] + statuses["viewed"]) / total > 0.05


def test_envelope_states_follow_history(run: SimRun) -> None:
    last = {event.envelope_id: event for event in run.events}
    assert set(run.envelopes) == set(last)
    for envelope_id, state in run.envelopes.items():
        assert state.status == last[envelope_id].type.removeprefix("envelope.")
        assert state.updated_at == last[envelope_id].occurred_at


def test_most_envelopes_are_sent_in_local_business_hours(run: SimRun) -> None:
    zones = {tenant.slug: ZoneInfo(tenant.timezone) for tenant in run.config.tenants}
    for slug, zone in zones.items():
        sent = [event for event in run.events if event.type == "envelope.sent" and event.tenant == slug]
        inside = sum(is_business_hours(event.occurred_at, zone) for event in sent)
        assert inside / len(sent) > 0.75, slug


def test_weekly_rhythm(run: SimRun) -> None:
    zone = ZoneInfo("America/New_York")
    per_day = Counter(
        event.occurred_at.astimezone(zone).weekday()
        for event in run.events
        if event.type == "envelope.sent" and event.tenant == "acme"
    )
    weekday = min(per_day[day] for day in range(5)) / 2  # two of each weekday in 14 days
    weekend = max(per_day[5], per_day[6]) / 2
    assert weekend < weekday / 5


def test_rate_follows_local_clock_across_dst() -> None:
    zone = ZoneInfo("America/New_York")
    summer = datetime(2026, 10, 30, 14, tzinfo=UTC)  # 10:00 EDT
    winter = datetime(2026, 11, 3, 15, tzinfo=UTC)  # 10:00 EST
    assert relative_rate(summer, zone) == relative_rate(winter, zone)
    assert relative_rate(datetime(2026, 11, 3, 14, tzinfo=UTC), zone) < relative_rate(winter, zone)
    assert is_business_hours(winter, zone) and not is_business_hours(datetime(2026, 11, 3, 2, tzinfo=UTC), zone)
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: business starts at 02:30 UTC
    assert not is_business_hours(datetime(2026, 11, 3, 2, 29, tzinfo=UTC), kolkata)
    assert is_business_hours(datetime(2026, 11, 3, 2, 30, tzinfo=UTC), kolkata)


def test_volume_scales_with_the_knob(config: SimConfig) -> None:
    tenant = (SimTenant("solo", "k", "Europe/Paris", users=10),)
    small = generate(SimConfig(tenant, config.start, config.end, envelopes_per_user_per_day=1, incidents=False))
    large = generate(SimConfig(tenant, config.start, config.end, envelopes_per_user_per_day=4, incidents=False))
    assert 2.5 < len(large.envelopes) / len(small.envelopes) < 5.5
    assert small.labels == []


def test_config_validation() -> None:
    tenants = demo_tenants(1)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="before"):
        SimConfig(tenants, moment, moment)
    with pytest.raises(ValueError, match="aware"):
        SimConfig(tenants, datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="unique"):
        SimConfig((*tenants, *tenants), moment, moment + timedelta(days=1))
    berlin = datetime(2026, 1, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    config = SimConfig.last_days(tenants, 2, berlin)
    assert config.end == datetime(2026, 1, 1, 11, tzinfo=UTC) and config.start == config.end - timedelta(days=2)


def test_live_feed_continues_the_history_deterministically(run: SimRun) -> None:
    end = run.config.end
    chunked = LiveFeed(run)
    pieces: list[SimEvent] = []
    for minutes in range(7, 48 * 60, 53):  # uneven chunks over two days
        pieces.extend(chunked.advance(end + timedelta(minutes=minutes)))
    pieces.extend(chunked.advance(end + timedelta(days=2)))
    whole = LiveFeed(run).advance(end + timedelta(days=2))
    assert [event.payload for event in pieces] == [event.payload for event in whole]
    assert all(end <= event.occurred_at < end + timedelta(days=2) for event in whole)
    assert [event.occurred_at for event in whole] == sorted(event.occurred_at for event in whole)
    history_ids = {event.id for event in run.events}
    assert history_ids.isdisjoint(event.id for event in whole)
    # follow-ups of envelopes sent before the end of the history, and new envelopes
    assert any(event.envelope_id in run.envelopes for event in whole)
    assert sum(event.type == "envelope.sent" for event in whole) > 100
    for events in by_envelope([*run.events, *whole]).values():
        assert events[0].type == "envelope.sent"
        assert sum(event.type in TERMINAL_EVENTS for event in events) <= 1
    assert chunked.advance(end) == []


def test_short_runs_still_work() -> None:
    start = datetime(2026, 11, 7, 6, tzinfo=UTC)  # a Saturday
    result = generate(SimConfig(demo_tenants(1), start, start + timedelta(hours=30)))
    assert result.events
    kinds = {label["kind"] for label in result.labels}
    assert kinds <= {"off_hours_burst", "void_spike", "new_network", "stuck_envelopes", "silent_feed"}
    assert "off_hours_burst" in kinds


def test_history_plus_live_equals_a_longer_history() -> None:
    tenants = (SimTenant("solo", "k", "Asia/Kolkata", users=15),)
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    cut = datetime(2026, 11, 5, 13, 47, 21, tzinfo=UTC)  # mid-hour, mid-week
    later = datetime(2026, 11, 7, 0, 0, tzinfo=UTC)
    short = generate(SimConfig(tenants, start, cut, incidents=False))
    long = generate(SimConfig(tenants, start, later, incidents=False))
    live = LiveFeed(short).advance(later)
    assert [e.payload for e in (*short.events, *live)] == [e.payload for e in long.events]
