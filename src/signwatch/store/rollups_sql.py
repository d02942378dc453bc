"""The SQL store's rule inputs (design §7): per-minute rollups and network sightings, and the window reads.

The rules engine reads the event log in ingestion order and folds each page into `rollups` (counts per
minute of event time, by tenant, actor, business unit and country) and `sightings` (the first time each day
an actor used a network), committing its log position in the same transaction: counted once, never lost.
Rules read windows back through the functions below, whatever the order events arrived in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from signwatch.events import Event, to_us
from signwatch.store import schema as t

MINUTE_US = 60_000_000
DAY_US = 86_400_000_000
DIMS = {"tenant": "t", "actor": "a", "businessUnit": "b", "country": "c"}
# Rule filter field → events column.
FILTER_COLUMNS = {
    "businessUnit": "business_unit",
    "country": "country",
    "source": "source",
    "clientReferenceId": "client_reference_id",
    "asn": "asn",
    "network": "network",
    "ipAddress": "ip_address",
}


def actor_key(e: Event) -> str | None:
    return e.actor.email or e.actor.id


def network_keys(ip: str | None, asn: str | None) -> list[str]:
    """The networks an address belongs to, as sighting keys: its prefix (/24 or /48) and its AS."""
    out: list[str] = []
    if ip:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            addr = None
        if addr is not None:
            bits = 24 if addr.version == 4 else 48
            out.append(f"p:{ipaddress.ip_network(f'{addr}/{bits}', strict=False)}")
    if asn:
        out.append(f"a:{asn}")
    return out


@dataclass(frozen=True, slots=True)
class Sighting:
    actor: str
    net: str
    day: int
    first_us: int
    ip_address: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class EnvelopeSpan:
    envelope_id: str
    group: str
    sent_us: int
    done_us: int | None


def fold(events: Iterable[Event]) -> tuple[dict[tuple[str, str, str, int, str], int], dict[tuple, tuple]]:
    """Rollup increments and earliest sightings of a page of events (alert.* events are not counted)."""
    counts: dict[tuple[str, str, str, int, str], int] = {}
    seen: dict[tuple[str, str, str, int], tuple[int, str | None, str | None]] = {}
    for e in events:
        if e.type.startswith("alert."):
            continue
        occurred = to_us(e.occurred_at)
        minute = occurred // MINUTE_US
        actor = actor_key(e)
        for dim, key in (("t", ""), ("a", actor), ("b", e.business_unit), ("c", e.geo.country)):
            if key is not None:
                k = (e.tenant, dim, e.type, minute, key)
                counts[k] = counts.get(k, 0) + 1
        day = occurred // DAY_US
        for net in network_keys(e.ip_address, e.geo.asn):
            for who in ("", actor) if actor else ("",):
                sk = (e.tenant, who, net, day)
                if sk not in seen or occurred < seen[sk][0]:
                    seen[sk] = (occurred, e.ip_address, e.geo.country)
    return counts, seen


class RollupSql:
    """Mixin for SqlStore: folding the log into rollups, and the reads rule kinds need."""

    engine: Any
    _sql: Any
    dialect: str

    def _put_position(self, conn: Connection, name: str, value: str, now_us: int) -> None: ...

    def apply_rollups(self, events: Sequence[Event], positions: Sequence[tuple[str, str]], now_us: int) -> None:
        counts, seen = fold(events)
        m = self._sql.mark
        with self._writing() as conn:  # type: ignore[attr-defined]
            if counts:
                conn.exec_driver_sql(
                    f"INSERT INTO rollups (tenant, dim, type, minute, key, n) VALUES ({m}, {m}, {m}, {m}, {m}, {m}) "
                    "ON CONFLICT (tenant, dim, type, minute, key) DO UPDATE SET n = rollups.n + excluded.n",
                    [(*k, n) for k, n in counts.items()],
                )
            if seen:
                conn.exec_driver_sql(
                    "INSERT INTO sightings (tenant, actor, net, day, first_us, ip_address, country) "
                    f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}) "
                    "ON CONFLICT (tenant, actor, net, day) DO UPDATE SET first_us = excluded.first_us, "
                    "ip_address = excluded.ip_address, country = excluded.country "
                    "WHERE excluded.first_us < sightings.first_us",
                    [(*k, *v) for k, v in seen.items()],
                )
            self._apply_insights(conn, events)  # type: ignore[attr-defined]  # the dashboard's coarse levels
            for name, value in positions:
                self._put_position(conn, name, value, now_us)

    def minute_counts(
        self,
        tenant: str,
        types: Sequence[str],
        group: str,
        start_minute: int,
        end_minute: int,
        flt: dict[str, Any] | None = None,
        *,
        per_hour: bool = False,
    ) -> dict[tuple[str, str], dict[int, int]]:
        """Counts of `types` per (type, group key) per minute (or hour) of event time in [start, end)."""
        out: dict[tuple[str, str], dict[int, int]] = {}
        if flt:
            rows = self._counts_from_events(tenant, types, group, start_minute, end_minute, flt)
        else:
            c = t.rollups.c
            where = [c.tenant == tenant, c.dim == DIMS[group], c.minute >= start_minute, c.minute < end_minute]
            if types:
                where.append(c.type.in_(list(types)))
            if per_hour:  # summed by the database: 60 times fewer rows for the 4-week baselines
                hour = (c.minute // 60).label("hour")
                q = select(c.type, c.key, hour, func.sum(c.n)).where(*where).group_by(c.type, c.key, hour)
            else:
                q = select(c.type, c.key, c.minute, c.n).where(*where)
            with self.engine.connect() as conn:
                rows = [(r[0], r[1], int(r[2]) * (60 if per_hour else 1), int(r[3])) for r in conn.execute(q)]
        for type_, key, minute, n in rows:
            slot = minute // 60 if per_hour else minute
            bucket = out.setdefault((type_ if types else "*", key if group != "tenant" else tenant), {})
            bucket[slot] = bucket.get(slot, 0) + n
        return out

    def _counts_from_events(
        self, tenant: str, types: Sequence[str], group: str, start_minute: int, end_minute: int, flt: dict[str, Any]
    ) -> list[tuple[str, str, int, int]]:
        c = t.events.c
        key_col = {
            "tenant": c.tenant,
            "actor": c.actor_email,
            "businessUnit": c.business_unit,
            "country": c.country,
        }[group]
        q = select(c.type, key_col, c.actor_id, c.occurred_us).where(
            c.tenant == tenant,
            c.occurred_us >= start_minute * MINUTE_US,
            c.occurred_us < end_minute * MINUTE_US,
        )
        if types:
            q = q.where(c.type.in_(list(types)))
        for name, wanted in flt.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if name == "actor":
                q = q.where((c.actor_email.in_([v.lower() for v in values])) | (c.actor_id.in_(values)))
            else:
                q = q.where(getattr(c, FILTER_COLUMNS[name]).in_(values))
        counts: dict[tuple[str, str, int], int] = {}
        with self.engine.connect() as conn:
            for type_, key, actor_id, occurred in conn.execute(q):
                key = key if key is not None else (actor_id if group == "actor" else None)
                if key is None and group != "tenant":
                    continue
                k = (type_, key or "", occurred // MINUTE_US)
                counts[k] = counts.get(k, 0) + 1
        return [(k[0], k[1], k[2], n) for k, n in counts.items()]

    def sightings_between(self, tenant: str, first_day: int, last_day: int, kind: str) -> list[Sighting]:
        """Sightings of `tenant` on days [first, last] of network kind `p` (prefix) or `a` (AS)."""
        c = t.sightings.c
        q = select(c.actor, c.net, c.day, c.first_us, c.ip_address, c.country).where(
            c.tenant == tenant, c.day >= first_day, c.day <= last_day, c.net.like(f"{kind}:%")
        )
        with self.engine.connect() as conn:
            return [Sighting(*row) for row in conn.execute(q)]

    def envelope_spans(self, tenant: str, group: str, sent_from_us: int, sent_to_us: int) -> list[EnvelopeSpan]:
        """Envelopes sent in [from, to) with when they finished (None: not yet), keyed by `group`."""
        c = t.envelopes.c
        key_col = {"tenant": c.tenant, "actor": c.sender_email, "businessUnit": c.business_unit}.get(group, c.tenant)
        q = select(c.envelope_id, key_col, c.sender_id, c.sent_us, c.completed_us).where(
            c.tenant == tenant, c.sent_us >= sent_from_us, c.sent_us < sent_to_us
        )
        out: list[EnvelopeSpan] = []
        with self.engine.connect() as conn:
            for envelope_id, key, sender_id, sent, done in conn.execute(q):
                key = key or (sender_id if group == "actor" else None)
                if key is None:
                    continue
                out.append(EnvelopeSpan(envelope_id, key, sent, done))
        return out

    def events_between(
        self,
        tenant: str,
        types: Sequence[str],
        from_us_: int,
        to_us_: int,
        limit: int = 2000,
        group: str = "tenant",
        key: str | None = None,
    ) -> list[Event]:
        """Events of `tenant` (of `types`, or all; of one group key) with event time in [from, to): evidence."""
        from signwatch.store.sql import _event  # the one row → Event mapping

        c = t.events.c
        q = select(t.events).where(c.tenant == tenant, c.occurred_us >= from_us_, c.occurred_us < to_us_)
        if types:
            q = q.where(c.type.in_(list(types)))
        if key is not None and group == "actor":
            q = q.where((c.actor_email == key) | (c.actor_id == key))
        elif key is not None and group in ("businessUnit", "country"):
            q = q.where((c.business_unit if group == "businessUnit" else c.country) == key)
        q = q.order_by(c.occurred_us).limit(limit)
        with self.engine.connect() as conn:
            return [_event(r) for r in conn.execute(q)]
