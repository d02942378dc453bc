"""The live engine on both backends: restart-safe state, late events, crash between folding and evaluating,
a back-dated stream firing what a backtest fires, and notifications written with the alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signwatch.crypto import load_box
from signwatch.events import Actor, Event, Geo, event_id
from signwatch.rules.backtest import backtest
from signwatch.rules.catalog import create
from signwatch.rules.live import FRONTIER, ROLLED, EngineSettings, RuleEngine
from signwatch.rules.spec import parse_rule
from signwatch.simulate import SimConfig, demo_tenants, generate
from signwatch.sources.atlas import parse_event
from signwatch.store import Scope, SqlStore, WriteItem
from signwatch.store.base import AlertFilter, AlertRecord
from signwatch.tenants import add_tenant
from tests.conftest import SECRET

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def ev(n: int, at: datetime, actor: str = "eve@acme.example", type_: str = "envelope.sent") -> Event:
    return Event(
        id=event_id("acme", "test", str(n)),
        tenant="acme",
        source="atlas",
        type=type_,
        occurred_at=at,
        envelope_id=f"env{n}",
        actor=Actor("u", actor),
        ip_address="81.2.69.142",
        geo=Geo("GB", "AAISP", "81.2.64.0/18"),
    )


def engine(store: SqlStore) -> RuleEngine:
    return RuleEngine(store, EngineSettings(), clock=lambda: NOW)


def alerts(store: SqlStore) -> list[AlertRecord]:
    return store.list_alerts(Scope.all(), AlertFilter(), 0, 1000)[0]


def burst(store: SqlStore, **extra: object) -> str:
    body = {"name": "burst", "threshold": 3, "windowMinutes": 10, "cooldownMinutes": 0, "groupBy": "actor", **extra}
    return create(store, body, Scope.all(), "test", T0)[0].id


def test_engine_state_survives_a_restart_and_late_events_fire(store: SqlStore, tenants: dict[str, str]) -> None:
    burst(store)
    store.write_batch([WriteItem(None, ev(i, T0 + timedelta(minutes=i))) for i in range(3)])
    store.write_batch([WriteItem(None, ev(9, T0 + timedelta(hours=2), actor="bob@acme.example"))])
    first = engine(store).cycle()
    assert [a.group_key for a in first.fired] == ["eve@acme.example"]
    before = alerts(store)
    again = engine(store).cycle()  # a new process: nothing new happened, nothing changes
    assert again.fired == [] and again.resolved == [] and alerts(store) == before
    # late events from an hour ago: bob had a burst too
    store.write_batch(
        [WriteItem(None, ev(20 + i, T0 + timedelta(minutes=30 + i), "bob@acme.example")) for i in range(3)]
    )
    late = engine(store).cycle()
    assert [(a.group_key, a.fired_at) for a in late.fired] == [("bob@acme.example", T0 + timedelta(minutes=33))]
    assert len(alerts(store)) == 2


def test_a_crash_between_folding_and_evaluating_loses_nothing(store: SqlStore, tenants: dict[str, str]) -> None:
    burst(store)
    events = [ev(i, T0 + timedelta(seconds=10 * i)) for i in range(3)]
    store.write_batch([WriteItem(None, e) for e in events])
    # the previous engine folded the page and died before evaluating it
    page = store.read_events(Scope.all(), 0, 100, __import__("signwatch.store", fromlist=["EventFilter"]).EventFilter())
    store.apply_rollups(page.events, [(ROLLED, str(page.last_seq))], 0)
    report = engine(store).cycle()
    assert report.folded == 0 and len(report.fired) == 1
    counts = store.minute_counts("acme", ("envelope.sent",), "tenant", 0, 10**9)
    assert sum(counts[("envelope.sent", "acme")].values()) == 3  # folded once, not twice


def test_active_rules_write_notifications_with_the_alert(store: SqlStore, tenants: dict[str, str]) -> None:
    burst(store, mode="active", recipients=["https://hooks.example.com/sec", "soc@acme.example"])
    burst(store, name="quiet", mode="shadow", recipients=["https://hooks.example.com/sec"])
    store.write_batch([WriteItem(None, ev(i, NOW - timedelta(minutes=5 - i))) for i in range(3)])
    report = engine(store).cycle()
    assert len(report.fired) == 2
    pending = store.list_notifications(("pending",))
    assert sorted(n.recipient for n in pending) == ["https://hooks.example.com/sec", "soc@acme.example"]
    assert {n.change for n in pending} == {"fired"}
    assert {n.alert_id for n in pending} == {a.id for a in report.fired if a.mode == "active"}


def test_old_history_is_recorded_but_not_notified(store: SqlStore, tenants: dict[str, str]) -> None:
    burst(store, mode="active", recipients=["https://hooks.example.com/sec"])
    old = NOW - timedelta(days=3)
    store.write_batch([WriteItem(None, ev(i, old + timedelta(minutes=i))) for i in range(3)])
    assert len(engine(store).cycle().fired) == 1
    assert store.list_notifications() == []


def test_a_back_dated_stream_fires_what_a_backtest_fires(store: SqlStore, settings: object) -> None:
    box = load_box(SECRET, store.url)
    [tenant] = demo_tenants(1, users=15)
    add_tenant(store, box, tenant.slug, tenant.api_key, tenant.timezone)
    end = datetime(2026, 11, 16, tzinfo=UTC)
    run = generate(SimConfig((tenant,), end - timedelta(days=9), end, seed=3))
    specs = [
        {"name": "burst", "threshold": 4, "windowMinutes": 30, "groupBy": "actor"},
        {"name": "voids", "kind": "ratio", "condition": "envelope.voided", "denominator": "envelope.sent",
         "minCount": 2, "factor": 2, "baselineDays": 2},
        {"name": "stuck", "kind": "stuck", "slaMinutes": 600, "threshold": 2, "windowMinutes": 120, "groupBy": "actor"},
        {"name": "silent", "kind": "flatline", "minExpected": 3, "baselineDays": 7, "minHistoryDays": 2},
        {"name": "nets", "kind": "new_network", "minHistoryDays": 2},
    ]  # fmt: skip
    for body in specs:
        create(store, body, Scope.all(), "test", end)
    events = [
        parse_event(e.payload, tenant=e.tenant, received_at=e.occurred_at, geo=lambda ip: Geo()) for e in run.events
    ]
    live = RuleEngine(store, EngineSettings(page=700), clock=lambda: end + timedelta(minutes=3))
    for k in range(0, len(events), 500):  # arrives in batches, engine cycles in between
        store.write_batch([WriteItem(None, e) for e in events[k : k + 500]])
        live.cycle()
    while live.cycle().folded:
        pass
    live.cycle()
    got = {(a.rule_name, a.group_key, a.fired_at, a.resolved_at) for a in alerts(store)}
    # the live engine decides time-driven conditions up to its frontier (the stream's clock): so does the backtest
    frontier = datetime.fromtimestamp(int(store.get_position(FRONTIER) or 0) * 60, UTC)
    expected = set()
    for rule in store.list_rules():
        spec = parse_rule(rule.spec)
        for a in backtest(store, rule, spec, end - timedelta(days=9), frontier, Scope.all(), evidence=False):
            expected.add((a.rule_name, a.group_key, a.fired_at, a.resolved_at))
    assert got == expected
    assert {name for name, *_ in got} >= {"burst", "stuck"}  # the data exercises the rules
