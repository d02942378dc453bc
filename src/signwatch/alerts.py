"""Alerts (design §7): from a rule's episodes to alert records — identity, lifecycle, reconciliation.

An alert is one episode of a rule's condition for one (tenant, group key). Evaluating a range again (late
events, the next tick, a restart) yields episodes that `reconcile` matches with the alerts already kept:
a match is updated (still open, resolved, reopened within the cooldown), an episode with no match is a new
alert, and an open alert whose condition no longer holds anywhere in the range is resolved. So there is
one open alert per (rule, group) at a time and evaluating twice changes nothing. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from signwatch.events import Event, event_id, from_us, rfc3339
from signwatch.rules.engine import Episode
from signwatch.rules.spec import RuleSpec
from signwatch.store.base import AlertRecord

MINUTE_US = 60_000_000
OPEN_STATES = ("open", "acknowledged")


def alert_id(rule_id: str, tenant: str, group: str, start_minute: int) -> str:
    digest = hashlib.sha256(f"{rule_id}\x1f{tenant}\x1f{group}\x1f{start_minute}".encode()).hexdigest()
    return f"al_{digest[:32]}"


def minute_at(minute: int) -> datetime:
    return from_us(minute * MINUTE_US)


def from_episode(rule_id: str, spec: RuleSpec, tenant: str, ep: Episode) -> AlertRecord:
    """The alert an episode is: fired at the end of its first minute, resolved at the end of its last."""
    fired = minute_at(ep.start + 1)
    first = ep.first
    if spec.kind == "anomaly":  # the unusual hour itself
        window = (minute_at(ep.start - ep.start % 60), minute_at(ep.start - ep.start % 60 + 60))
    elif spec.kind == "new_network":  # from the first event on the new network
        window = (minute_at(ep.start), minute_at(ep.start + spec.window))
    else:  # the trailing window in which the condition first held
        window = (minute_at(ep.start + 1 - spec.window), fired)
    details: dict[str, Any] = {
        "kind": spec.kind,
        "startMinute": ep.start,
        "lastMinute": ep.last,
        "peak": ep.peak.value,
        "lower": first.lower,
        "upper": first.upper,
        "notes": list(ep.notes),
        "explanation": explain(spec, ep),
    }
    if spec.runbook:
        details["runbook"] = spec.runbook
    return AlertRecord(
        id=alert_id(rule_id, tenant, ep.group, ep.start),
        rule_id=rule_id,
        rule_name=spec.name,
        tenant=tenant,
        group_key=ep.group,
        severity=spec.severity,
        mode=spec.mode,
        state="open" if ep.open else "resolved",
        fired_at=fired,
        resolved_at=None if ep.open else minute_at(ep.last + 1),
        window_start=window[0],
        window_end=window[1],
        value=first.value,
        threshold=first.threshold,
        expected=first.expected,
        details=details,
    )


def explain(spec: RuleSpec, ep: Episode) -> str:
    p = ep.first
    where = f"{spec.group} {ep.group}"
    if spec.kind == "threshold":
        return f"{p.value:g} {spec.condition} in {spec.window} min for {where} (threshold {p.threshold:g})"
    if spec.kind == "ratio":
        return (
            f"{spec.condition}/{spec.denominator} was {p.value:.3g} over {spec.window} min for {where}, above "
            f"{spec.param('factor'):g} x the {spec.param('baseline_days')}-day baseline {p.expected or 0:.3g}"
        )
    if spec.kind == "stuck":
        return f"{p.value:g} envelope(s) of {where} unfinished {spec.param('sla_minutes')} min after sending"
    if spec.kind == "new_network":
        return f"{where} acted from a network unseen in {spec.param('lookback_days')} days: " + "; ".join(ep.notes)
    if spec.kind == "anomaly":
        return (
            f"{p.value:g} {spec.condition} in an hour for {where}, expected {p.expected or 0:.3g} "
            f"(normal band {p.lower or 0:.3g} to {p.upper or 0:.3g})"
        )
    return f"no {spec.condition} for {spec.window} min for {where}, expected {p.expected or 0:.3g}"


@dataclass(frozen=True, slots=True)
class Reconciled:
    inserts: list[AlertRecord]
    updates: list[AlertRecord]
    fired: list[AlertRecord]  # newly fired (inserted open or resolved at once)
    resolved: list[AlertRecord]  # moved to resolved by this evaluation
    reopened: list[AlertRecord]


def reconcile(
    computed: Sequence[AlertRecord], kept: Sequence[AlertRecord], start: int, end: int, cooldown: int
) -> Reconciled:
    """Match freshly computed alerts over minutes [start, end) with the alerts kept for the same rule."""
    inserts: list[AlertRecord] = []
    updates: dict[str, AlertRecord] = {}
    fired: list[AlertRecord] = []
    resolved: list[AlertRecord] = []
    reopened: list[AlertRecord] = []
    matched: set[str] = set()
    by_group: dict[tuple[str, str], list[AlertRecord]] = {}
    for a in kept:
        by_group.setdefault((a.tenant, a.group_key), []).append(a)
    for c in sorted(computed, key=lambda a: a.fired_at):
        group = by_group.setdefault((c.tenant, c.group_key), [])
        twin = _twin(c, group, cooldown, start)
        if twin is None:
            inserts.append(c)
            fired.append(c)
            group.append(c)  # a later episode in the same range may continue this one
            continue
        matched.add(twin.id)
        if twin.resolved_by is not None:
            continue  # resolved by a person: this episode stays closed
        merged = _merge(twin, c)
        if merged == twin:
            continue
        group[group.index(twin)] = merged
        if any(a.id == twin.id for a in inserts):
            inserts[:] = [merged if a.id == twin.id else a for a in inserts]
            fired[:] = [merged if a.id == twin.id else a for a in fired]
            continue
        original = next(a for a in kept if a.id == twin.id)
        updates[twin.id] = merged
        resolved[:] = [a for a in resolved if a.id != twin.id]
        reopened[:] = [a for a in reopened if a.id != twin.id]
        if original.state in OPEN_STATES and merged.state == "resolved":
            resolved.append(merged)
        elif original.state == "resolved" and merged.state in OPEN_STATES:
            reopened.append(merged)
    for a in kept:
        a = updates.get(a.id, a)
        if a.id in matched or a.state not in OPEN_STATES:
            continue
        if a.resolved_by is not None:
            continue
        # The condition held at none of the minutes re-evaluated: it cleared when the range began (or, after
        # a gap nobody evaluated, when it was last seen holding).
        last, first = int(a.details["lastMinute"]), int(a.details["startMinute"])
        if last >= end:
            continue  # known to hold past this range (an earlier, longer evaluation): not this range's to judge
        if end - 1 - last < max(cooldown, 1):
            continue  # within its cooldown: the condition may yet continue it
        stop = last + 1 if last < start else max(start, first + 1)
        done = replace(a, state="resolved", resolved_at=minute_at(stop), details={**a.details, "lastMinute": stop - 1})
        updates[a.id] = done
        resolved.append(done)
    return Reconciled(inserts, list(updates.values()), fired, resolved, reopened)


def _twin(c: AlertRecord, kept: list[AlertRecord], cooldown: int, start: int) -> AlertRecord | None:
    """The kept alert `c` continues: overlapping it, or starting within the cooldown after it ended. An open
    alert is known to hold up to where this evaluation starts."""
    c_start, c_last = int(c.details["startMinute"]), int(c.details["lastMinute"])
    for a in kept:
        a_start, a_last = int(a.details["startMinute"]), int(a.details["lastMinute"])
        if a.state in OPEN_STATES:
            a_last = max(a_last, start - 1)
        if c_start <= a_last + max(cooldown, 1) and a_start <= c_last + max(cooldown, 1):
            return a
    return None


def _merge(kept: AlertRecord, c: AlertRecord) -> AlertRecord:
    last = max(int(kept.details["lastMinute"]), int(c.details["lastMinute"]))
    still_open = c.state == "open"
    details = {
        **kept.details,
        "lastMinute": last,
        "peak": max(float(kept.details.get("peak", kept.value)), float(c.details.get("peak", c.value))),
        "notes": list(dict.fromkeys([*kept.details.get("notes", []), *c.details.get("notes", [])])),
    }
    state = ("acknowledged" if kept.state == "acknowledged" else "open") if still_open else "resolved"
    return replace(
        kept,
        state=state,
        resolved_at=None if still_open else c.resolved_at,
        details=details,
    )


def alert_event(a: AlertRecord, change: str, at: datetime, sample_ids: Sequence[str] = ()) -> Event:
    """The `alert.fired` / `alert.resolved` row of the data stream (Monitor's object "Alert")."""
    return Event(
        id=event_id(a.tenant, "signwatch", f"{a.id}:{change}"),
        tenant=a.tenant,
        source="signwatch",
        type=f"alert.{change}",
        occurred_at=at,
        envelope_id="",
        attributes={
            "object": "Alert",
            "alertId": a.id,
            "ruleId": a.rule_id,
            "ruleName": a.rule_name,
            "severity": a.severity,
            "mode": a.mode,
            "groupKey": a.group_key,
            "value": a.value,
            "threshold": a.threshold,
            "expected": a.expected,
            "firedAt": rfc3339(a.fired_at),
            "eventIds": list(sample_ids),
        },
    )


def wire(a: AlertRecord) -> dict[str, Any]:
    """An alert as the API shows it (camelCase, RFC 3339 times)."""
    details = dict(a.details)
    evidence = details.pop("evidence", {})
    body: dict[str, Any] = {
        "id": a.id,
        "ruleId": a.rule_id,
        "ruleName": a.rule_name,
        "tenant": a.tenant,
        "groupKey": a.group_key,
        "severity": a.severity,
        "mode": a.mode,
        "state": a.state,
        "firedAt": rfc3339(a.fired_at),
        "resolvedAt": None if a.resolved_at is None else rfc3339(a.resolved_at),
        "value": a.value,
        "threshold": a.threshold,
        "expected": a.expected,
        "band": None if details.get("upper") is None else {"lower": details["lower"], "upper": details["upper"]},
        "windowStart": rfc3339(a.window_start),
        "windowEnd": rfc3339(a.window_end),
        "explanation": details.get("explanation"),
        "evidence": evidence,
        "silenced": a.silenced_by is not None,
        "silenceId": a.silenced_by,
        "runbook": details.get("runbook"),
        "acknowledgedBy": a.acked_by,
        "acknowledgedAt": None if a.acked_at is None else rfc3339(a.acked_at),
        "ackNote": a.ack_note,
        "resolvedBy": a.resolved_by,
        "resolveNote": a.resolve_note,
    }
    return body
