"""Rules (design §7): evaluate one rule for one tenant over a range — load, decide, fold, build alerts.

The single path from stored data to alert records, called by the live engine (rules/live.py), backtests
(rules/backtest.py) and rule validation alike, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from signwatch.alerts import MINUTE_US, from_episode
from signwatch.calendar import BusinessCalendar
from signwatch.events import Event, to_us
from signwatch.rules import inputs
from signwatch.rules.engine import Context, episodes, evaluate
from signwatch.rules.kinds import stuck
from signwatch.rules.spec import RuleSpec
from signwatch.store import Store, TenantRecord
from signwatch.store.base import AlertRecord, RuleRecord
from signwatch.store.rollups_sql import actor_key

SAMPLE_IDS = 10
TOP = 5


def context(tenant: TenantRecord, start: int, end: int) -> Context:
    return Context(tenant.slug, BusinessCalendar.of(tenant.timezone, dict(tenant.business_hours)), start, end)


def rule_tenants(rule: RuleRecord, spec: RuleSpec, tenants: Iterable[TenantRecord]) -> list[TenantRecord]:
    """The tenants a rule watches: its own tenant, else every tenant of its scope."""
    out = []
    for t in tenants:
        if spec.tenant is not None and t.slug != spec.tenant:
            continue
        if rule.tenants is not None and t.slug not in rule.tenants:
            continue
        out.append(t)
    return out


def run(store: Store, rule_id: str, spec: RuleSpec, tenant: TenantRecord, start: int, end: int) -> list[AlertRecord]:
    """The alerts `spec` yields for `tenant` from the minutes [start, end) (no evidence attached)."""
    if end <= start:
        return []
    ctx = context(tenant, start, end)
    findings = evaluate(spec, ctx, inputs.load(store, spec, ctx))
    return [from_episode(rule_id, spec, tenant.slug, ep) for ep in episodes(findings, spec.cooldown_minutes, end)]


def with_evidence(store: Store, spec: RuleSpec, alert: AlertRecord) -> tuple[AlertRecord, list[str]]:
    """`alert` with its evidence (top actors, addresses, countries, sample events); and the sample ids."""
    evidence: dict[str, Any]
    if spec.kind == "stuck":
        sla = int(spec.param("sla_minutes"))
        at = to_us(alert.fired_at) // MINUTE_US
        spans = [
            stuck.Span(s.envelope_id, s.sent_us // MINUTE_US, None if s.done_us is None else s.done_us // MINUTE_US)
            for s in store.envelope_spans(
                alert.tenant,
                spec.group,
                (at - sla - stuck.LOOKBACK_DAYS * 1440) * MINUTE_US,
                (at - sla + 1) * MINUTE_US,
            )
            if s.group == alert.group_key
        ]
        overdue = stuck.densest(stuck.overdue(spans, sla, at - 1), spec.window_minutes)
        evidence = {"envelopeIds": [s.envelope_id for s in overdue[:50]], "count": len(overdue)}
        return replace(alert, details={**alert.details, "evidence": evidence}), []
    types = spec.types if spec.kind != "ratio" else (spec.condition,)
    found = store.events_between(
        alert.tenant, types, to_us(alert.window_start), to_us(alert.window_end), group=spec.group, key=alert.group_key
    )
    events = [e for e in found if _in_group(e, spec.group, alert.group_key)]
    evidence = summarize(events)
    return replace(alert, details={**alert.details, "evidence": evidence}), evidence["sampleEventIds"]


def summarize(events: list[Event]) -> dict[str, Any]:
    actors = Counter(k for e in events if (k := actor_key(e)))
    ips = Counter(e.ip_address for e in events if e.ip_address)
    countries = Counter(e.geo.country for e in events if e.geo.country)
    return {
        "events": len(events),
        "topActors": [{"actor": k, "count": n} for k, n in actors.most_common(TOP)],
        "topIps": [{"ip": k, "count": n} for k, n in ips.most_common(TOP)],
        "topCountries": [{"country": k, "count": n} for k, n in countries.most_common(TOP)],
        "sampleEventIds": [e.id for e in events[-SAMPLE_IDS:]],
    }


def _in_group(e: Event, group: str, key: str) -> bool:
    if group == "tenant":
        return True
    if group == "actor":
        return actor_key(e) == key
    if group == "businessUnit":
        return e.business_unit == key
    return e.geo.country == key
