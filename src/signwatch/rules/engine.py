"""Rules (design §7): the pure engine — a rule's condition over event-time minutes, folded into episodes.

`evaluate(rule, ctx, data)` asks the rule's kind at which minutes of [ctx.start, ctx.end) its condition
held, per group, with the numbers that explain it (`Point`). `episodes` folds those minutes into episodes:
runs of minutes, with runs closer than the rule's cooldown merged, one per alert. Nothing here reads a
clock, the store or the network: live evaluation and backtests call exactly this code on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from signwatch.calendar import BusinessCalendar
from signwatch.rules.spec import RuleSpec


@dataclass(frozen=True, slots=True)
class Point:
    """One minute at which a rule's condition held for a group, and why."""

    minute: int  # minutes since the epoch, event time
    value: float  # what was observed (a count, a ratio, envelopes overdue…)
    threshold: float | None = None  # the fixed bound it crossed
    expected: float | None = None  # or the baseline it was compared with
    lower: float | None = None  # the normal band, when the kind has one
    upper: float | None = None
    note: str | None = None  # a kind's detail (the new network, …)


@dataclass(frozen=True, slots=True)
class Context:
    """Where a rule is evaluated: one tenant, its calendar, and the minutes [start, end) to decide."""

    tenant: str
    calendar: BusinessCalendar
    start: int
    end: int

    def counted(self, rule: RuleSpec, first: int, last: int) -> list[bool] | None:
        """Whether each minute in [first, last) falls in the rule's schedule; None when it always counts."""
        if rule.schedule.always:
            return None
        cal = self.calendar
        if rule.schedule.timezone:
            cal = BusinessCalendar(
                zone=_zone(rule.schedule.timezone), days=cal.days, start=cal.start, end=cal.end, holidays=cal.holidays
            )
        business = cal.business_minutes(first, last)
        return business if rule.schedule.business_hours_only else [not b for b in business]


@dataclass(frozen=True, slots=True)
class Episode:
    """A stretch of minutes in which a rule's condition held for one group: one alert."""

    group: str
    start: int  # first minute the condition held
    last: int  # last minute it held (so far)
    open: bool  # still holding at the end of the evaluated range
    first: Point  # the numbers at firing
    peak: Point  # the most extreme minute
    notes: tuple[str, ...] = ()


Findings = dict[str, list[Point]]
KindFn = Callable[[RuleSpec, Context, Any], Findings]


def evaluate(rule: RuleSpec, ctx: Context, data: Any) -> Findings:
    """The minutes of [ctx.start, ctx.end) at which `rule` held, per group key."""
    from signwatch.rules.kinds import KINDS

    return KINDS[rule.kind](rule, ctx, data)


def episodes(findings: Mapping[str, list[Point]], cooldown: int, end: int) -> list[Episode]:
    """Fold condition minutes into episodes; a run starting less than `cooldown` minutes after the previous
    one ended continues it (one alert, not a flapping pair). An episode whose last minute is within the
    cooldown of `end` is still open."""
    out: list[Episode] = []
    for group, points in findings.items():
        if not points:
            continue
        ordered = sorted(points, key=lambda p: p.minute)
        run = [ordered[0]]
        for p in ordered[1:]:
            if p.minute - run[-1].minute - 1 < max(cooldown, 1):
                run.append(p)
            else:
                out.append(_episode(group, run, end, cooldown))
                run = [p]
        out.append(_episode(group, run, end, cooldown))
    out.sort(key=lambda e: (e.start, e.group))
    return out


def _episode(group: str, run: list[Point], end: int, cooldown: int) -> Episode:
    """An episode stays open until `cooldown` minutes without the condition have passed (so it cannot be
    resolved and then continued: a flapping condition is one alert, resolved once)."""
    peak = max(run, key=lambda p: (p.value, -p.minute))
    notes = tuple(dict.fromkeys(p.note for p in run if p.note))
    still_open = end - 1 - run[-1].minute < max(cooldown, 1)
    return Episode(group, run[0].minute, run[-1].minute, still_open, run[0], peak, notes)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
