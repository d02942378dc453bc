"""Rules (design §7): the anomaly kind's detector — a streaming, explainable score of how unusual a value is.

The detector compares each value with a baseline learnt from the values before it and says three things a
person can check: the value it expected (a median), the band of values it considers normal, and a score in
[0, 1]. Nothing is hidden: the baseline is a median, the band's edges are quantiles of the history, and the
score is a normal tail probability of the value's distance from the baseline in units of the band.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True, slots=True)
class Reading:
    """What the detector made of one value: enough for "observed 57, expected 12, normal band 4 to 22"."""

    observed: float
    expected: float  # the baseline the value is compared with
    lower: float  # band: values inside [lower, upper] are normal
    upper: float
    score: float  # anomaly score in [0, 1]; higher = more unusual


class _Window:
    """The last `size` values in arrival order and sorted: quantiles in O(1), updates in O(size)."""

    __slots__ = ("_order", "_sorted", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._order)

    def push(self, value: float) -> None:
        self._order.append(value)
        insort(self._sorted, value)
        if len(self._order) > self.size:
            del self._sorted[bisect_left(self._sorted, self._order.popleft())]

    def quantile(self, q: float) -> float:
        """The q-quantile, linearly interpolated between order statistics."""
        s = self._sorted
        pos = q * (len(s) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


class Detector:
    """A streaming, causal anomaly score with a baseline (`expected`) and a normal band (`lower`, `upper`).

    Each value is scored against the history before it, then learnt:

    * `expected` is the median of the last `window` values;
    * the band is the `tail` and `1 - tail` quantiles of those values (the 0.1 % and 99.9 % ones by default);
    * each side of the band is read as ``k = Φ⁻¹(1 - tail)`` standard deviations of a normal law (3.09), so a
      value's distance from `expected` is ``z = k · distance / (band edge - expected)`` on its side (skewed
      data get a lopsided band), and its raw score is ``1 - P(|Z| ≥ z)``, the two-sided normal tail: a value
      on a band edge scores ``1 - 2 · tail`` (0.998), further out more, inside less;
    * suppression: a value scores only if its z is larger than each of the previous `cooldown` values' z,
      otherwise 0 — a sustained excursion is news at its onset and again only if it worsens (alerting, like
      NAB, wants the first detection of an incident, not one per value).

    Seasonality: with ``seasons = S > 0`` each value comes with its slot in ``[0, S)`` (168: hour of week).
    A slot's baseline is the median of the values it had on its last `depth` visits (a visit is a run of
    consecutive values in one slot: an hour of week comes round once a week). Residuals ``value - slot
    baseline`` then take the values' place: `expected` is the slot baseline plus the residuals' median and the
    band comes from the residuals' quantiles, so a Monday-9:00 peak is judged against past Monday-9:00s and
    the weekly swing does not widen the band. Until a slot has `min_slot` past visits (or fewer than
    `min_history` residuals exist) its values are judged without seasons, against the global median and band.

    Until `min_history` values have been seen nothing is scored: the score is 0 and the band unbounded.
    Deterministic and pure: no clock, no I/O, no randomness.

    Parameters (defaults: the best on NAB, see `bench/nab.py` and docs/benchmarks.md):
        seasons: season slots, 0 (default) for none; `update` then ignores its `season` argument.
        window: values (residuals when seasonal) the baseline and band are learnt from (6000).
        tail: the band's quantiles, `tail` and `1 - tail` (0.001); smaller is a wider band.
        cooldown: how many values back a value's z must beat to score (50); 0 turns suppression off.
        min_history: values in the history before anything is scored (30).
        min_spread: least distance from `expected` to either band edge, in the value's units (0.0); with 0 a
            constant history makes any change score 1.
        depth: past visits of a slot its baseline is the median of (64: 64 weeks for hour of week).
        min_slot: past visits a slot needs before its own baseline replaces the global one (1).
    """

    def __init__(
        self,
        *,
        seasons: int = 0,
        window: int = 6000,
        tail: float = 0.001,
        cooldown: int = 50,
        min_history: int = 30,
        min_spread: float = 0.0,
        depth: int = 64,
        min_slot: int = 1,
    ) -> None:
        if seasons < 0 or window < 1 or cooldown < 0 or min_history < 1 or depth < 1 or min_slot < 1:
            raise ValueError("seasons, cooldown must be >= 0; window, min_history, depth, min_slot >= 1")
        if not 0.0 < tail < 0.5 or min_spread < 0:
            raise ValueError("need 0 < tail < 0.5 and min_spread >= 0")
        self.seasons = seasons
        self.tail = tail
        self.cooldown = cooldown
        self.min_history = min_history
        self.min_spread = min_spread
        self.depth = depth
        self.min_slot = min_slot
        self._z_edge = NormalDist().inv_cdf(1.0 - tail)  # the band's edges are this many sigmas out
        self._values = _Window(window)  # the last values: the global level and band
        self._residuals = _Window(window if seasons else 1)  # value - slot baseline, for values that had one
        self._slots: dict[int, deque[list[float]]] = {}  # slot -> its last `depth` visits' values
        self._season: int | None = None  # the slot of the visit in progress
        self._visit: list[float] = []  # its values so far
        self._slot_median: float | None = None  # the median of its slot's past visits, if enough
        self._recent_z: deque[float] = deque(maxlen=max(cooldown, 1))
        self._count = 0

    @property
    def count(self) -> int:
        """Values seen."""
        return self._count

    def _slot_baseline(self, season: int | None) -> float | None:
        """The median of the slot's past visits, or None while it has fewer than `min_slot` of them."""
        if season is None or not 0 <= season < self.seasons:
            raise ValueError(f"a seasonal detector needs a season in [0, {self.seasons}), got {season!r}")
        if season != self._season:  # a new visit: file the one that ended, look the new slot's past up
            if self._season is not None:
                self._slots.setdefault(self._season, deque(maxlen=self.depth)).append(self._visit)
            self._season, self._visit = season, []
            past = self._slots.get(season, ())
            self._slot_median = _median([v for visit in past for v in visit]) if len(past) >= self.min_slot else None
        return self._slot_median

    def update(self, value: float, season: int | None = None) -> Reading:
        """Score `value` against the history so far, then learn it. Uses only this and earlier values."""
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value!r}")
        slot = self._slot_baseline(season) if self.seasons else None
        self._count += 1
        history: _Window | None
        if slot is not None and len(self._residuals) >= self.min_history:
            history, shift = self._residuals, slot  # seasonal: the slot's level, the residuals' band
        elif len(self._values) >= self.min_history:
            history, shift = self._values, 0.0  # the global level and band
        else:
            history = None
        z = 0.0
        if history is None:  # still learning: nothing is unusual yet
            expected = self._values.quantile(0.5) if len(self._values) else value
            reading = Reading(value, expected, -math.inf, math.inf, 0.0)
        else:
            middle = history.quantile(0.5)
            centre = shift + middle
            up = max(history.quantile(1.0 - self.tail) - middle, self.min_spread)
            down = max(middle - history.quantile(self.tail), self.min_spread)
            dev = value - centre
            spread = up if dev >= 0 else down
            z = self._z_edge * abs(dev) / spread if spread > 0 else (0.0 if dev == 0 else math.inf)
            raw = math.erf(z / math.sqrt(2.0)) if math.isfinite(z) else 1.0
            score = raw if not self._recent_z or z > max(self._recent_z) else 0.0
            reading = Reading(value, centre, centre - down, centre + up, score)
        if self.cooldown:
            self._recent_z.append(z)
        self._values.push(value)
        if slot is not None:
            self._residuals.push(value - slot)
        if self.seasons:
            self._visit.append(value)
        return reading
