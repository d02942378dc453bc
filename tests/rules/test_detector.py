"""The anomaly kind's detector: causal, seasonal, explainable, deterministic."""

from __future__ import annotations

import math
import random

import pytest

from signwatch.rules.detector import Detector, Reading


def noise(n: int, seed: int = 7, mean: float = 100.0, sd: float = 10.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, sd) for _ in range(n)]


def run(values: list[float], seasons: list[int] | None = None, **params: float) -> list[Reading]:
    detector = Detector(seasons=168 if seasons else 0, **params)  # type: ignore[arg-type]
    if seasons is None:
        return [detector.update(v) for v in values]
    return [detector.update(v, s) for v, s in zip(values, seasons, strict=True)]


def weekly(weeks: int, seed: int = 3) -> tuple[list[float], list[int]]:
    """Hourly counts: busy weekday office hours (~100), quiet nights and weekends (~5)."""
    rng = random.Random(seed)
    values, slots = [], []
    for h in range(weeks * 168):
        slot = h % 168
        busy = slot < 120 and 8 <= slot % 24 < 18
        values.append(float(max(0, round(rng.gauss(100, 8) if busy else rng.gauss(5, 2)))))
        slots.append(slot)
    return values, slots


def test_causal_a_reading_depends_only_on_this_and_earlier_values() -> None:
    values = noise(800)
    full = run(values)
    assert run(values[:500]) == full[:500]
    changed = values[:500] + [v * 3 + 50 for v in values[500:]]
    assert run(changed)[:500] == full[:500]


def test_deterministic() -> None:
    values, slots = weekly(6)
    assert run(values, slots) == run(values, slots)
    assert run(values) == run(values)


def test_warm_up_scores_nothing_and_count_counts() -> None:
    detector = Detector(min_history=30)
    readings = [detector.update(v) for v in noise(31)]
    assert detector.count == 31
    assert all(r.score == 0.0 and r.lower == -math.inf and r.upper == math.inf for r in readings[:30])
    assert math.isfinite(readings[30].upper)


def test_band_contains_normal_values() -> None:
    readings = run(noise(3000))[200:]
    inside = sum(r.lower <= r.observed <= r.upper for r in readings)
    assert inside / len(readings) >= 0.99
    for r in readings:
        assert r.lower < r.expected < r.upper
        assert r.expected == pytest.approx(100.0, abs=3.0)
        assert 0.0 <= r.score <= 1.0


def test_spike_scores_high_and_is_explained() -> None:
    values = noise(1000)
    values[900] = 200.0  # ten standard deviations up
    r = run(values)[900]
    assert r.observed == 200.0
    assert r.score > 0.9999
    assert r.observed > r.upper
    assert r.lower < r.expected < r.upper < r.observed
    assert r.expected == pytest.approx(100.0, abs=3.0)


def test_score_agrees_with_band() -> None:
    """Outside the band means a raw score of at least 1 - 2 * tail (0.998); inside means less."""
    values = noise(2000, seed=11)
    for i in range(300, 2000, 97):
        values[i] += 40.0 if i % 2 else -40.0
    for r in run(values, cooldown=0)[100:]:
        outside = not r.lower <= r.observed <= r.upper
        assert (r.score >= 0.998) == outside


def test_sustained_shift_alerts_at_onset_only() -> None:
    values = noise(1200)
    readings = run(values[:1000] + [v + 100.0 for v in values[1000:]])
    assert readings[1000].score > 0.999 and readings[1000].observed > readings[1000].upper
    assert sum(r.score >= 0.998 for r in readings[1001:]) <= 3  # news at the onset, not once per value


def test_cooldown_suppresses_weaker_repeats() -> None:
    values = noise(1100)
    values[900], values[910], values[1000] = 1000.0, 300.0, 500.0
    quiet, loud = run(values, cooldown=50), run(values, cooldown=0)
    assert quiet[900].score > 0.9999
    assert loud[910].score > 0.999 and loud[910].observed > loud[910].upper
    assert quiet[910].score == 0.0  # no more unusual than the spike 10 values before: no news
    assert quiet[910].observed > quiet[910].upper  # the explanation still shows it is outside the band
    assert quiet[1000].score > 0.999  # 90 values later, and beyond the band that now includes 300: news


def test_seasonality_respected() -> None:
    values, slots = weekly(6)
    monday_10, sunday_03 = 10, 6 * 24 + 3

    def trained(seasons: int) -> Detector:
        detector = Detector(seasons=seasons)
        for v, s in zip(values, slots, strict=True):
            detector.update(v, s)
        assert detector.count == len(values)
        return detector

    busy = trained(168).update(100.0, monday_10)
    assert busy.expected == pytest.approx(100.0, abs=8.0)
    assert busy.lower <= 100.0 <= busy.upper and busy.score < 0.99
    night = trained(168).update(100.0, sunday_03)
    assert night.expected == pytest.approx(5.0, abs=3.0)
    assert night.observed > night.upper and night.score > 0.999
    # Without seasons the busy hours make 100 at 3:00 on a Sunday look ordinary.
    flat = trained(0).update(100.0, sunday_03)
    assert flat.lower <= 100.0 <= flat.upper and flat.score < 0.99


def test_seasonal_slot_falls_back_to_global_level_until_it_has_history() -> None:
    detector = Detector(seasons=168, min_history=5)
    readings = [detector.update(10.0 + (i % 3), season=i % 24) for i in range(30)]  # slots 0..23 only
    r = detector.update(11.0, season=100)  # never seen: judged against the global level
    assert r.expected == pytest.approx(11.0, abs=1.0)
    assert r.lower <= 11.0 <= r.upper
    assert all(0.0 <= x.score <= 1.0 for x in readings)


def test_constant_history_and_min_spread() -> None:
    assert run([5.0] * 100 + [6.0])[-1].score == 1.0
    r = run([5.0] * 100 + [6.0], min_spread=3.0)[-1]
    assert r.lower == 2.0 and r.upper == 8.0 and r.score < 0.9


def test_invalid_use() -> None:
    detector = Detector(seasons=168)
    with pytest.raises(ValueError):
        detector.update(1.0)
    assert detector.count == 0
    with pytest.raises(ValueError):
        Detector(seasons=168).update(1.0, season=168)
    with pytest.raises(ValueError):
        Detector().update(math.nan)
    with pytest.raises(ValueError):
        Detector(tail=0.0)
    with pytest.raises(ValueError):
        Detector(window=0)
