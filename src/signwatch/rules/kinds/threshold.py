"""Rules (design §7): `threshold` — at least `threshold` events of `condition` in a sliding window, per group.

Example: `{"name": "Off-hours send spike", "condition": "envelope_sent", "threshold": 50, "windowMinutes": 60,
"schedule": {"offHoursOnly": true}}` holds at every minute whose trailing 60 minutes hold ≥ 50 sends made
off hours on the tenant's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.spec import RuleSpec


@dataclass(frozen=True, slots=True)
class Input:
    counts: dict[str, dict[int, int]]  # group → minute → events of `condition`, from ctx.start - window + 1


def first_minute(rule: RuleSpec, ctx: Context) -> int:
    return ctx.start - rule.window + 1


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    first = first_minute(rule, ctx)
    mask = ctx.counted(rule, first, ctx.end) if data.counts else None
    limit = float(rule.param("threshold"))
    width = rule.window
    out: Findings = {}
    for group, counts in data.counts.items():
        # the window's count only changes where an event enters it (its minute) or leaves it (a window later)
        delta: dict[int, int] = {}
        for minute, n in counts.items():
            if first <= minute < ctx.end and (mask is None or mask[minute - first]):
                delta[minute] = delta.get(minute, 0) + n
                delta[minute + width] = delta.get(minute + width, 0) - n
        edges = sorted(delta)
        points: list[Point] = []
        level = 0
        for k, edge in enumerate(edges):
            level += delta[edge]
            if level < limit:
                continue
            stop = min(edges[k + 1] if k + 1 < len(edges) else ctx.end, ctx.end)
            for m in range(max(edge, ctx.start), stop):
                if mask is None or mask[m - first]:
                    points.append(Point(m, float(level), threshold=limit))
        if points:
            out[group] = points
    return out
