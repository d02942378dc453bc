"""Dashboard data: what the overview, geography and users pages show, read from the store's coarse rollups.

Functions of (store, scope, window): no clock, no HTTP. A window is widened to whole hours (whole days when
its buckets are days), so every figure is a sum of rollup rows, exact, and the window answered is the one
the figures are for. Buckets: 5 minutes up to 2 days, 1 hour up to 31 days, 1 day beyond. Rates are over
envelopes sent in the window; their baseline is the same rate over the four window lengths before it.
Off hours follow each tenant's calendar (time zone, business days and hours, holidays) as it was when the
events were folded. Country names come from the geoip2fast database signwatch ships (geo.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from signwatch.alerts import wire
from signwatch.events import from_us, rfc3339, to_us
from signwatch.rules.spec import RuleError, parse_rule
from signwatch.store.base import AlertRecord, RuleRecord, Scope, Store
from signwatch.store.insights_sql import ANY, STEPS, Span

MINUTE_US = 60_000_000
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
          "90d": timedelta(days=90), "365d": timedelta(days=365)}  # fmt: skip
DEFAULT_RANGE = timedelta(days=7)
BUCKETS = {"5m": 5, "1h": 60, "1d": 1440}
MAX_SPAN = timedelta(days=731)
MAX_POINTS = 2000
BASELINE_WINDOWS = 4
SEVERITIES = ("low", "medium", "high", "critical")
NAMES = ("sent", "signed", "declined", "voided")  # STEPS, as the pages name them
COMPLETED = "envelope.completed"
TOP_NETWORKS = 100
LATEST_ALERTS = 5
_ASN = re.compile(r"^(?:AS)?(\d+)\b\s*(.*)$", re.IGNORECASE)


class WindowError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Window:
    """Minutes [lo, hi) since the epoch, in buckets of `step` minutes."""

    lo: int
    hi: int
    step: int

    @property
    def bucket(self) -> str:
        return next(name for name, step in BUCKETS.items() if step == self.step)

    @property
    def from_us(self) -> int:
        return self.lo * MINUTE_US

    @property
    def to_us(self) -> int:
        return self.hi * MINUTE_US

    def head(self) -> dict[str, Any]:
        return {"from": _time(self.lo), "to": _time(self.hi)}


def window(
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    range_: str | None = None,
    bucket: str | None = None,
) -> Window:
    """The window a request asks for: `range` (ending at `end`, default now) or [start, end) (default the 7
    days to now), widened to whole hours (whole days for day buckets)."""
    end = end or now
    if range_:
        if range_ not in RANGES:
            raise WindowError(f"range must be one of {', '.join(RANGES)}", "range")
        start = end - RANGES[range_]
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise WindowError("from must be before to", "from")
    span = end - start
    if span > MAX_SPAN:
        raise WindowError(f"a window spans at most {MAX_SPAN.days} days", "from")
    if bucket is not None and bucket not in BUCKETS:
        raise WindowError(f"bucket must be one of {', '.join(BUCKETS)}", "bucket")
    step = BUCKETS[bucket] if bucket else 5 if span <= timedelta(days=2) else 60 if span <= timedelta(days=31) else 1440
    unit = 1440 if step == 1440 else 60
    lo = to_us(start) // MINUTE_US // unit * unit
    hi = -(-to_us(end) // (MINUTE_US * unit)) * unit
    if (hi - lo) // step > MAX_POINTS:
        raise WindowError(f"at most {MAX_POINTS} buckets: choose a larger bucket or a shorter window", "bucket")
    return Window(lo, hi, step)


# -- overview ----------------------------------------------------------------------------------------------------
def overview(store: Store, scope: Scope, w: Window, business_unit: str | None = None) -> dict[str, Any]:
    dim, key = ("b", business_unit) if business_unit else ("t", None)
    kinds = (*STEPS, COMPLETED)
    points = store.level_series(scope, dim, kinds, w.step, w.lo, w.hi, key)
    series = [
        {"t": _time(m), **{name: points.get((typ, m), 0) for name, typ in _named(kinds)}}
        for m in range(w.lo, w.hi, w.step)
    ]
    current = store.level_totals(scope, dim, (*kinds, ANY), w.lo, w.hi, key)
    length = w.hi - w.lo
    before = store.level_totals(scope, dim, kinds, w.lo - BASELINE_WINDOWS * length, w.lo, key)
    totals = _by_type(current.items())
    baseline = _by_type(before.items())
    by_tenant: dict[str, dict[tuple[str, str, str], int]] = {}
    for (tenant, typ, k), n in current.items():
        by_tenant.setdefault(tenant, {})[(tenant, typ, k)] = n
    units = store.level_totals(scope, "b", (*kinds, ANY), w.lo, w.hi, business_unit)
    by_unit: dict[tuple[str, str], dict[tuple[str, str, str], int]] = {}
    for (tenant, typ, k), n in units.items():
        if k:
            by_unit.setdefault((tenant, k), {})[(tenant, typ, k)] = n
    counts, latest = store.open_alert_summary(scope, LATEST_ALERTS)
    return {
        **w.head(),
        "bucket": w.bucket,
        "businessUnit": business_unit,
        "series": series,
        "totals": {**_steps(totals), "events": totals.get(ANY, 0)},
        "rates": {
            name: {"value": _rate(totals, typ), "baseline": _rate(baseline, typ)}
            for name, typ in (("void", "envelope.voided"), ("decline", "envelope.declined"), ("completion", COMPLETED))
        },
        "baselineFrom": _time(w.lo - BASELINE_WINDOWS * length),
        "tenants": _ranked(({"tenant": tenant}, _by_type(rows.items())) for tenant, rows in by_tenant.items()),
        "businessUnits": _ranked(
            ({"tenant": tenant, "businessUnit": unit}, _by_type(rows.items()))
            for (tenant, unit), rows in by_unit.items()
        ),
        "openAlerts": {
            "total": sum(counts.values()),
            "bySeverity": {sev: counts.get(sev, 0) for sev in SEVERITIES},
            "latest": [wire(a) for a in latest],
        },
    }


def _named(kinds: Sequence[str]) -> list[tuple[str, str]]:
    return [(typ.removeprefix("envelope."), typ) for typ in kinds]


def _by_type(rows: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_, typ, _), n in rows:
        out[typ] = out.get(typ, 0) + n
    return out


def _steps(counts: Mapping[str, int]) -> dict[str, int]:
    return {name: counts.get(typ, 0) for name, typ in _named((*STEPS, COMPLETED))}


def _rate(counts: Mapping[str, int], typ: str) -> float | None:
    sent = counts.get("envelope.sent", 0)
    return counts.get(typ, 0) / sent if sent else None


def _ranked(rows: Any) -> list[dict[str, Any]]:
    out = [{**head, **_steps(counts), "events": counts.get(ANY, 0)} for head, counts in rows]
    return sorted(out, key=lambda r: (-r["sent"], -r["events"], *(str(v) for v in r.values())))


# -- geography ---------------------------------------------------------------------------------------------------
def geography(store: Store, scope: Scope, w: Window, names: Mapping[str, str]) -> dict[str, Any]:
    countries: dict[str, int] = {}
    for (_, _, country), n in store.level_totals(scope, "c", (ANY,), w.lo, w.hi).items():
        if country:
            countries[country] = countries.get(country, 0) + n
    top = store.top_networks(scope, w.lo, w.hi, TOP_NETWORKS)
    nets = [net for net, _ in top]
    users = store.place_users(scope, w.from_us, w.to_us, "country")
    net_users = store.place_users(scope, w.from_us, w.to_us, "net", nets) if nets else {}
    firsts = store.country_firsts(scope)
    seen: dict[str, Span] = {}  # per network: its earliest first use, with the country and AS of its latest
    latest: dict[str, Span] = {}
    for s in store.spans(scope, "", nets):
        if s.net not in seen or s.first_us < seen[s.net].first_us:
            seen[s.net] = s
        if s.net not in latest or s.last_us > latest[s.net].last_us:
            latest[s.net] = s
    return {
        **w.head(),
        "countries": [
            {
                "country": c,
                "name": names.get(c, c),
                "events": countries[c],
                "users": users.get(c, 0),
                **_first(firsts.get(c), w),
            }
            for c in sorted(countries, key=lambda c: (-countries[c], c))
        ],
        "networks": [
            {
                "network": net,
                **_asn(latest[net].asn if net in latest else None),
                "country": (latest[net].country or None) if net in latest else None,
                "events": n,
                "users": net_users.get(net, 0),
                **_first(seen[net].first_us if net in seen else None, w),
            }
            for net, n in top
        ],
    }


def _first(first_us: int | None, w: Window) -> dict[str, Any]:
    if first_us is None:
        return {"firstSeen": None, "new": False}
    return {"firstSeen": rfc3339(from_us(first_us)), "new": w.from_us <= first_us < w.to_us}


def _asn(text: str | None) -> dict[str, Any]:
    """The AS as the geo database names it ("AMAZON-02"), and its number when the name carries one."""
    match = _ASN.match(text or "")
    return {"asn": int(match.group(1)) if match else None, "asnName": (match.group(2) or None) if match else text}


# -- users -------------------------------------------------------------------------------------------------------
def users(store: Store, scope: Scope, w: Window, limit: int) -> dict[str, Any]:
    ranks = store.actor_ranks(scope, w.lo, w.hi, limit)
    senders = _top(ranks, 0, limit)
    signers = _top(ranks, 1, limit)
    chosen = list(dict.fromkeys([*senders, *signers]))
    totals = store.actor_counts(scope, w.lo, w.hi, sorted({actor for _, actor in chosen}))
    places = store.actor_places(scope, w.from_us, w.to_us, sorted({actor for _, actor in chosen})) if chosen else {}
    flags = _flags(store, scope, chosen, w)

    def entry(who: tuple[str, str]) -> dict[str, Any]:
        events, sent, signed, declined, voided, off = totals[who]
        countries, networks = places.get(who, (0, 0))
        return {
            "user": who[1],
            "tenant": who[0],
            "events": events,
            "sent": sent,
            "signed": signed,
            "declined": declined,
            "voided": voided,
            "offHoursShare": off / events if events else None,
            "countries": countries,
            "networks": networks,
            "flags": [_flag(a) for a in flags.get(who, [])],
        }

    return {**w.head(), "senders": [entry(who) for who in senders], "signers": [entry(who) for who in signers]}


def _top(ranks: Mapping[tuple[str, str], tuple[int, int]], column: int, limit: int) -> list[tuple[str, str]]:
    """The actors with the most sent (column 0) or signed (1) envelopes; ties by the other, then by name."""
    ranked = sorted((who for who, c in ranks.items() if c[column]), key=lambda who: (-ranks[who][column],
                    -ranks[who][1 - column], who))  # fmt: skip
    return ranked[:limit]


def _flags(
    store: Store, scope: Scope, who: Sequence[tuple[str, str]], w: Window
) -> dict[tuple[str, str], list[AlertRecord]]:
    """Alerts fired in the window whose group is one of these actors (rules grouped by actor)."""
    wanted = set(who)
    by_actor = {rule.id for rule in store.list_rules() if _group(rule) != "actor"}
    out: dict[tuple[str, str], list[AlertRecord]] = {}
    for a in store.alerts_of_groups(scope, sorted({actor for _, actor in who}), w.from_us, w.to_us):
        if (a.tenant, a.group_key) in wanted and a.rule_id not in by_actor:
            out.setdefault((a.tenant, a.group_key), []).append(a)
    return out


def _group(rule: RuleRecord) -> str | None:
    try:
        return parse_rule(rule.spec).group
    except RuleError:
        return None


def _flag(a: AlertRecord) -> dict[str, Any]:
    return {
        "alertId": a.id,
        "ruleId": a.rule_id,
        "ruleName": a.rule_name,
        "severity": a.severity,
        "state": a.state,
        "firedAt": rfc3339(a.fired_at),
        "explanation": a.details.get("explanation"),
    }


def user(store: Store, scope: Scope, w: Window, name: str, names: Mapping[str, str]) -> dict[str, Any] | None:
    """One user's page, or None when `name` (an actor's key or id) has no events in `scope`. An actor known
    in several tenants: the one with the most events (pass `tenant` to choose)."""
    found = store.find_actor(scope, name)
    if not found:
        return None
    tenant, actor, _ = max(found, key=lambda f: (f[2], f[0]))
    points = store.actor_series(tenant, actor, w.step, w.lo, w.hi)
    timeline = []
    for m in range(w.lo, w.hi, w.step):
        events, *steps = points.get(m, [0] * 5)
        timeline.append({"t": _time(m), **dict(zip(NAMES, steps, strict=True)), "other": events - sum(steps)})
    own = Scope.of(tenant)
    counts = store.actor_counts(own, w.lo, w.hi, [actor]).get((tenant, actor), [0] * 6)
    used = store.actor_net_counts(tenant, actor, w.from_us, w.to_us)
    spans = store.spans(own, actor)
    country_first: dict[str, int] = {}
    net_first: dict[str, int] = {}
    for s in spans:
        if s.country:
            country_first[s.country] = min(country_first.get(s.country, s.first_us), s.first_us)
        if s.net:
            net_first[s.net] = min(net_first.get(s.net, s.first_us), s.first_us)
    by_country: dict[str, int] = {}
    by_net: dict[str, dict[str, int]] = {}
    for (net, country), n in used.items():
        if country:
            by_country[country] = by_country.get(country, 0) + n
        if net:
            by_net.setdefault(net, {})[country] = by_net.get(net, {}).get(country, 0) + n
    alerts = _flags(store, own, [(tenant, actor)], w).get((tenant, actor), [])
    return {
        "user": actor,
        "tenant": tenant,
        **w.head(),
        "bucket": w.bucket,
        "timeline": timeline,
        "totals": {"events": counts[0], **dict(zip(NAMES, counts[1:5], strict=True))},
        "offHoursShare": counts[5] / counts[0] if counts[0] else None,
        "countries": [
            {
                "country": c,
                "name": names.get(c, c),
                "events": by_country[c],
                "firstSeen": _time_us(country_first.get(c)),
            }
            for c in sorted(by_country, key=lambda c: (-by_country[c], c))
        ],
        "networks": [
            {
                "network": net,
                "country": max(per, key=lambda c: (per[c], c)) or None,
                "events": sum(per.values()),
                **_first(net_first.get(net), w),
            }
            for net, per in sorted(by_net.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        ],
        "alerts": [wire(a) for a in alerts],
    }


def _time(minute: int) -> str:
    return rfc3339(from_us(minute * MINUTE_US))


def _time_us(us: int | None) -> str | None:
    return None if us is None else rfc3339(from_us(us))


def country_names() -> Mapping[str, str]:
    """ISO 3166 alpha-2 code → English name, from the geoip2fast database (loaded by GeoResolver.warm())."""
    try:
        import geoip2fast.geoip2fast as g
    except ImportError:  # pragma: no cover - a dependency
        return {}
    names: Mapping[str, str] = getattr(g, "geoipCountryNamesDict", None) or {}
    return names
