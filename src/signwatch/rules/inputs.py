"""Rules (design §7): the I/O edge of evaluation — read from the store exactly what a rule's kind needs.

`load(store, rule, ctx)` turns rollups, sightings and envelope milestones into the kind's `Input` value; the
kinds never see the store. Live evaluation and backtests both load through here.
"""

from __future__ import annotations

from typing import Any

from signwatch.rules.engine import Context
from signwatch.rules.kinds import anomaly, flatline, new_network, ratio, stuck, threshold
from signwatch.rules.spec import RuleSpec
from signwatch.store import Store

MINUTE_US = 60_000_000


def load(store: Store, rule: RuleSpec, ctx: Context) -> Any:
    tenant, group = ctx.tenant, rule.group
    flt = rule.filter or None
    if rule.kind == "threshold":
        counts = store.minute_counts(tenant, rule.types, group, threshold.first_minute(rule, ctx), ctx.end, flt)
        return threshold.Input(_by_group(counts))
    if rule.kind == "ratio":
        counts = store.minute_counts(tenant, rule.types, group, ratio.first_minute(rule, ctx), ctx.end, flt)
        return ratio.Input(
            numerator=_by_group(counts, rule.condition),
            denominator=_by_group(counts, rule.denominator or ""),
        )
    if rule.kind == "stuck":
        sla = int(rule.param("sla_minutes"))
        spans: dict[str, list[stuck.Span]] = {}
        for s in store.envelope_spans(
            tenant, group, stuck.sent_from(rule, ctx) * MINUTE_US, max(ctx.end - sla, 0) * MINUTE_US
        ):
            done = None if s.done_us is None else s.done_us // MINUTE_US
            spans.setdefault(s.group, []).append(stuck.Span(s.envelope_id, s.sent_us // MINUTE_US, done))
        return stuck.Input(spans)
    if rule.kind == "new_network":
        kind = "a" if rule.param("network") == "asn" else "p"
        last_day = (ctx.end * MINUTE_US) // 86_400_000_000
        seen: dict[str, list[new_network.Seen]] = {}
        whole: list[new_network.Seen] = []
        for s in store.sightings_between(tenant, new_network.first_day(rule, ctx), last_day, kind):
            row = new_network.Seen(s.net, s.day, s.first_us, s.ip_address, s.country)
            if s.actor == "":
                whole.append(row)
            if (group == "tenant") == (s.actor == ""):
                seen.setdefault(tenant if group == "tenant" else s.actor, []).append(row)
        return new_network.Input(seen, whole)
    if rule.kind == "anomaly":
        first = anomaly.first_hour(rule, ctx) * 60
        hours = store.minute_counts(tenant, rule.types, group, first, ctx.end, flt, per_hour=True)
        return anomaly.Input(_by_group(hours))
    if rule.kind == "flatline":
        first_min = ctx.start - rule.window + 1
        minutes = store.minute_counts(tenant, rule.types, group, first_min, ctx.end, flt)
        first_hour = flatline.first_hour(rule, ctx) * 60
        hours = store.minute_counts(tenant, rule.types, group, first_hour, ctx.end, flt, per_hour=True)
        return flatline.Input(minutes=_by_group(minutes), hours=_by_group(hours))
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def _by_group(counts: dict[tuple[str, str], dict[int, int]], only_type: str | None = None) -> dict[str, dict[int, int]]:
    """(type, group) → series  ⇒  group → series, summing types (or keeping `only_type`)."""
    out: dict[str, dict[int, int]] = {}
    for (type_, group), series in counts.items():
        if only_type is not None and type_ != only_type:
            continue
        into = out.setdefault(group, {})
        for slot, n in series.items():
            into[slot] = into.get(slot, 0) + n
    return out
