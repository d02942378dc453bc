"""Rules (design §7): the live engine's cache of rollup series, so a cycle reads only what changed.

Every cycle evaluates rules whose baselines span days (ratio: a week of minutes; flatline and anomaly: four
weeks of hours). Rollups only change when the engine itself folds a page of the log, and it knows which
minutes of which tenant a page touched; so the cache keeps each series it has read, extends it when a
window reaches further, and re-reads exactly the touched minutes after each fold. It answers with what
`Store.minute_counts` would (tested); backtests read the store directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from signwatch.store import Store

Series = dict[tuple[str, str], dict[int, int]]
TRIM_MINUTES = 2 * 1440


@dataclass
class _Entry:
    lo: int  # minutes [lo, hi) are held (hour-aligned for hourly series)
    hi: int
    data: Series = field(default_factory=dict)


def _merge(into: Series, more: Series) -> None:
    for k, slots in more.items():
        bucket = into.setdefault(k, {})
        for slot, n in slots.items():
            bucket[slot] = bucket.get(slot, 0) + n


class SeriesCache:
    """A drop-in for `Store.minute_counts` in the live engine (unfiltered reads; filtered ones pass through)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entries: dict[tuple[str, tuple[str, ...], str, bool], _Entry] = {}

    def __getattr__(self, name: str) -> Any:  # every other store read passes through
        return getattr(self.store, name)

    def minute_counts(
        self,
        tenant: str,
        types: Sequence[str],
        group: str,
        start_minute: int,
        end_minute: int,
        flt: dict[str, Any] | None = None,
        *,
        per_hour: bool = False,
    ) -> Series:
        if flt or end_minute <= start_minute:
            return self.store.minute_counts(tenant, types, group, start_minute, end_minute, flt, per_hour=per_hour)
        unit = 60 if per_hour else 1
        lo, hi = -(-start_minute // unit) * unit, end_minute // unit * unit  # the aligned part is cached
        out: Series = {}
        if lo < hi:
            entry = self._ensure((tenant, tuple(types), group, per_hour), lo, hi)
            first, last = lo // unit, hi // unit
            for k, slots in entry.data.items():
                kept = {s: n for s, n in slots.items() if first <= s < last}
                if kept:
                    out[k] = kept
        else:
            lo = hi = start_minute
        for a, b in ((start_minute, min(lo, end_minute)), (max(hi, start_minute), end_minute)):
            if a < b:  # unaligned edges of an hourly series: read as they are
                _merge(out, self.store.minute_counts(tenant, types, group, a, b, per_hour=per_hour))
        return out

    def touched(self, tenant: str, first_minute: int, last_minute: int) -> None:
        """The engine folded events of `tenant` with event times in [first, last]: re-read those minutes."""
        for (slug, types, group, per_hour), entry in self.entries.items():
            if slug != tenant:
                continue
            unit = 60 if per_hour else 1
            a = max(entry.lo, first_minute // unit * unit)
            b = min(entry.hi, (last_minute // unit + 1) * unit)
            if a >= b:
                continue
            for slots in entry.data.values():
                for slot in [s for s in slots if a // unit <= s < b // unit]:
                    del slots[slot]
            _merge(entry.data, self.store.minute_counts(tenant, types, group, a, b, per_hour=per_hour))

    def _ensure(self, key: tuple[str, tuple[str, ...], str, bool], lo: int, hi: int) -> _Entry:
        tenant, types, group, per_hour = key
        entry = self.entries.get(key)
        if entry is None or hi < entry.lo or lo > entry.hi:  # nothing to build on: start afresh
            entry = _Entry(lo, hi, self.store.minute_counts(tenant, types, group, lo, hi, per_hour=per_hour))
            self.entries[key] = entry
            return entry
        if lo < entry.lo:
            _merge(entry.data, self.store.minute_counts(tenant, types, group, lo, entry.lo, per_hour=per_hour))
            entry.lo = lo
        if hi > entry.hi:
            _merge(entry.data, self.store.minute_counts(tenant, types, group, entry.hi, hi, per_hour=per_hour))
            entry.hi = hi
        if lo - entry.lo > TRIM_MINUTES:  # windows move forward: forget what lies far behind them
            unit = 60 if per_hour else 1
            for slots in entry.data.values():
                for slot in [s for s in slots if s < lo // unit]:
                    del slots[slot]
            entry.lo = lo
        return entry
