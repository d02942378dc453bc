"""The SQL store's hand-over records (design §2 export/): export jobs, forwarder checkpoints, and events
read back by event time for jobs (keyset over (occurred_us, seq), so memory stays flat in an export's size).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from signwatch.events import Event, from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import ExportJobRecord, ForwarderRecord, Scope


class ExportSql:
    """Mixin for SqlStore (which provides `engine` and `_writing`)."""

    engine: Any

    # -- export jobs -------------------------------------------------------------------------------------------
    def put_export_job(self, record: ExportJobRecord) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                insert(t.export_jobs).values(
                    id=record.id,
                    tenants=None if record.tenants is None else json.dumps(sorted(record.tenants)),
                    tenant=record.tenant,
                    format=record.format,
                    compression=record.compression,
                    from_us=to_us(record.occurred_from),
                    to_us=to_us(record.occurred_to),
                    status=record.status,
                    records=record.records,
                    files=json.dumps(record.files),
                    error=record.error,
                    created_by=record.created_by,
                    created_us=to_us(record.created_at) if record.created_at else 0,
                )
            )

    def get_export_job(self, job_id: str) -> ExportJobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.export_jobs).where(t.export_jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def claim_export_job(self) -> ExportJobRecord | None:
        """Take the oldest queued job (marking it running), or None."""
        c = t.export_jobs.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                select(t.export_jobs).where(c.status == "queued").order_by(c.created_us).limit(1)
            ).first()
            if row is None:
                return None
            now_us = to_us(datetime.now().astimezone())
            conn.execute(update(t.export_jobs).where(c.id == row.id).values(status="running", started_us=now_us))
        job = _job(row)
        return ExportJobRecord(**{**_fields(job), "status": "running", "started_at": from_us(now_us)})

    def finish_export_job(
        self, job_id: str, status: str, records: int, files: list[dict[str, Any]], error: str | None
    ) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(t.export_jobs)
                .where(t.export_jobs.c.id == job_id)
                .values(
                    status=status,
                    records=records,
                    files=json.dumps(files),
                    error=error,
                    finished_us=to_us(datetime.now().astimezone()),
                )
            )

    def iter_events_by_time(
        self, scope: Scope, occurred_from: datetime, occurred_to: datetime, tenant: str | None, batch: int = 5000
    ) -> Iterator[list[Event]]:
        """Events with event time in [from, to), in (event time, seq) order, `batch` at a time."""
        from signwatch.store.sql import _event

        c = t.events.c
        lo, hi = to_us(occurred_from), to_us(occurred_to)
        after = (lo - 1, 0)
        while True:
            q = select(t.events).where(
                c.occurred_us >= lo,
                c.occurred_us < hi,
                or_(c.occurred_us > after[0], and_(c.occurred_us == after[0], c.seq > after[1])),
            )
            if scope.tenants is not None:
                q = q.where(c.tenant.in_(sorted(scope.tenants)))
            if tenant is not None:
                q = q.where(c.tenant == tenant)
            with self.engine.connect() as conn:
                rows = conn.execute(q.order_by(c.occurred_us, c.seq).limit(batch)).all()
            if not rows:
                return
            yield [_event(r) for r in rows]
            after = (rows[-1].occurred_us, rows[-1].seq)

    def seq_before(self, ingested: datetime) -> int:
        """The last sequence number ingested before `ingested`: where a time-based cursor resumes after."""
        c = t.events.c
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(c.seq)).where(c.ingested_us < to_us(ingested))).scalar()
        return int(value or 0)

    def count_events_after(self, seq: int, tenant: str | None) -> int:
        c = t.events.c
        q = select(func.count()).select_from(t.events).where(c.seq > seq)
        if tenant is not None:
            q = q.where(c.tenant == tenant)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    # -- forwarders --------------------------------------------------------------------------------------------
    def get_forwarder(self, name: str) -> ForwarderRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.forwarders).where(t.forwarders.c.name == name)).first()
        return None if row is None else _forwarder(row)

    def list_forwarders(self) -> list[ForwarderRecord]:
        with self.engine.connect() as conn:
            return [_forwarder(r) for r in conn.execute(select(t.forwarders).order_by(t.forwarders.c.name))]

    def register_forwarder(self, record: ForwarderRecord) -> ForwarderRecord:
        """Create the forwarder, or update its sink and format keeping its checkpoint; returns what is kept."""
        c = t.forwarders.c
        now_us = to_us(datetime.now().astimezone())
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(
                update(t.forwarders)
                .where(c.name == record.name)
                .values(sink=record.sink, sink_display=record.sink_display, format=record.format, tenant=record.tenant)
            ).rowcount
            if not done:
                conn.execute(
                    insert(t.forwarders).values(
                        name=record.name,
                        sink=record.sink,
                        sink_display=record.sink_display,
                        format=record.format,
                        tenant=record.tenant,
                        position=record.position,
                        forwarded=0,
                        updated_us=now_us,
                    )
                )
            row = conn.execute(select(t.forwarders).where(c.name == record.name)).one()
        return _forwarder(row)

    def advance_forwarder(self, name: str, expected: int, position: int, count: int, at: datetime) -> bool:
        """Move the checkpoint from `expected` to `position` (after the sink acknowledged); False when another
        process moved it meanwhile (then this one must not resend or skip)."""
        c = t.forwarders.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(
                update(t.forwarders)
                .where(c.name == name, c.position == expected)
                .values(
                    position=position,
                    forwarded=c.forwarded + count,
                    last_ok_us=to_us(at),
                    last_error=None,
                    updated_us=to_us(at),
                )
            ).rowcount
        return bool(done)

    def forwarder_failed(self, name: str, error: str, at: datetime) -> None:
        c = t.forwarders.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(t.forwarders)
                .where(c.name == name)
                .values(last_error=error[:500], last_error_us=to_us(at), updated_us=to_us(at))
            )


def _opt(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _job(row: Any) -> ExportJobRecord:
    return ExportJobRecord(
        id=row.id,
        tenants=None if row.tenants is None else frozenset(json.loads(row.tenants)),
        tenant=row.tenant,
        format=row.format,
        compression=row.compression,
        occurred_from=from_us(row.from_us),
        occurred_to=from_us(row.to_us),
        status=row.status,
        records=row.records,
        files=json.loads(row.files),
        error=row.error,
        created_by=row.created_by,
        created_at=from_us(row.created_us),
        started_at=_opt(row.started_us),
        finished_at=_opt(row.finished_us),
    )


def _fields(job: ExportJobRecord) -> dict[str, Any]:
    return {name: getattr(job, name) for name in ExportJobRecord.__slots__}


def _forwarder(row: Any) -> ForwarderRecord:
    return ForwarderRecord(
        name=row.name,
        sink=row.sink,
        sink_display=row.sink_display,
        format=row.format,
        tenant=row.tenant,
        position=row.position,
        forwarded=row.forwarded,
        last_ok_at=_opt(row.last_ok_us),
        last_error=row.last_error,
        last_error_at=_opt(row.last_error_us),
        updated_at=_opt(row.updated_us),
    )
