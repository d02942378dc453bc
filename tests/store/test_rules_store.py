"""The alerting side of the store on both backends: rollups and sightings folded exactly once, rule and alert
records round-trip, a person's acknowledgement survives the engine's updates, leases, schema = migrations."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from signwatch.events import Actor, Event, Geo, event_id
from signwatch.store import SqlStore, WriteItem, open_store
from signwatch.store import schema as t
from signwatch.store.base import AlertChanges, AlertRecord, RuleRecord

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def ev(n: int, at: datetime, actor: str = "a@x.example", ip: str = "81.2.69.142") -> Event:
    return Event(
        id=event_id("acme", "t", str(n)),
        tenant="acme",
        source="atlas",
        type="envelope.sent",
        occurred_at=at,
        envelope_id=f"e{n}",
        actor=Actor("u", actor),
        ip_address=ip,
        business_unit="sales",
        geo=Geo("GB", "AAISP", "81.2.64.0/18"),
    )


def test_rollups_count_by_dimension_and_sightings_keep_the_first(store: SqlStore) -> None:
    minute = int(T0.timestamp()) // 60
    page = [ev(1, T0 + timedelta(seconds=30)), ev(2, T0 + timedelta(seconds=5), "b@x.example"), ev(3, T0)]
    late = ev(4, T0 - timedelta(hours=1))  # arrives last, happened first
    store.write_batch([WriteItem(None, e) for e in [*page, late]])
    store.apply_rollups(page, [("engine.rollups", "3")], 0)
    store.apply_rollups([late], [("engine.rollups", "4")], 0)
    assert store.minute_counts("acme", ("envelope.sent",), "tenant", minute, minute + 1) == {
        ("envelope.sent", "acme"): {minute: 3}
    }
    by_actor = store.minute_counts("acme", ("envelope.sent",), "actor", minute, minute + 1)
    assert by_actor == {("envelope.sent", "a@x.example"): {minute: 2}, ("envelope.sent", "b@x.example"): {minute: 1}}
    hourly = store.minute_counts("acme", (), "businessUnit", minute - 60, minute + 60, per_hour=True)
    assert hourly == {("*", "sales"): {minute // 60 - 1: 1, minute // 60: 3}}
    # a rule with a filter counts from the events themselves
    filtered = store.minute_counts(
        "acme", ("envelope.sent",), "tenant", minute - 60, minute + 1, {"actor": "b@x.example"}
    )
    assert filtered == {("envelope.sent", "acme"): {minute: 1}}
    day = int(T0.timestamp()) // 86400
    seen = {(s.actor, s.net): s.first_us for s in store.sightings_between("acme", day, day, "p")}
    first = int((T0 - timedelta(hours=1)).timestamp() * 1_000_000)
    bob = int((T0 + timedelta(seconds=5)).timestamp() * 1_000_000)
    net = "p:81.2.69.0/24"
    assert seen == {("", net): first, ("a@x.example", net): first, ("b@x.example", net): bob}
    assert store.get_position("engine.rollups") == "4"


def test_rules_and_alerts_round_trip_and_a_person_wins(store: SqlStore) -> None:
    rule = RuleRecord("rl_1", "burst", frozenset({"acme"}), {"name": "burst", "kind": "threshold"}, "me", T0, T0)
    store.put_rule(rule)
    assert store.get_rule("rl_1") == rule and store.list_rules() == [rule]
    alert = AlertRecord(
        id="al_1", rule_id="rl_1", rule_name="burst", tenant="acme", group_key="acme", severity="high",
        mode="shadow", state="open", fired_at=T0, resolved_at=None, window_start=T0 - timedelta(minutes=10),
        window_end=T0, value=5.0, threshold=3.0, expected=None, details={"startMinute": 1, "lastMinute": 2},
    )  # fmt: skip
    store.apply_alert_changes(AlertChanges(inserts=[alert]))
    [kept] = store.alerts_of_rule("rl_1", "acme", T0 - timedelta(days=1))
    assert kept.id == "al_1" and kept.details == alert.details and kept.state == "open"
    store.annotate_alert("al_1", "acknowledged", "ann", "on it", T0 + timedelta(minutes=1))
    # the engine computed an update before it saw the acknowledgement: the acknowledgement stays
    from dataclasses import replace

    store.apply_alert_changes(AlertChanges(updates=[replace(alert, details={"startMinute": 1, "lastMinute": 9})]))
    [kept] = store.alerts_of_rule("rl_1", "acme", T0 - timedelta(days=1))
    assert kept.state == "acknowledged" and kept.acked_by == "ann" and kept.ack_note == "on it"
    assert kept.details["lastMinute"] == 9
    store.annotate_alert("al_1", "resolved", "ann", "done", T0 + timedelta(minutes=2))
    store.apply_alert_changes(AlertChanges(updates=[alert]))  # the engine still thinks it is open
    [kept] = store.alerts_of_rule("rl_1", "acme", T0 - timedelta(days=1))
    assert kept.state == "resolved" and kept.resolved_by == "ann"


def test_one_engine_per_database(store: SqlStore, db_url: str) -> None:
    other = open_store(db_url)
    name = f"test-{secrets.token_hex(4)}"
    try:
        assert store.try_lease(name) is True
        assert store.try_lease(name) is True  # held already
        assert other.try_lease(name) is False
        store.close()
        assert other.try_lease(name) is True  # released with its holder
        assert store.try_lease(name) is False  # a closed store holds nothing
    finally:
        other.close()


def test_the_schema_matches_the_migrations(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


def test_event_rows_are_unpacked_in_the_tables_column_order() -> None:
    from signwatch.store.sql import _EVENT_COLUMNS

    assert list(_EVENT_COLUMNS) == [c.name for c in t.events.columns]
