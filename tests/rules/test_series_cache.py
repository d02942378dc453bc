"""The live engine's series cache answers exactly what the store answers, across windows that slide,
widen and jump, hourly and by minute, and after folds that touch cached minutes (both backends)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from signwatch.events import Actor, Event, Geo, event_id
from signwatch.rules.series_cache import SeriesCache
from signwatch.store import SqlStore

T0 = datetime(2026, 11, 20, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60


def fold(store: SqlStore, rng: random.Random, n: int, tag: str) -> tuple[int, int]:
    events = [
        Event(
            id=event_id("acme", "t", f"{tag}{i}"),
            tenant="acme",
            source="atlas",
            type=rng.choice(["envelope.sent", "envelope.voided"]),
            occurred_at=T0 + timedelta(minutes=rng.randrange(0, 3 * 1440), seconds=rng.randrange(60)),
            envelope_id=f"e{tag}{i}",
            actor=Actor("u", rng.choice(["a@x", "b@x", "c@x"])),
            geo=Geo(),
        )
        for i in range(n)
    ]
    store.apply_rollups(events, [], 0)
    minutes = [int(e.occurred_at.timestamp()) // 60 for e in events]
    return min(minutes), max(minutes)


def test_cache_equals_store(store: SqlStore) -> None:
    rng = random.Random(5)
    fold(store, rng, 400, "a")
    cache = SeriesCache(store)
    for step in range(60):
        if step % 10 == 9:  # the engine folds more, then tells the cache what it touched
            first, last = fold(store, rng, 30, f"b{step}")
            cache.touched("acme", first, last)
        start = M0 + rng.randrange(-100, 3 * 1440)
        end = start + rng.choice([1, 7, 59, 60, 61, 600, 1440, 2000])
        for types in (("envelope.sent",), ("envelope.sent", "envelope.voided"), ()):
            for group in ("tenant", "actor"):
                for per_hour in (False, True):
                    got = cache.minute_counts("acme", types, group, start, end, per_hour=per_hour)
                    want = store.minute_counts("acme", types, group, start, end, per_hour=per_hour)
                    assert got == want, (step, types, group, per_hour, start, end)
