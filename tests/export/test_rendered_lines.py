"""Export pages rendered by the database (`read_event_lines`) on both backends: byte for byte what the Python
encoder writes (`orjson.dumps(Event.to_wire())`), and the same rows and cursor as `read_events`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import update

from signwatch.events import Actor, Event, Geo, to_us
from signwatch.store import EventFilter, Scope, SqlStore, WriteItem
from signwatch.store import schema as t

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
ODD = 'quote " backslash \\ slash / tab \t newline \n cr \r bell \x07 nul-ish \x01 del \x7f'
UNICODE = "Zoë Ærøskøbing — 東京 😀 \u2028\u2029 \ufeff"

# (occurred_at, ingested_at): whole seconds, every length of fraction, trailing zeros, before 1970, the extremes.
TIMES = [
    (T0, T0),
    (T0 + 250_000 * US, T0 + 942_497 * US),
    (T0 + 100_000 * US, T0 + US),
    (T0 + 120_000 * US, T0 + 10 * US),
    (T0 + 123_400 * US, T0 + 999_999 * US),
    (T0 + 123_450 * US, T0 + 500_000 * US),
    (T0 - timedelta(days=400), T0 + 3 * US),  # late: long before the others, still next in ingestion order
    (datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)),
    (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    (datetime(1999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC), datetime(2000, 2, 29, 12, tzinfo=UTC)),
]
ATTRIBUTES = [
    {},
    {"sourceEventId": "evt_1", "pageCount": 3},
    {"nested": {"list": [1, 2.5, None, True, False, 'x"y', {"deep": [[]]}], "empty": {}}, "ü": "ß"},
    {"big": 2**62, "negative": -17, "small": 1e-7, "float": 0.1, "whole": 2.0, "text": ODD + UNICODE},
]


def varied(n: int) -> Event:
    """Event n of a mix that exercises every field: nulls, unicode and escapes, IPv6, nested attributes."""
    tenant = ("acme", "globex", "initech")[n % 3]
    occurred, _ = TIMES[n % len(TIMES)]
    bare = n % 4 == 3
    return Event(
        id=f"ev_{n:032x}",
        tenant=tenant,
        source="docusign" if n % 5 == 0 else "atlas",
        type=("envelope.sent", "auth.login.failed", "recipient.signed", "user.password.changed")[n % 4],
        occurred_at=occurred,
        envelope_id="" if bare else f"env-{n}",
        actor=Actor() if bare else Actor(f"usr_{n}", f"{UNICODE if n % 2 else 'x'}{n}@{tenant}.example"),
        ip_address=None if bare else ("2a02:8106:1::1" if n % 2 else "81.2.69.142"),
        geo=Geo() if bare else Geo("DE", "AS8881 1&1 Versatel Deutschland GmbH", "2a02:8100::/27", "Düsseldorf"),
        user_agent=None if bare else (ODD if n % 2 else "Mozilla/5.0 (X11; Linux x86_64)"),
        client_reference_id=None if bare else f"CRM-{n}",
        business_unit=None if bare else ("sales", "legal }", 'r&d "lab"')[n % 3],
        attributes=ATTRIBUTES[n % len(ATTRIBUTES)],
        delivery_id=None if bare else f"dlv_{n:012d}",
    )


def load(store: SqlStore, count: int) -> None:
    """`count` varied events, then their ingestion times set to the odd values of TIMES (the store stamps now)."""
    store.write_batch([WriteItem(None, varied(n)) for n in range(count)])
    with store._writing() as conn:
        for n in range(count):
            ingested = to_us(TIMES[n % len(TIMES)][1])
            conn.execute(update(t.events).where(t.events.c.id == f"ev_{n:032x}").values(ingested_us=ingested))


def python_lines(store: SqlStore, scope: Scope, after: int, limit: int, flt: EventFilter) -> list[bytes]:
    return [orjson.dumps(e.to_wire()) for e in store.read_events(scope, after, limit, flt).events]


def test_lines_are_the_python_encoders_bytes(store: SqlStore) -> None:
    load(store, 40)
    expected = python_lines(store, Scope.all(), 0, 100, EventFilter())
    page = store.read_event_lines(Scope.all(), 0, 100, EventFilter())
    assert page.count == 40 and len(expected) == 40
    got = page.body.split(b"\n")
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs
    seqs = [orjson.loads(line)["seq"] for line in got]
    assert seqs == list(range(seqs[0], seqs[0] + 40))


def test_json_separator_makes_the_data_array(store: SqlStore) -> None:
    load(store, 9)
    page = store.read_event_lines(Scope.all(), 0, 5, EventFilter(), ",")
    events = store.read_events(Scope.all(), 0, 5, EventFilter()).events
    assert b"[" + page.body + b"]" == orjson.dumps([e.to_wire() for e in events])


FILTERS = [
    (Scope.all(), EventFilter()),
    (Scope.of("acme"), EventFilter()),
    (Scope.of("acme", "globex"), EventFilter(tenants=("globex",))),
    (Scope.all(), EventFilter(types=("envelope.sent", "recipient.signed"))),
    (Scope.all(), EventFilter(actor="usr_4")),
    (Scope.all(), EventFilter(occurred_from=T0, occurred_to=T0 + timedelta(seconds=1))),
    (Scope.of("nobody"), EventFilter()),
]


@pytest.mark.parametrize("limit", [1, 3, 7, 40, 41, 1000])
def test_same_rows_and_cursor_as_read_events(store: SqlStore, limit: int) -> None:
    load(store, 40)
    for scope, flt in FILTERS:
        after, pages = 0, 0
        while True:
            events = store.read_events(scope, after, limit, flt)
            lines = store.read_event_lines(scope, after, limit, flt)
            expected = [orjson.dumps(e.to_wire()) for e in events.events]
            assert lines.body == b"\n".join(expected)
            assert (lines.count, lines.last_seq, lines.has_more) == (len(expected), events.last_seq, events.has_more)
            after, pages = lines.last_seq, pages + 1
            if not lines.has_more:
                break
            assert pages < 100
        empty = store.read_event_lines(scope, after, limit, flt)  # caught up: no body, the cursor stays put
        assert (empty.body, empty.count, empty.last_seq, empty.has_more) == (b"", 0, after, False)
        assert after == store.log_end()  # a filtered cursor still moves to the end of the log


def test_late_rows_keep_ingestion_order_in_large_pages(store: SqlStore) -> None:
    """The page is joined in seq order even when event time runs backwards and tenants interleave."""
    store.write_batch([WriteItem(None, varied(n)) for n in range(600)])
    page = store.read_event_lines(Scope.of("acme", "initech"), 0, 10_000, EventFilter())
    seqs = [orjson.loads(line)["seq"] for line in page.body.split(b"\n")]
    assert seqs == sorted(seqs) and len(seqs) == 400
