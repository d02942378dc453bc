"""The SQL store's dashboard data: aggregates kept with the rules engine's fold, and the reads the pages make.

In the transaction that folds a page of the event log into `rollups` (per minute, for the rules), the same
events are folded into:
- `rollup_levels`: the few-valued dims (tenant, business unit per type; country) per hour, day and 16-day
  period. A window is summed from a few pieces (`pieces`): periods in the middle, days and hours at the edges.
- `running_totals`: the many-valued dims (actors, networks: thousands of keys) as running totals at each
  hour a key was active. Any window is two lookups per key, so a year costs what a day does; a late event
  adds to its hour and to every later one of its key.
- `actors`, `actor_nets` (an actor's events per network and hour), `actor_net_spans` (first and last use of
  a network, all time): who exists, and which places each used when.
Windows are whole hours (the dashboard widens them).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, case, delete, func, select, union_all

from signwatch.calendar import BusinessCalendar
from signwatch.events import Event, from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import AlertRecord, Scope

MINUTE_US = 60_000_000
HOUR, DAY, PERIOD = 60, 1440, 16 * 1440  # in minutes
HOUR_US = HOUR * MINUTE_US
LEVELS = (("p", PERIOD), ("d", DAY), ("h", HOUR))
ANY = "*"  # the type of a rollup row counting every type
STEPS = ("envelope.sent", "envelope.signed", "envelope.declined", "envelope.voided")
COUNTERS = ("events", "sent", "signed", "declined", "voided", "off_hours")  # running totals c0..c5 (actors)
_PACK = 1 << 32  # two counters in one value: a ranking reads one column per bound
_QUARTER = 15  # every zone's offset is a multiple of 15 minutes: one business-hours decision per quarter hour

# What one event contributes: tenant, type, occurred (µs), actor key, actor id, business unit, address, country,
# AS.
Row = tuple[str, str, int, str | None, str | None, str | None, str | None, str | None, str | None]


def pieces(lo: int, hi: int, levels: Sequence[tuple[str, int]] = LEVELS) -> list[tuple[str, int, int]]:
    """Minutes [lo, hi) as (level, first bucket, end bucket) pieces, the coarsest that fit; "m" for minutes."""
    if lo >= hi:
        return []
    if not levels:
        return [("m", lo, hi)]
    (name, size), rest = levels[0], levels[1:]
    first, end = -(-lo // size), hi // size
    if first >= end:
        return pieces(lo, hi, rest)
    return [*pieces(lo, first * size, rest), (name, first, end), *pieces(end * size, hi, rest)]


@lru_cache(maxsize=65536)
def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to: the dashboard's network, as new_network's prefix."""
    if not ip:
        return None
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") for p in parts):
        if max(int(p) for p in parts) < 256:  # the common case, ten times faster than ipaddress
            return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"
        return None
    return _network(ip)


