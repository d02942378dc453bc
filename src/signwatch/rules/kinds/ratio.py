"""Rules (design §7): `ratio` — count(condition)/count(denominator) in a window against its own baseline.

Example, the void-rate spike: `{"kind": "ratio", "condition": "envelope.voided", "denominator":
"envelope.sent", "windowMinutes": 60, "factor": 3, "baselineDays": 7, "minCount": 5}` holds when the last
hour's voided/sent exceeds 3 x the same ratio over the 7 days before that hour, with at least 5 voids (so
two voids on a quiet evening never page anyone). The baseline is smoothed ((voided + 1) / (sent + 1)) so a
group that never voided still has a finite expectation, and no baseline at all (no sends) means no alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.kinds.series import dense, prefix, window_sum
from signwatch.rules.spec import RuleSpec


@dataclass(frozen=True, slots=True)
class Input:
    numerator: dict[str, dict[int, int]]  # group → minute → count, from first_minute()
    denominator: dict[str, dict[int, int]]


def first_minute(rule: RuleSpec, ctx: Context) -> int:
    return ctx.start - rule.window + 1 - int(rule.param("baseline_days")) * 1440


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    first = first_minute(rule, ctx)
    width = rule.window
    min_count = int(rule.param("min_count"))
    # a group whose numerator never reaches minCount within the range's windows cannot fire: skip it before
    # building its baseline (most groups, most cycles); the schedule only ever lowers counts
    window_first = ctx.start - width + 1
    live = {g: c for g, c in data.numerator.items() if sum(n for m, n in c.items() if m >= window_first) >= min_count}
    mask = ctx.counted(rule, first, ctx.end) if live else None
    base_width = int(rule.param("baseline_days")) * 1440
    factor = float(rule.param("factor"))
    out: Findings = {}
    for group, num_counts in live.items():
        num = prefix(dense(num_counts, first, ctx.end, mask))
        den = prefix(dense(data.denominator.get(group, {}), first, ctx.end, mask))
        points = []
        for m in range(ctx.start, ctx.end):
            i = m - first
            if mask is not None and not mask[i]:
                continue
            n = window_sum(num, i, width)
            if n < min_count:
                continue
            d = window_sum(den, i, width)
            base_end = i - width  # the baseline ends where the window starts
            base_n = window_sum(num, base_end, base_width) if base_end >= 0 else 0
            base_d = window_sum(den, base_end, base_width) if base_end >= 0 else 0
            if base_d == 0:
                continue  # no history to compare with
            expected = (base_n + 1) / (base_d + 1)
            observed = n / max(d, 1)
            if observed > factor * expected:
                points.append(Point(m, round(observed, 6), threshold=round(factor * expected, 6), expected=expected))
        if points:
            out[group] = points
    return out
