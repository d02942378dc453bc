"""The bulk write path on both backends: rows sent by position land in the right columns, envelope state is
folded once per envelope and batch in event time, and polled events are deduplicated within a batch too."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from signwatch.events import ENVELOPE_TYPES, Actor, EnvelopeState, Event, Geo, advance, transition_id
from signwatch.store import DeliveryRecord, Scope, SqlStore, WriteItem

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_every_field_lands_in_its_column(store: SqlStore) -> None:
    """Every field distinct, so a value sent in another column's position cannot go unnoticed."""
    event = Event(
        id="ev_full",
        tenant="acme",
        source="atlas",
        type="envelope.sent",
        occurred_at=T0 + timedelta(microseconds=7),
        envelope_id="env_full",
        actor=Actor("usr_1", "one@x.example"),
        ip_address="81.2.69.142",
        geo=Geo("GB", "Andrews & Arnold Ltd", "81.2.64.0/18", "London"),
        user_agent="agent/1.0",
        client_reference_id="ref-9",
        business_unit="legal",
        attributes={"nested": {"a": [1, 2]}, "flag": True},
        delivery_id="dlv_000000001",
    )
    accepted = DeliveryRecord(
        "dlv_000000001", T0, "acme", "atlas", "/webhooks/atlas/acme", {"x-request-id": "r1"}, "sha256=ab", b"{}", 2
    )
    refused = DeliveryRecord(
        "dlv_000000002",
        T0 + timedelta(seconds=1),
        None,
        "docusign-connect",
        "/webhooks/docusign",
        {"content-type": "application/json"},
        None,
        b"not json",
        90_000,
        body_truncated=True,
        verdict="bad_json",
        status_code=400,
        reason="the body is not JSON",
    )
    assert store.write_batch([WriteItem(accepted, event), WriteItem(refused, None)]) == ["stored", "archived"]

    (got,) = store.get_events_by_id(Scope.all(), ["ev_full"])
    assert got.seq is not None and got.ingested_at is not None
    assert _fields(got, skip=("seq", "ingested_at")) == _fields(event, skip=("seq", "ingested_at"))
    (batch,) = store.iter_deliveries(T0 - timedelta(hours=1), T0 + timedelta(hours=1), None)
    stored = DeliveryRecord(**{**_fields(accepted), "event_id": "ev_full"})
    assert batch == [stored, refused]
    assert store.get_envelope(Scope.all(), "acme", "env_full") == advance(None, event)


def test_a_batch_folds_each_envelope_in_event_time_from_its_stored_state(store: SqlStore) -> None:
    """The state after a batch is `advance` over the envelope's events in event time (arrival order among equal
    times), from the state stored before: as many events per envelope as the batch holds, one row written."""
    rng = random.Random(7)
    envelopes = [f"env_{i}" for i in range(12)]

    def lifecycle(n: int, prefix: str) -> list[Event]:
        return [
            Event(
                id=f"{prefix}_{i}",
                tenant="acme",
                source="atlas",
                type=rng.choice([*ENVELOPE_TYPES, "envelope.reminded", "recipient.signed"]),
                occurred_at=T0 + timedelta(minutes=rng.randint(0, 5)),  # ties on purpose
                envelope_id=rng.choice(envelopes),
                actor=Actor(f"usr_{i}", f"u{i}@x.example"),
                business_unit=rng.choice([None, "", "sales", f"bu_{i}"]),
            )
            for i in range(n)
        ]

    first, second = lifecycle(30, "a"), lifecycle(60, "b")
    expected: dict[str, EnvelopeState | None] = dict.fromkeys(envelopes)
    for batch in (first, second):
        assert store.write_batch([WriteItem(None, e) for e in batch]) == ["stored"] * len(batch)
        for e in sorted(batch, key=lambda e: e.occurred_at):
            if e.type.startswith("envelope."):
                expected[e.envelope_id] = advance(expected[e.envelope_id], e) or expected[e.envelope_id]
        for envelope_id in envelopes:
            assert store.get_envelope(Scope.all(), "acme", envelope_id) == expected[envelope_id], envelope_id


def test_polled_transitions_dedupe_within_one_batch(store: SqlStore) -> None:
    def polled(n: int, envelope: str, type_: str, id_: str | None = None) -> Event:
        return Event(
            id=id_ or transition_id("acme", "atlas", envelope, type_),
            tenant="acme",
            source="poll",
            type=type_,
            occurred_at=T0 + timedelta(minutes=n),
            envelope_id=envelope,
        )

    hook = Event(id="ev_hook", tenant="acme", source="atlas", type="envelope.sent", occurred_at=T0, envelope_id="e1")
    items = [
        polled(1, "e1", "envelope.sent"),  # stored: the transition id
        hook,  # the hook's view of the same transition: its alternative id is taken
        polled(2, "e1", "envelope.sent", "ev_atlas_1"),  # another id, the same (tenant, envelope, type)
        polled(3, "e2", "envelope.viewed", "ev_atlas_2"),
        polled(4, "e2", "envelope.viewed", "ev_atlas_3"),  # viewed twice: a poller cannot tell, keeps one
        polled(5, "e2", "envelope.completed"),
    ]
    outcomes = store.write_batch([WriteItem(None, e) for e in items])
    assert outcomes == ["stored", "duplicate", "duplicate", "stored", "duplicate", "stored"]
    assert store.write_batch([WriteItem(None, polled(6, "e2", "envelope.completed", "ev_atlas_4"))]) == ["duplicate"]


def _fields(record: object, skip: tuple[str, ...] = ()) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__ if name not in skip}  # type: ignore[attr-defined]
