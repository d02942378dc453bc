"""Rules (design §7): `anomaly` — hourly volume of `condition` against the group's own hour-of-week baseline.

Example: `{"kind": "anomaly", "condition": "envelope.sent", "groupBy": "businessUnit", "sensitivity": 0.99,
"minHistoryDays": 14}` feeds each group's events per hour to the streaming detector (rules/detector.py) with
the tenant's local hour of week as its season, and holds for the minutes of an hour whose count is above the
detector's band with a score ≥ `sensitivity` and at least `minCount` events. Every alert carries observed,
expected and the band. No group fires before `minHistoryDays` of its own history.

Determinism: the detector for hour h is replayed from a fixed anchor (h - baselineDays, rounded down to a
28-day grid), so an hour's reading depends only on the data, never on where an evaluation range started.
"""

from __future__ import annotations

from dataclasses import dataclass

from signwatch.rules.detector import Detector
from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.spec import RuleSpec

GRID_HOURS = 28 * 24
SEASONS = 168


@dataclass(frozen=True, slots=True)
class Input:
    hours: dict[str, dict[int, int]]  # group → hour (since the epoch) → events, from first_hour()


def anchor(rule: RuleSpec, hour: int) -> int:
    back = hour - int(rule.param("baseline_days")) * 24
    return back - back % GRID_HOURS


def first_hour(rule: RuleSpec, ctx: Context) -> int:
    return anchor(rule, ctx.start // 60)


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    sensitivity = float(rule.param("sensitivity"))
    min_count = int(rule.param("min_count"))
    history = int(rule.param("min_history_days")) * 24
    first_h, last_h = ctx.start // 60, (ctx.end - 1) // 60
    anchors = sorted({anchor(rule, h) for h in range(first_h, last_h + 1)})
    seasons = {h: ctx.calendar.hour_of_week(h) for h in range(anchors[0], last_h + 1)}
    out: Findings = {}
    for group, counts in data.hours.items():
        points: list[Point] = []
        for a in anchors:
            detector = Detector(seasons=SEASONS)
            seen_from: int | None = None
            for h in range(a, last_h + 1):
                n = counts.get(h, 0)
                if seen_from is None and n:
                    seen_from = h
                if seen_from is None:
                    continue
                reading = detector.update(float(n), seasons[h])
                if h < first_h or anchor(rule, h) != a:
                    continue
                if h - seen_from >= history and n >= min_count and n > reading.upper and reading.score >= sensitivity:
                    # the whole hour, whatever part of it this evaluation covers: an hour's verdict only
                    # grows as its count does, so live (part of the hour) and backtest agree on the episode
                    points.extend(
                        Point(m, float(n), expected=reading.expected, lower=reading.lower, upper=reading.upper)
                        for m in range(h * 60, h * 60 + 60)
                    )
        if points:
            out[group] = points
    return out