def _network(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{addr}/{24 if addr.version == 4 else 48}", strict=False))


def event_rows(events: Iterable[Event]) -> list[Row]:
    return [
        (e.tenant, e.type, to_us(e.occurred_at), e.actor.email or e.actor.id, e.actor.id, e.business_unit,
         e.ip_address, e.geo.country, e.geo.asn)
        for e in events
        if not e.type.startswith("alert.")
    ]  # fmt: skip


@dataclass
class Folded:
    """What a batch of events adds to the dashboard tables (keys in each table's key order)."""

    levels: dict[tuple[str, str, str, str, int, str], int] = field(default_factory=dict)
    running: dict[tuple[str, str, str, int], list[int]] = field(default_factory=dict)
    actors: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # id, first, last, events, sent, signed
    nets: dict[tuple[str, str, str, str, int], int] = field(default_factory=dict)
    spans: dict[tuple[str, str, str, str], list[Any]] = field(default_factory=dict)  # asn, first, last, n


def fold_levels(rows: Iterable[Row], calendars: Mapping[str, BusinessCalendar]) -> Folded:
    """Pure: what `rows` add to the dashboard tables; off hours are judged by each tenant's calendar."""
    out = Folded()
    levels, running, nets, spans = out.levels, out.running, out.nets, out.spans
    off_hours: dict[tuple[str, int], bool] = {}
    hourly: dict[tuple[str, str, str, int, str], int] = {}
    default = BusinessCalendar.of("UTC")
    for tenant, type_, occurred, actor, actor_id, unit, ip, country, asn in rows:
        minute = occurred // MINUTE_US
        hour = minute // HOUR
        keys = [("t", type_, ""), ("t", ANY, "")]
        if unit is not None:
            keys += [("b", type_, unit), ("b", ANY, unit)]
        if country is not None:
            keys.append(("c", ANY, country))
        for dim, typ, key in keys:
            hk = (tenant, dim, typ, hour, key)
            hourly[hk] = hourly.get(hk, 0) + 1
        step = STEPS.index(type_) + 1 if type_ in STEPS else 0
        if actor:
            quarter = (tenant, minute // _QUARTER)
            off = off_hours.get(quarter)
            if off is None:
                cal = calendars.get(tenant, default)
                off = off_hours[quarter] = not cal.is_business(from_us(quarter[1] * _QUARTER * MINUTE_US))
            counts = running.get((tenant, "a", actor, hour))
            if counts is None:
                counts = running[(tenant, "a", actor, hour)] = [0] * 6
            counts[0] += 1
            if step:
                counts[step] += 1
            if off:
                counts[5] += 1
            known = out.actors.get((tenant, actor))
            if known is None:
                known = out.actors[(tenant, actor)] = [actor_id, occurred, occurred, 0, 0, 0]
            known[0] = actor_id or known[0]
            known[1], known[2] = min(known[1], occurred), max(known[2], occurred)
            known[3] += 1
            known[4] += step == 1
            known[5] += step == 2
        net = network_of(ip)
        if net:
            counts = running.get((tenant, "n", net, hour))
            if counts is None:
                counts = running[(tenant, "n", net, hour)] = [0] * 6
            counts[0] += 1
        if not (net or country):
            continue
        place = (net or "", country or "")
        if actor:
            nk = (tenant, actor, *place, hour)
            nets[nk] = nets.get(nk, 0) + 1
        for who in (actor, "") if actor else ("",):
            sk = (tenant, who, *place)
            span = spans.get(sk)
            if span is None:
                spans[sk] = [asn, occurred, occurred, 1]
                continue
            span[1] = min(span[1], occurred)
            if occurred >= span[2]:
                span[0], span[2] = asn or span[0], occurred
            span[3] += 1
    for (tenant, dim, typ, hour, key), n in hourly.items():  # hours, then the days and periods they fall in
        for level, size in LEVELS:
            k = (tenant, dim, typ, level, hour * HOUR // size, key)
            levels[k] = levels.get(k, 0) + n
    return out


def calendars(conn: Connection) -> dict[str, BusinessCalendar]:
    """Every tenant's business calendar (time zone, hours, holidays) as stored."""
    out: dict[str, BusinessCalendar] = {}
    for slug, zone, hours in conn.execute(select(t.tenants.c.slug, t.tenants.c.timezone, t.tenants.c.business_hours)):
        out[slug] = BusinessCalendar.of(zone, json.loads(hours))
    return out


def _first(table: str, column: str) -> str:
    return f"CASE WHEN excluded.{column} < {table}.{column} THEN excluded.{column} ELSE {table}.{column} END"


def _last(table: str, column: str) -> str:
    return f"CASE WHEN excluded.{column} > {table}.{column} THEN excluded.{column} ELSE {table}.{column} END"


def write_levels(conn: Connection, mark: str, f: Folded) -> None:
    """Add a batch's increments to the dashboard tables; any order of batches gives the same tables."""
    m = mark
    if f.levels:
        conn.exec_driver_sql(
            f"INSERT INTO rollup_levels (tenant, dim, type, level, bucket, key, n) VALUES ({m}, {m}, {m}, {m}, {m}, "
            f"{m}, {m}) ON CONFLICT (tenant, dim, type, level, bucket, key) DO UPDATE SET n = rollup_levels.n + "
            "excluded.n",
            [(*k, n) for k, n in f.levels.items()],
        )
    if f.running:
        _write_running(conn, m, sorted(f.running.items()))
    if f.actors:
        a = "actors"
        conn.exec_driver_sql(
            f"INSERT INTO {a} (tenant, actor, actor_id, first_us, last_us, events, sent, signed) VALUES "
            f"({', '.join([m] * 8)}) ON CONFLICT (tenant, actor) DO UPDATE SET actor_id = COALESCE(excluded.actor_id, "
            f"{a}.actor_id), first_us = {_first(a, 'first_us')}, last_us = {_last(a, 'last_us')}, events = "
            f"{a}.events + excluded.events, sent = {a}.sent + excluded.sent, signed = {a}.signed + excluded.signed",
            [(*k, *v) for k, v in f.actors.items()],
        )
    if f.nets:
        conn.exec_driver_sql(
            f"INSERT INTO actor_nets (tenant, actor, net, country, hour, n) VALUES ({m}, {m}, {m}, {m}, {m}, {m}) "
            "ON CONFLICT (tenant, actor, net, country, hour) DO UPDATE SET n = actor_nets.n + excluded.n",
            [(*k, n) for k, n in f.nets.items()],
        )
    if f.spans:
        s = "actor_net_spans"
        conn.exec_driver_sql(
            f"INSERT INTO {s} (tenant, actor, net, country, asn, first_us, last_us, n) VALUES ({', '.join([m] * 8)}) "
            f"ON CONFLICT (tenant, actor, net, country) DO UPDATE SET first_us = {_first(s, 'first_us')}, "
            f"last_us = {_last(s, 'last_us')}, n = {s}.n + excluded.n, "
            f"asn = CASE WHEN excluded.last_us >= {s}.last_us THEN COALESCE(excluded.asn, {s}.asn) ELSE {s}.asn END",
            [(*k, *v) for k, v in f.spans.items()],
        )


_CS = [f"c{i}" for i in range(6)]
_KEYS_PER_READ = 2000  # keys whose latest totals one statement reads (4 parameters each)


def _write_running(conn: Connection, m: str, items: list[tuple[tuple[str, str, str, int], list[int]]]) -> None:
    """Add per-hour counts (sorted by key, then hour) to the running totals.

    In order (the usual case: no hour of the key kept after the batch's first), the totals are the key's
    latest total plus the batch's counts, written as they are. A key with events come late: each of its counts
    is added to its hour and every later one, and a missing hour starts from the total before it."""
    by_key: dict[tuple[str, str, str], list[tuple[int, list[int]]]] = {}
    for (tenant, dim, key, hour), counts in items:
        by_key.setdefault((tenant, dim, key), []).append((hour, counts))
    keys = list(by_key)
    fresh: list[tuple[Any, ...]] = []
    late: list[tuple[tuple[str, str, str, int], list[int]]] = []
    for i in range(0, len(keys), _KEYS_PER_READ):
        chunk = keys[i : i + _KEYS_PER_READ]
        values = ", ".join([f"({m}, {m}, {m}, {m})"] * len(chunk))
        latest = "SELECT MAX(x.hour) FROM running_totals x WHERE x.tenant = b.t AND x.dim = b.d AND x.key = b.k"
        sql = (
            f"WITH b (t, d, k, h) AS (VALUES {values}) SELECT b.t, b.d, b.k, ({latest}) AS last, "
            f"{', '.join(f'p.{c}' for c in _CS)} FROM b LEFT JOIN running_totals p ON p.tenant = b.t AND p.dim = b.d "
            f"AND p.key = b.k AND p.hour = ({latest} AND x.hour <= b.h)"
        )
        params = [v for k in chunk for v in (*k, by_key[k][0][0])]
        for tenant, dim, key, last, *before in conn.exec_driver_sql(sql, tuple(params)):
            hours = by_key[(tenant, dim, key)]
            if last is not None and last > hours[0][0]:
                late.extend(((tenant, dim, key, hour), counts) for hour, counts in hours)
                continue
            total = [int(c or 0) for c in before]
            for hour, counts in hours:
                total = [a + b for a, b in zip(total, counts, strict=True)]
                fresh.append((tenant, dim, key, hour, *total))
    if fresh:
        conn.exec_driver_sql(
            f"INSERT INTO running_totals (tenant, dim, key, hour, {', '.join(_CS)}) VALUES ({', '.join([m] * 10)}) "
            f"ON CONFLICT (tenant, dim, key, hour) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _CS)}",
            fresh,
        )
    if late:
        conn.exec_driver_sql(  # add to the hour and every later one of the key ...
            f"UPDATE running_totals SET {', '.join(f'{c} = {c} + {m}' for c in _CS)} WHERE tenant = {m} AND dim = {m} "
            f"AND key = {m} AND hour >= {m}",
            [(*v, *k) for k, v in late],
        )
        prior = (
            f"SELECT MAX(x.hour) FROM running_totals x WHERE x.tenant = {m} AND x.dim = {m} AND x.key = {m} "
            f"AND x.hour < {m}"
        )
        conn.exec_driver_sql(  # ... and start an hour not kept yet from the total of the key's hour before it
            f"INSERT INTO running_totals (tenant, dim, key, hour, {', '.join(_CS)}) SELECT {m}, {m}, {m}, {m}, "
            f"{', '.join(f'{m} + COALESCE(p.{c}, 0)' for c in _CS)} FROM (SELECT 1 AS one) o LEFT JOIN running_totals "
            f"p ON p.tenant = {m} AND p.dim = {m} AND p.key = {m} AND p.hour = ({prior}) WHERE 1 = 1 "
            "ON CONFLICT (tenant, dim, key, hour) DO NOTHING",
            [(*k, *v, *k[:3], *k) for k, v in late],
        )


def backfill(conn: Connection, mark: str, upto_seq: int, batch: int = 50_000) -> int:
    """Fold the events the rules engine has already folded (seq <= `upto_seq`) into the dashboard tables: what
    the migration that adds them runs once. Returns how many events it folded."""
    c = t.events.c
    cals = calendars(conn)
    cols = (c.seq, c.tenant, c.type, c.occurred_us, c.actor_email, c.actor_id, c.business_unit, c.ip_address,
            c.country, c.asn)  # fmt: skip
    after, done = 0, 0
    while after < upto_seq:
        q = select(*cols).where(c.seq > after, c.seq <= upto_seq).order_by(c.seq).limit(batch)
        found = conn.execute(q).all()
        if not found:
            break
        after = int(found[-1][0])
        rows: list[Row] = [
            (r[1], r[2], r[3], r[4] or r[5], r[5], r[6], r[7], r[8], r[9])
            for r in found
            if not r[2].startswith("alert.")
        ]
        write_levels(conn, mark, fold_levels(rows, cals))
        done += len(rows)
    return done


@dataclass(frozen=True, slots=True)
class Span:
    tenant: str
    actor: str
    net: str
    country: str
    asn: str | None
    first_us: int
    last_us: int


class InsightSql:
    """Mixin for SqlStore: keeping the dashboard tables with the fold, and the reads the dashboard makes."""

    engine: Any
    _sql: Any

    def _apply_insights(self, conn: Connection, events: Sequence[Event]) -> None:
        """Called by `apply_rollups` inside its transaction."""
        rows = event_rows(events)
        if rows:
            write_levels(conn, self._sql.mark, fold_levels(rows, calendars(conn)))

    # -- tenants, business units, countries: pieces of hours, days and periods ---------------------------------
    def level_totals(
        self, scope: Scope, dim: str, types: Sequence[str], lo: int, hi: int, key: str | None = None
    ) -> dict[tuple[str, str, str], int]:
        """Events per (tenant, type, key) of `dim` over whole hours [lo, hi) (minutes), of `types` ("*": every
        type; dim c keeps only that)."""
        r = t.rollup_levels.c
        out: dict[tuple[str, str, str], int] = {}
        with self.engine.connect() as conn:
            slugs = _slugs(conn, scope)
            for level, first, end in _hourly(pieces(lo, hi)):
                where = [r.tenant.in_(slugs), r.dim == dim, r.type.in_(list(types)), r.level == level]
                where += [r.bucket >= first, r.bucket < end]
                if key is not None:
                    where.append(r.key == key)
                q = select(r.tenant, r.type, r.key, func.sum(r.n)).where(*where).group_by(r.tenant, r.type, r.key)
                for tenant, type_, k, n in _rows(conn, q):
                    ck = (tenant, type_, k)
                    out[ck] = out.get(ck, 0) + int(n)
        return out

    def level_series(
        self, scope: Scope, dim: str, types: Sequence[str], step: int, lo: int, hi: int, key: str | None = None
    ) -> dict[tuple[str, int], int]:
        """Events per (type, bucket start minute) in buckets of `step` minutes (5, 60 or 1440) over [lo, hi);
        5-minute buckets are summed from the per-minute rollups."""
        c: Any
        if step in (HOUR, DAY):
            c = t.rollup_levels.c
            bucket = c.bucket
            where = [c.level == ("h" if step == HOUR else "d"), c.bucket >= lo // step, c.bucket < -(-hi // step)]
        else:
            c = t.rollups.c
            bucket = c.minute // step
            where = [c.minute >= lo, c.minute < hi]
        b = bucket.label("b")
        with self.engine.connect() as conn:
            where += [c.tenant.in_(_slugs(conn, scope)), c.dim == dim, c.type.in_(list(types))]
            if key is not None:
                where.append(c.key == key)
            q = select(c.type, b, func.sum(c.n)).where(*where).group_by(c.type, b)
            return {(type_, int(k) * step): int(n) for type_, k, n in _rows(conn, q)}

    # -- actors and networks: running totals -------------------------------------------------------------------
    def actor_ranks(self, scope: Scope, lo: int, hi: int, limit: int) -> dict[tuple[str, str], tuple[int, int]]:
        """(sent, signed) over whole hours [lo, hi) (minutes) of the `limit` actors who sent the most and the
        `limit` who signed the most (ties: by the other count, then by name), ranked by the database. An actor
        last seen before the window's end (any window ending now) takes its all-time counts for the end: one
        lookup per actor, none when it began inside the window."""
        a, r = t.actors.c, t.running_totals.c

        def at(end: int) -> Any:
            latest = select(r.c1 * _PACK + r.c2).where(
                r.tenant == a.tenant, r.dim == "a", r.key == a.actor, r.hour < end
            )
            return func.coalesce(latest.order_by(r.hour.desc()).limit(1).scalar_subquery(), 0)

        from_us_, to_us_ = lo * MINUTE_US, hi * MINUTE_US
        end = case((a.last_us < to_us_, a.sent * _PACK + a.signed), else_=at(hi // HOUR))
        start = case((a.first_us >= from_us_, 0), else_=at(lo // HOUR))
        with self.engine.connect() as conn:
            where = [a.tenant.in_(_slugs(conn, scope)), a.last_us >= from_us_, a.first_us < to_us_]
            window = (
                select(a.tenant, a.actor, (end - start).label("p"))
                .where(*where, (a.sent > 0) | (a.signed > 0))
                .cte("w")
                .prefix_with("MATERIALIZED")  # computed once for both rankings
            )
            sent, signed = window.c.p // _PACK, window.c.p % _PACK
            tops = [
                select(window.c.tenant, window.c.actor, window.c.p)
                .where(first > 0)
                .order_by(first.desc(), then.desc(), window.c.tenant, window.c.actor)
                .limit(limit)
                .subquery()
                for first, then in ((sent, signed), (signed, sent))
            ]
            q = union_all(*(select(top.c.tenant, top.c.actor, top.c.p) for top in tops))
            return {(tenant, actor): (int(p) // _PACK, int(p) % _PACK) for tenant, actor, p in _rows(conn, q)}

    def actor_counts(
        self, scope: Scope, lo: int, hi: int, actors: Sequence[str] | None = None
    ) -> dict[tuple[str, str], list[int]]:
        """COUNTERS per actor over whole hours [lo, hi) (minutes), of actors with events in it (of `actors`)."""
        a, r = t.actors.c, t.running_totals
        end, start = r.alias("e"), r.alias("s")

        def joined(row: Any, bound: int) -> Any:
            latest = (
                select(func.max(r.c.hour))
                .where(r.c.tenant == a.tenant, r.c.dim == "a", r.c.key == a.actor, r.c.hour < bound)
                .scalar_subquery()
            )
            return (row.c.tenant == a.tenant) & (row.c.dim == "a") & (row.c.key == a.actor) & (row.c.hour == latest)

        cols = [getattr(row.c, f"c{i}") for row in (end, start) for i in range(6)]
        out: dict[tuple[str, str], list[int]] = {}
        with self.engine.connect() as conn:
            where = [a.tenant.in_(_slugs(conn, scope)), a.last_us >= lo * MINUTE_US, a.first_us < hi * MINUTE_US]
            if actors is not None:
                where.append(a.actor.in_(list(actors)))
            q = (
                select(a.tenant, a.actor, *cols)
                .select_from(t.actors)
                .outerjoin(end, joined(end, hi // HOUR))
                .outerjoin(start, joined(start, lo // HOUR))
                .where(*where)
            )
            for tenant, actor, *ns in _rows(conn, q):
                counts = [(ns[i] or 0) - (ns[i + 6] or 0) for i in range(6)]
                if counts[0]:
                    out[(tenant, actor)] = counts
        return out

    def top_networks(self, scope: Scope, lo: int, hi: int, limit: int) -> list[tuple[str, int]]:
        """The `limit` networks with the most events over whole hours [lo, hi) (minutes), summed over the scope's
        tenants, most first: ranked by the database. A network first seen inside the window counts its events up
        to the window's end, one last seen before the end (any window ending now) its all-time events since the
        start: one lookup, or none."""
        s, r = t.actor_net_spans.c, t.running_totals.c
        from_us_, to_us_ = lo * MINUTE_US, hi * MINUTE_US

        def at(hour: int) -> Any:
            latest = select(r.c0).where(r.tenant == s.tenant, r.dim == "n", r.key == s.net, r.hour < hour)
            return func.coalesce(latest.order_by(r.hour.desc()).limit(1).scalar_subquery(), 0)

        first, last = func.min(s.first_us), func.max(s.last_us)
        count = case((last < to_us_, func.sum(s.n)), else_=at(hi // HOUR)) - case(
            (first >= from_us_, 0), else_=at(lo // HOUR)
        )
        with self.engine.connect() as conn:
            per_tenant = (
                select(s.net, count.label("n"))
                .where(s.tenant.in_(_slugs(conn, scope)), s.actor == "", s.net != "")
                .group_by(s.tenant, s.net)
                .having((last >= from_us_) & (first < to_us_))
                .subquery()
            )
            total = func.sum(per_tenant.c.n)
            q = (
                select(per_tenant.c.net, total)
                .group_by(per_tenant.c.net)
                .having(total > 0)
                .order_by(total.desc(), per_tenant.c.net)
                .limit(limit)
            )
            return [(net, int(n)) for net, n in _rows(conn, q)]

    def actor_series(self, tenant: str, actor: str, step: int, lo: int, hi: int) -> dict[int, list[int]]:
        """One actor's [events, sent, signed, declined, voided] per bucket start minute, buckets of `step`."""
        out: dict[int, list[int]] = {}
        with self.engine.connect() as conn:
            if step >= HOUR:
                r = t.running_totals.c
                key = [r.tenant == tenant, r.dim == "a", r.key == actor]
                cs = [r.c0, r.c1, r.c2, r.c3, r.c4]
                start = select(*cs).where(*key, r.hour < lo // HOUR).order_by(r.hour.desc()).limit(1)
                before: Sequence[int] = next(iter(_rows(conn, start)), (0, 0, 0, 0, 0))
                q = select(r.hour, *cs).where(*key, r.hour >= lo // HOUR, r.hour < hi // HOUR).order_by(r.hour)
                for hour, *now in _rows(conn, q):
                    bucket = hour * HOUR // step * step
                    counts = out.setdefault(bucket, [0] * 5)
                    for i in range(5):
                        counts[i] += now[i] - before[i]
                    before = now
                return out
            c = t.rollups.c
            types, last = [], ""  # the types the tenant's actors have (one index step each): the key leads with type
            while (
                last := conn.execute(
                    select(func.min(c.type)).where(c.tenant == tenant, c.dim == "a", c.type > last)
                ).scalar()
            ) is not None:
                types.append(last)
            b = (c.minute // step).label("b")
            q2 = (
                select(c.type, b, func.sum(c.n))
                .where(c.tenant == tenant, c.dim == "a", c.type.in_(types), c.minute >= lo, c.minute < hi)
                .where(c.key == actor)
                .group_by(c.type, b)
            )
            for type_, bucket, n in _rows(conn, q2):
                counts = out.setdefault(int(bucket) * step, [0] * 5)
                counts[0] += int(n)
                if type_ in STEPS:
                    counts[STEPS.index(type_) + 1] += int(n)
        return out

    def find_actor(self, scope: Scope, user: str) -> list[tuple[str, str, int]]:
        """(tenant, actor key, events all time) of the actors `user` names: their key (e-mail, or id without
        one) or their id."""
        a = t.actors.c
        with self.engine.connect() as conn:
            slugs = _slugs(conn, scope)
            for match in (a.actor == user, a.actor_id == user):
                found = [
                    (tenant, actor, int(n))
                    for tenant, actor, n in _rows(
                        conn, select(a.tenant, a.actor, a.events).where(a.tenant.in_(slugs), match)
                    )
                ]
                if found:
                    return found
        return []

    # -- places ---------------------------------------------------------------------------------------------------
    def place_users(
        self, scope: Scope, from_us: int, to_us: int, by: str, keys: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Distinct users per country (`by` "country") or network ("net") with events in [from, to) (whole
        hours), of `keys` or all."""
        s = t.actor_net_spans.c
        column = s.country if by == "country" else s.net
        where = [column != ""] if keys is None else [column.in_(list(keys))]
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            q = (
                select(column, func.count(func.distinct(s.actor)))
                .where(*self._used(conn, scope, from_us, to_us), *where)
                .group_by(s.tenant, column)  # a user is an actor of a tenant: distinct per tenant, then added up
            )
            for key, n in _rows(conn, q):
                out[key] = out.get(key, 0) + int(n)
        return out

    def actor_places(
        self, scope: Scope, from_us: int, to_us: int, actors: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(countries, networks) each of `actors` acted from in [from, to) (whole hours)."""
        s = t.actor_net_spans.c
        countries = func.count(func.distinct(s.country)) - func.max(case((s.country == "", 1), else_=0))
        nets = func.count(func.distinct(s.net)) - func.max(case((s.net == "", 1), else_=0))
        with self.engine.connect() as conn:
            where = [*self._used(conn, scope, from_us, to_us), s.actor.in_(list(actors))]
            q = select(s.tenant, s.actor, countries, nets).where(*where).group_by(s.tenant, s.actor)
            return {(tenant, actor): (int(c), int(n)) for tenant, actor, c, n in _rows(conn, q)}

    def _used(self, conn: Connection, scope: Scope, from_us: int, to_us: int) -> list[Any]:
        """Conditions on `actor_net_spans`: an actor's (network, country) with events in [from, to)."""
        s, h = t.actor_net_spans.c, t.actor_nets.c
        used = (
            select(1)
            .where(h.tenant == s.tenant, h.actor == s.actor, h.net == s.net, h.country == s.country)
            .where(h.hour >= from_us // HOUR_US, h.hour < -(-to_us // HOUR_US))
            .exists()
        )
        # A pair first or last seen inside the window was used in it; only the others need a look at the hours.
        return [
            s.tenant.in_(_slugs(conn, scope)),
            s.actor != "",
            s.first_us < to_us,
            s.last_us >= from_us,
            (s.first_us >= from_us) | (s.last_us < to_us) | used,
        ]

    def spans(self, scope: Scope, actor: str = "", nets: Sequence[str] | None = None) -> list[Span]:
        """First and last use of each network and country by `actor` ("": anyone of the tenant), all time."""
        s = t.actor_net_spans.c
        where = [s.actor == actor]
        if nets is not None:
            where.append(s.net.in_(list(nets)))
        with self.engine.connect() as conn:
            where.append(s.tenant.in_(_slugs(conn, scope)))
            q = select(s.tenant, s.actor, s.net, s.country, s.asn, s.first_us, s.last_us).where(*where)
            return [Span(*r) for r in _rows(conn, q)]

    def country_firsts(self, scope: Scope) -> dict[str, int]:
        """When each country was first seen (µs) in the scope's tenants."""
        s = t.actor_net_spans.c
        with self.engine.connect() as conn:
            where = [s.tenant.in_(_slugs(conn, scope)), s.actor == "", s.country != ""]
            q = select(s.country, func.min(s.first_us)).where(*where).group_by(s.country)
            return {country: int(first) for country, first in _rows(conn, q)}

    def actor_net_counts(self, tenant: str, actor: str, from_us: int, to_us: int) -> dict[tuple[str, str], int]:
        """One actor's events per (network, country) in [from, to) (whole hours)."""
        h = t.actor_nets.c
        q = (
            select(h.net, h.country, func.sum(h.n))
            .where(h.tenant == tenant, h.actor == actor, h.hour >= from_us // HOUR_US, h.hour < -(-to_us // HOUR_US))
            .group_by(h.net, h.country)
        )
        with self.engine.connect() as conn:
            return {(net, country): int(n) for net, country, n in _rows(conn, q)}

    # -- retention --------------------------------------------------------------------------------------------------
    def purge_insights(self, tenant: str, before_us: int) -> int:
        """Forget `tenant`'s dashboard rows before `before_us` (whole hours), as retention purges its rollups.
        A key's running total keeps its last hour before the cut: later totals stay right. Actors and their
        networks' first and last use are kept (all time). Returns the rows deleted."""
        hour = before_us // HOUR_US
        r, h, x = t.rollup_levels.c, t.actor_nets.c, t.running_totals.alias("x")
        kept = (
            select(func.max(x.c.hour))
            .where(x.c.tenant == t.running_totals.c.tenant, x.c.dim == t.running_totals.c.dim)
            .where(x.c.key == t.running_totals.c.key, x.c.hour < hour)
            .scalar_subquery()
        )
        rc = t.running_totals.c
        done = 0
        with self._writing() as conn:  # type: ignore[attr-defined]
            for level, size in LEVELS:
                cut = hour * HOUR // size  # buckets wholly before the cut
                done += (
                    conn.execute(
                        delete(t.rollup_levels).where(r.tenant == tenant, r.level == level, r.bucket < cut)
                    ).rowcount
                    or 0
                )
            done += conn.execute(delete(t.actor_nets).where(h.tenant == tenant, h.hour < hour)).rowcount or 0
            done += conn.execute(delete(t.running_totals).where(rc.tenant == tenant, rc.hour < kept)).rowcount or 0
        return int(done)

    # -- alerts --------------------------------------------------------------------------------------------------
    def open_alert_summary(self, scope: Scope, latest: int = 5) -> tuple[dict[str, int], list[AlertRecord]]:
        """Open (and acknowledged) alerts: how many per severity, and the latest fired."""
        from signwatch.store.alerts_sql import _alert

        c = t.alerts.c
        with self.engine.connect() as conn:
            where = [c.tenant.in_(_slugs(conn, scope)), c.state.in_(("open", "acknowledged"))]
            by = select(c.severity, func.count()).where(*where).group_by(c.severity)
            counts = {severity: int(n) for severity, n in conn.execute(by)}
            rows = conn.execute(select(t.alerts).where(*where).order_by(c.fired_us.desc(), c.seq.desc()).limit(latest))
            return counts, [_alert(r) for r in rows]

    def alerts_of_groups(self, scope: Scope, group_keys: Sequence[str], from_us: int, to_us: int) -> list[AlertRecord]:
        """Alerts, in any state, fired in [from, to) for one of `group_keys`, oldest first."""
        from signwatch.store.alerts_sql import _alert

        if not group_keys:
            return []
        c = t.alerts.c
        with self.engine.connect() as conn:
            where = [c.tenant.in_(_slugs(conn, scope)), c.fired_us >= from_us, c.fired_us < to_us]
            where.append(c.group_key.in_(list(group_keys)))
            return [_alert(r) for r in conn.execute(select(t.alerts).where(*where).order_by(c.fired_us, c.seq))]


def _hourly(parts: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    if any(level == "m" for level, _, _ in parts):
        raise ValueError("the dashboard tables are kept per hour: a window must be whole hours")
    return parts


def _slugs(conn: Connection, scope: Scope) -> list[str]:
    """The scope's tenants, listed even for "every tenant": the tables' keys start with the tenant."""
    if scope.tenants is not None:
        return sorted(scope.tenants)
    return [slug for (slug,) in conn.execute(select(t.tenants.c.slug).order_by(t.tenants.c.slug))]


def _rows(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """A query's rows as the driver's plain tuples (its compiled form cached as usual): thousands of rows
    without building a Row object for each."""
    result = conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
