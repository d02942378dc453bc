"""Rules (design §7): `new_network` — an actor (or tenant) acting from a network it has not used lately.

Example: `{"kind": "new_network", "groupBy": "actor", "network": "prefix", "lookbackDays": 30}` holds for
`windowMinutes` (default 60) from the first event of an actor from an IPv4 /24 or IPv6 /48 (`"asn"`: an
autonomous system) that the actor did not use in the 30 days before. With `"newTo": "tenant"` the network
must also be new to the whole tenant (a user on a colleague's ISP is not news; a user in an AS nobody in
the company ever used is). Nobody is judged before `minHistoryDays` (default 7) of their own history: an
actor first seen yesterday has no "usual" network yet. First sightings are kept in the store (one row per
actor, network and day), so a restart forgets nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from signwatch.rules.engine import Context, Findings, Point
from signwatch.rules.spec import RuleSpec

DAY_US = 86_400_000_000
MINUTE_US = 60_000_000


@dataclass(frozen=True, slots=True)
class Seen:
    net: str
    day: int
    first_us: int  # the first event from `net` that day (event time)
    ip_address: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class Input:
    sightings: dict[str, list[Seen]]  # group → sightings on days [first_day(), last day of the range]
    tenant: list[Seen]  # the whole tenant's sightings on the same days (for newTo: tenant)


def first_day(rule: RuleSpec, ctx: Context) -> int:
    return (ctx.start * MINUTE_US) // DAY_US - int(rule.param("lookback_days"))


def evaluate(rule: RuleSpec, ctx: Context, data: Input) -> Findings:
    lookback_us = int(rule.param("lookback_days")) * DAY_US
    warmup_us = int(rule.param("min_history_days")) * DAY_US
    lo_us, hi_us = ctx.start * MINUTE_US, ctx.end * MINUTE_US
    tenant_nets: dict[str, list[int]] = {}
    if rule.param("new_to") == "tenant":
        for s in data.tenant:
            tenant_nets.setdefault(s.net, []).append(s.first_us)
        for times in tenant_nets.values():
            times.sort()
    out: Findings = {}
    for group, seen in data.sightings.items():
        by_net: dict[str, list[int]] = {}
        for s in seen:
            by_net.setdefault(s.net, []).append(s.first_us)
        for times in by_net.values():
            times.sort()
        everything = sorted(s.first_us for s in seen)
        points: dict[int, Point] = {}
        for s in seen:
            if not lo_us <= s.first_us < hi_us:
                continue
            since = s.first_us - lookback_us
            if _any_in(by_net[s.net], since, s.first_us):
                continue  # used within the lookback: not new
            if not everything or everything[0] > s.first_us - warmup_us:
                continue  # too little known of this actor yet: a newcomer, not a new network
            if tenant_nets and _any_in(tenant_nets.get(s.net, []), since, s.first_us):
                continue  # someone else in the tenant uses it
            minute = s.first_us // MINUTE_US
            where = f"{s.net.partition(':')[2]}" + (f" ({s.country})" if s.country else "")
            note = f"{where} from {s.ip_address}" if s.ip_address else where
            for m in range(max(minute, ctx.start), min(minute + rule.window, ctx.end)):
                prior = points.get(m)
                points[m] = Point(m, (prior.value if prior else 0.0) + 1.0, threshold=1.0, note=note)
        if points:
            out[group] = [points[m] for m in sorted(points)]
    return out


def _any_in(ordered: list[int], lo: int, hi: int) -> bool:
    """Whether sorted `ordered` holds a value in [lo, hi)."""
    i = bisect_left(ordered, lo)
    return i < len(ordered) and ordered[i] < hi
