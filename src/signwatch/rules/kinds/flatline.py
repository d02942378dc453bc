"""Rules (design §7): `flatline` — no events of `condition` for `windowMinutes` when some were expected.

Example, feed silent: `{"kind": "flatline", "condition": "*", "windowMinutes": 60, "minExpected": 10}`
holds at every minute whose trailing hour saw no event at all although the same local hours of the week
over the last `baselineDays` (default 28) saw a median of ≥ 10 events: a broken or blocked webhook feed
during hours the tenant is normally active. Quiet nights and weekends expect little, so they never fire;
the median keeps one past burst from raising the expectation, and only weeks with history count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.kinds.series import dense, prefix, window_sum
from signwatch.rules.spec import RuleSpec


@dataclass(frozen=True, slots=True)
class Input:
    minutes: dict[str, dict[int, int]]  # group → minute → events, from ctx.start - window + 1
    hours: dict[str, dict[int, int]]  # group → hour → events, from first_hour()


def first_hour(rule: RuleSpec, ctx: Context) -> int:
    return (ctx.start - rule.window + 1) // 60 - int(rule.param("baseline_days")) * 24


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    width = rule.window
    weeks = max(int(rule.param("baseline_days")) // 7, 1)
    history = int(rule.param("min_history_days")) * 24
    # expected events in the window = Σ over its minutes of the same local hour's median weekly count / 60,
    # kept x60 in integers so every evaluation range decides a minute identically
    floor = float(rule.param("min_expected")) * 60
    first = ctx.start - width + 1
    mask = ctx.counted(rule, first, ctx.end)
    same_hours = _SameHours(ctx, weeks)
    out: Findings = {}
    for group, hours in data.hours.items():
        if not hours:
            continue
        seen_from = min(hours)
        usual: dict[int, int] = {}

        def median(
            hour: int, hours: dict[int, int] = hours, usual: dict[int, int] = usual, seen_from: int = seen_from
        ) -> int:
            if hour not in usual:
                weekly = sorted(hours.get(h, 0) for h in same_hours(hour) if h >= seen_from)
                usual[hour] = weekly[(len(weekly) - 1) // 2] if weekly else 0
            return usual[hour]

        pre = prefix(dense(data.minutes.get(group, {}), first, ctx.end))
        points = []
        expected = sum(median(m // 60) for m in range(first, ctx.start))
        for m in range(ctx.start, ctx.end):
            expected += median(m // 60)
            if m - width >= first:
                expected -= median((m - width) // 60)
            if mask is not None and not mask[m - first]:
                continue
            if m // 60 - seen_from < history or expected < floor:
                continue
            if window_sum(pre, m - first, width) == 0:
                value = round(expected / 60, 3)
                points.append(Point(m, 0.0, expected=value, threshold=float(rule.param("min_expected"))))
        if points:
            out[group] = points
    return out


class _SameHours:
    """The UTC hours holding the same local hour of the week in each of the previous weeks (DST-correct)."""

    def __init__(self, ctx: Context, weeks: int) -> None:
        self.zone = ctx.calendar.zone
        self.weeks = weeks
        self.cache: dict[int, tuple[int, ...]] = {}

    def __call__(self, hour: int) -> tuple[int, ...]:
        if hour not in self.cache:
            local = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.zone)
            self.cache[hour] = tuple(
                int((local - timedelta(days=7 * k)).timestamp()) // 3600 for k in range(1, self.weeks + 1)
            )
        return self.cache[hour]
