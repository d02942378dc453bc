"""The store contract, run against both backends (SQLite file and the machine's PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from signwatch.events import Actor, Event, Geo, transition_id
from signwatch.store import (
    AlreadyExists,
    DeliveryRecord,
    EventFilter,
    Scope,
    SqlStore,
    TenantRecord,
    WriteItem,
)
from signwatch.store.migrate import current, head

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def ev(
    n: int,
    tenant: str = "acme",
    type: str = "envelope.sent",
    *,
    envelope: str | None = None,
    at: datetime = T0,
    source: str = "atlas",
    id: str | None = None,
) -> Event:
    return Event(
        id=id or f"ev_{tenant}_{n}",
        tenant=tenant,
        source=source,
        type=type,
        occurred_at=at + timedelta(minutes=n),
        envelope_id=envelope or f"env_{n}",
        actor=Actor(f"usr_{n % 3}", f"u{n % 3}@x.example"),
        ip_address="81.2.69.142",
        geo=Geo("GB", "Andrews & Arnold Ltd", "81.2.64.0/18"),
        attributes={"n": n},
    )


def delivery(n: int, tenant: str | None = "acme", verdict: str = "stored") -> DeliveryRecord:
    return DeliveryRecord(
        id=f"dlv_{n:08d}",
        received_at=T0 + timedelta(seconds=n),
        tenant=tenant,
        source="atlas",
        path=f"/webhooks/atlas/{tenant}",
        headers={"content-type": "application/json"},
        signature="sha256=00",
        body=b"{}",
        body_size=2,
        verdict=verdict,  # type: ignore[arg-type]
    )


def test_migrations_reach_head(store: SqlStore) -> None:
    assert current(store.engine) == head()
    store.upgrade()  # idempotent
    assert current(store.engine) == head()


def test_tenants_round_trip_and_unique(store: SqlStore) -> None:
    rec = TenantRecord("acme", "Europe/Berlin", {"days": [0]}, "enc", None, None, T0)
    store.add_tenant(rec)
    assert store.get_tenant("acme") == rec
    with pytest.raises(AlreadyExists):
        store.add_tenant(rec)
    store.set_tenant_keys("acme", "enc2", "enc", T0 + timedelta(hours=1))
    got = store.get_tenant("acme")
    assert got is not None and got.api_key == "enc2" and got.previous_key_expires == T0 + timedelta(hours=1)
    assert store.get_tenant("nope") is None


def test_write_batch_stores_once_and_archives_all(store: SqlStore) -> None:
    items = [WriteItem(delivery(i), ev(i)) for i in range(5)]
    items.append(WriteItem(delivery(5), ev(0)))  # same event again within the batch
    items.append(WriteItem(delivery(6, verdict="bad_signature"), None))
    assert store.write_batch(items) == ["stored"] * 5 + ["duplicate", "archived"]
    assert store.write_batch([WriteItem(delivery(7), ev(3))]) == ["duplicate"]
    page = store.read_events(Scope.all(), 0, 100, EventFilter())
    assert [e.id for e in page.events] == [f"ev_acme_{i}" for i in range(5)]
    assert page.events[0].attributes == {"n": 0} and page.events[0].geo.country == "GB"


def test_poll_transition_dedupes_against_webhook_both_ways(store: SqlStore) -> None:
    hook = ev(1, envelope="env_x", type="envelope.signed")
    store.write_batch([WriteItem(delivery(1), hook)])
    polled = ev(
        1,
        envelope="env_x",
        type="envelope.signed",
        source="poll",
        id=transition_id("acme", "atlas", "env_x", "envelope.signed"),
    )
    assert store.write_batch([WriteItem(None, polled)]) == ["duplicate"]
    polled2 = ev(
        2,
        envelope="env_y",
        type="envelope.voided",
        source="poll",
        id=transition_id("acme", "atlas", "env_y", "envelope.voided"),
    )
    assert store.write_batch([WriteItem(None, polled2)]) == ["stored"]
    hook2 = ev(2, envelope="env_y", type="envelope.voided", id="ev_hook_y")
    assert store.write_batch([WriteItem(delivery(2), hook2)]) == ["duplicate"]


def test_scope_isolates_tenants(store: SqlStore) -> None:
    store.write_batch([WriteItem(delivery(i), ev(i, "acme" if i % 2 else "globex")) for i in range(10)])
    acme = store.read_events(Scope.of("acme"), 0, 100, EventFilter())
    assert {e.tenant for e in acme.events} == {"acme"} and len(acme.events) == 5
    none = store.read_events(Scope.of(), 0, 100, EventFilter())
    assert none.events == []
    assert store.get_envelope(Scope.of("globex"), "acme", "env_1") is None
    assert store.get_envelope(Scope.of("acme"), "acme", "env_1") is not None
    assert set(store.event_counts(Scope.of("globex"))) == {("globex", "envelope.sent")}


def test_envelope_state_follows_lifecycle_in_event_time(store: SqlStore) -> None:
    signed = ev(30, type="envelope.signed", envelope="env_l", id="e3")
    viewed = ev(20, type="envelope.viewed", envelope="env_l", id="e2")
    sent = ev(10, type="envelope.sent", envelope="env_l", id="e1")
    store.write_batch([WriteItem(None, signed)])  # terminal first: late events must not move it back
    store.write_batch([WriteItem(None, viewed), WriteItem(None, sent)])
    state = store.get_envelope(Scope.all(), "acme", "env_l")
    assert state is not None
    assert state.status == "signed" and state.terminal
    assert state.sent_at == sent.occurred_at and state.completed_at == signed.occurred_at
    assert state.last_event_at == signed.occurred_at


def test_paging_with_filters_advances_past_non_matching(store: SqlStore) -> None:
    store.write_batch(
        [WriteItem(None, ev(i, type="envelope.voided" if i == 3 else "envelope.sent")) for i in range(10)]
    )
    flt = EventFilter(types=("envelope.voided",))
    page = store.read_events(Scope.all(), 0, 5, flt)
    assert [e.id for e in page.events] == ["ev_acme_3"] and not page.has_more
    assert store.read_events(Scope.all(), page.last_seq, 5, flt).events == []
    assert page.last_seq == max(e.seq or 0 for e in store.read_events(Scope.all(), 0, 100, EventFilter()).events)


def test_concurrent_writers_never_let_a_cursor_skip(store: SqlStore) -> None:
    """Writers in several threads (one connection each) while a reader pages: every event seen once."""
    per_writer, writers = 60, 3
    stop = threading.Event()
    seen: list[str] = []

    def write(w: int) -> None:
        for i in range(per_writer):
            store.write_batch([WriteItem(None, ev(i, id=f"w{w}_{i}_{j}")) for j in range(3)])

    def read() -> None:
        after = 0
        while True:
            done = stop.is_set()
            page = store.read_events(Scope.all(), after, 50, EventFilter())
            seen.extend(e.id for e in page.events)
            after = page.last_seq
            if done and not page.has_more:
                return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    reader.join(timeout=60)
    assert len(seen) == len(set(seen)) == per_writer * writers * 3


def test_positions_and_meta(store: SqlStore) -> None:
    assert store.get_position("poll:acme") is None
    store.set_position("poll:acme", "a")
    store.write_batch([WriteItem(None, ev(1), position=("poll:acme", "b"))])
    assert store.get_position("poll:acme") == "b"
    assert store.set_meta_default("org", "one") == "one"
    assert store.set_meta_default("org", "two") == "one"


def test_deliveries_iterate_in_range_and_replay_is_idempotent(store: SqlStore) -> None:
    store.write_batch([WriteItem(delivery(i, "acme" if i < 8 else "globex"), ev(i)) for i in range(10)])
    got = [
        d.id
        for batch in store.iter_deliveries(T0 + timedelta(seconds=2), T0 + timedelta(seconds=8), "acme", batch=2)
        for d in batch
    ]
    assert got == [f"dlv_{i:08d}" for i in range(2, 8)]
    (before,) = store.get_events_by_id(Scope.all(), ["ev_acme_1"])
    renormalized = [replace(ev(1), business_unit="fixed")]
    assert store.apply_replay([*renormalized, ev(50)]) == (1, 1, 0)
    assert store.apply_replay([*renormalized, ev(50)]) == (0, 0, 2)
    (fixed,) = store.get_events_by_id(Scope.all(), ["ev_acme_1"])
    assert fixed.business_unit == "fixed" and fixed.seq == before.seq


def test_row_builders_follow_column_order() -> None:
    """The hot path sends row values positionally: each builder's keys must be its table's columns, in order."""
    from signwatch.events import EnvelopeState
    from signwatch.store import schema
    from signwatch.store.sql import _delivery_row, _envelope_row, _event_row

    assert list(_event_row(ev(1), 0)) == [c.name for c in schema.events.columns if c.name != "seq"]
    assert list(_delivery_row(delivery(1), "stored", None)) == [c.name for c in schema.deliveries.columns]
    state = EnvelopeState("acme", "env", "sent")
    assert list(_envelope_row(state)) == [c.name for c in schema.envelopes.columns]
