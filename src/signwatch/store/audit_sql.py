"""The SQL store's governance records: the hash-chained audit trail, per-tenant retention, and purges."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from signwatch.audit import GENESIS, AuditRecord, chain
from signwatch.events import from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import RetentionRecord

_PURGE_CHUNK = 5000


class AuditSql:
    """Mixin for SqlStore (which provides `engine` and `_writing`)."""

    engine: Any

    def append_audit(self, records: Sequence[AuditRecord]) -> list[AuditRecord]:
        """Append `records` to the chain (under the write lock: one order on every backend)."""
        c = t.audit_log.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            last = conn.execute(select(c.hash).order_by(c.seq.desc()).limit(1)).scalar()
            linked = chain(records, last or GENESIS)
            for r in linked:
                conn.execute(
                    insert(t.audit_log).values(
                        at_us=to_us(r.at),
                        actor=r.actor,
                        actor_id=r.actor_id,
                        action=r.action,
                        tenant=r.tenant,
                        target=r.target,
                        params=json.dumps(r.params, sort_keys=True, default=str),
                        result_count=r.result_count,
                        status=r.status,
                        prev_hash=r.prev_hash,
                        hash=r.hash,
                    )
                )
        return linked

    def read_audit(self, after_seq: int, limit: int, tenants: frozenset[str] | None = None) -> list[AuditRecord]:
        c = t.audit_log.c
        q = select(t.audit_log).where(c.seq > after_seq)
        if tenants is not None:
            q = q.where(c.tenant.in_(sorted(tenants)))
        with self.engine.connect() as conn:
            return [_audit(r) for r in conn.execute(q.order_by(c.seq).limit(limit))]

    def iter_audit(self, batch: int = 5000) -> Iterator[list[AuditRecord]]:
        after = 0
        while True:
            page = self.read_audit(after, batch)
            if not page:
                return
            yield page
            after = page[-1].seq or after

    # -- retention -----------------------------------------------------------------------------------------
    def get_retention(self, tenant: str) -> RetentionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.retention).where(t.retention.c.tenant == tenant)).first()
        if row is None:
            return None
        return RetentionRecord(row.tenant, row.events_days, row.deliveries_days, row.alerts_days, row.legal_hold)

    def set_retention(self, record: RetentionRecord, at: datetime) -> None:
        values = {
            "events_days": record.events_days,
            "deliveries_days": record.deliveries_days,
            "alerts_days": record.alerts_days,
            "legal_hold": record.legal_hold,
            "updated_us": to_us(at),
        }
        with self._writing() as conn:  # type: ignore[attr-defined]
            c = t.retention.c
            if not conn.execute(t.retention.update().where(c.tenant == record.tenant).values(**values)).rowcount:
                conn.execute(insert(t.retention).values(tenant=record.tenant, **values))

    def purge(self, table: str, tenant: str, before: datetime) -> int:
        """Delete `tenant`'s rows of `table` (events, deliveries, alerts, rollups) older than `before`, in
        chunks (short write transactions: ingest keeps going); returns how many."""
        spec = {
            "events": (t.events, t.events.c.occurred_us, t.events.c.seq),
            "deliveries": (t.deliveries, t.deliveries.c.received_us, t.deliveries.c.id),
            "alerts": (t.alerts, t.alerts.c.fired_us, t.alerts.c.seq),
        }
        total = 0
        if table == "rollups":
            with self._writing() as conn:  # type: ignore[attr-defined]
                c = t.rollups.c
                cut = to_us(before) // 60_000_000
                total = conn.execute(delete(t.rollups).where(c.tenant == tenant, c.minute < cut)).rowcount or 0
                s = t.sightings.c
                conn.execute(delete(t.sightings).where(s.tenant == tenant, s.day < cut // 1440))
            # the dashboard's hourly/daily levels and running totals go with the rollups they summarise
            return int(total) + self.purge_insights(tenant, to_us(before))  # type: ignore[attr-defined]
        tbl, when, key = spec[table]
        while True:
            with self._writing() as conn:  # type: ignore[attr-defined]
                keys = [
                    r[0]
                    for r in conn.execute(
                        select(key).where(tbl.c.tenant == tenant, when < to_us(before)).limit(_PURGE_CHUNK)
                    )
                ]
                if keys:
                    conn.execute(delete(tbl).where(key.in_(keys)))
            total += len(keys)
            if len(keys) < _PURGE_CHUNK:
                return total


def _audit(row: Any) -> AuditRecord:
    return AuditRecord(
        at=from_us(row.at_us),
        actor=row.actor,
        actor_id=row.actor_id,
        action=row.action,
        tenant=row.tenant,
        target=row.target,
        params=json.loads(row.params),
        result_count=row.result_count,
        status=row.status,
        seq=row.seq,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
