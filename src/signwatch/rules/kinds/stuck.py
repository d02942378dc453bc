"""Rules (design §7): `stuck` — envelopes sent and still unfinished `slaMinutes` later, per group.

Example: `{"kind": "stuck", "condition": "envelope.sent", "slaMinutes": 1440, "threshold": 10,
"windowMinutes": 60, "groupBy": "actor"}` holds, for a sender, at every minute in which at least 10 of
the envelopes they sent within one hour are overdue: sent more than a day before and not yet finished
(signed, completed, declined, voided, expired or deleted: events.TERMINAL_STATUSES). Without
`windowMinutes` every overdue envelope of the group counts (with `threshold` 1: one alert per group while
any envelope is overdue). It clears by itself as the envelopes move on. Decided on event time from the
envelopes' milestones, so a backtest sees what live saw.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass

from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.spec import RuleSpec

LOOKBACK_DAYS = 30  # envelopes sent longer ago than SLA + this are left to the platform's own expiry


@dataclass(frozen=True, slots=True)
class Span:
    envelope_id: str
    sent: int  # minute sent
    done: int | None  # minute it reached a terminal state; None: not yet


@dataclass(frozen=True, slots=True)
class Input:
    spans: dict[str, list[Span]]  # group → envelopes sent from sent_from()


def sent_from(rule: RuleSpec, ctx: Context) -> int:
    return ctx.start - int(rule.param("sla_minutes")) - LOOKBACK_DAYS * 1440


def overdue(spans: list[Span], sla: int, minute: int) -> list[Span]:
    """Envelopes of `spans` overdue at `minute`."""
    return [s for s in spans if s.sent + sla <= minute and (s.done is None or s.done > minute)]


def densest(spans: list[Span], window: int | None) -> list[Span]:
    """The most envelopes of `spans` sent within `window` minutes of each other (all when no window)."""
    if window is None or not spans:
        return spans
    ordered = sorted(spans, key=lambda s: s.sent)
    sent = [s.sent for s in ordered]
    best = (0, 0)
    for i, first in enumerate(sent):
        j = bisect_right(sent, first + window - 1)
        if j - i > best[1] - best[0]:
            best = (i, j)
    return ordered[best[0] : best[1]]


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    sla = int(rule.param("sla_minutes"))
    limit = float(rule.param("threshold"))
    window = rule.window_minutes
    out: Findings = {}
    for group, spans in data.spans.items():
        # sweep the minutes at which the overdue set changes, keeping it as a sorted list of send minutes
        changes: dict[int, list[tuple[int, int]]] = {}
        for s in spans:
            due = s.sent + sla
            if due >= ctx.end or (s.done is not None and s.done <= max(due, ctx.start)):
                continue
            changes.setdefault(max(due, ctx.start), []).append((+1, s.sent))
            if s.done is not None and s.done < ctx.end:
                changes.setdefault(s.done, []).append((-1, s.sent))
        overdue: list[int] = []
        edges = sorted(changes)
        points: list[Point] = []
        for k, edge in enumerate(edges):
            for sign, sent in changes[edge]:
                if sign > 0:
                    insort(overdue, sent)
                else:
                    overdue.pop(bisect_left(overdue, sent))
            if len(overdue) < limit:
                continue
            level = len(overdue) if window is None else _densest_count(overdue, window)
            if level >= limit:
                stop = edges[k + 1] if k + 1 < len(edges) else ctx.end
                points.extend(Point(m, float(level), threshold=limit) for m in range(edge, min(stop, ctx.end)))
        if points:
            out[group] = points
    return out


def _densest_count(sent: list[int], window: int) -> int:
    """The most of the sorted send minutes `sent` within `window` minutes of each other (two pointers)."""
    best, lo = 0, 0
    for hi, minute in enumerate(sent):
        while minute - sent[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
