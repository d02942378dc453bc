"""Rules (design §7): `threshold` — at least `threshold` events of `condition` in a sliding window, per group.

Example: `{"name": "Off-hours send spike", "condition": "envelope_sent", "threshold": 50, "windowMinutes": 60,
"schedule": {"offHoursOnly": true}}` holds at every minute whose trailing 60 minutes hold ≥ 50 sends made
off hours on the tenant's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.kinds.series import dense, prefix, window_sum
from signwatch.rules.spec import RuleSpec


@dataclass(frozen=True, slots=True)
class Input:
    counts: dict[str, dict[int, int]]  # group → minute → events of `condition`, from ctx.start - window + 1


def first_minute(rule: RuleSpec, ctx: Context) -> int:
    return ctx.start - rule.window + 1


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    first = first_minute(rule, ctx)
    mask = ctx.counted(rule, first, ctx.end)
    limit = float(rule.param("threshold"))
    out: Findings = {}
    for group, counts in data.counts.items():
        pre = prefix(dense(counts, first, ctx.end, mask))
        points = []
        for m in range(ctx.start, ctx.end):
            i = m - first
            if mask is not None and not mask[i]:
                continue
            n = window_sum(pre, i, rule.window)
            if n >= limit:
                points.append(Point(m, float(n), threshold=limit))
        if points:
            out[group] = points
    return out
