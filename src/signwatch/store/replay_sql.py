"""The SQL store's replay support (DESIGN.md §6): archived deliveries read back in order, and the
re-normalized events applied in place (same id, same seq) — what `signwatch replay` runs after a bad deploy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from signwatch.events import Event, to_us, utcnow
from signwatch.store import schema as t
from signwatch.store.base import DeliveryRecord, StoreUnavailable


class ReplaySql:
    """Mixin for SqlStore (which provides `engine`, `_writing`, `_sql` and `_advance_envelopes`)."""

    engine: Any
    _sql: Any

    def iter_deliveries(
        self, received_from: datetime, received_to: datetime, tenant: str | None, batch: int = 5000
    ) -> Iterator[list[DeliveryRecord]]:
        from signwatch.store.sql import _delivery  # the one row -> record mapping

        c = t.deliveries.c
        lo, hi = to_us(received_from), to_us(received_to)
        after: tuple[int, str] = (lo - 1, "")
        while True:
            q = select(t.deliveries).where(
                c.received_us <= hi,
                or_(c.received_us > after[0], and_(c.received_us == after[0], c.id > after[1])),
                c.received_us >= lo,
            )
            if tenant is not None:
                q = q.where(c.tenant == tenant)
            with self.engine.connect() as conn:
                rows = conn.execute(q.order_by(c.received_us, c.id).limit(batch)).all()
            if not rows:
                return
            yield [_delivery(r) for r in rows]
            after = (rows[-1].received_us, rows[-1].id)

    def apply_replay(self, events: Sequence[Event]) -> tuple[int, int, int]:
        """Insert events not yet stored and re-normalize stored ones in place (same id, same seq).

        Returns (inserted, updated, unchanged). Running it twice changes nothing the second time.
        """
        from signwatch.store.sql import _chunks, _event_row

        if not events:
            return (0, 0, 0)
        now_us = to_us(utcnow())
        unique = list({e.id: e for e in events}.values())
        try:
            with self._writing() as conn:  # type: ignore[attr-defined]
                stored: dict[str, Any] = {}
                for chunk in _chunks([e.id for e in unique]):
                    for row in conn.execute(select(t.events).where(t.events.c.id.in_(chunk))):
                        stored[row.id] = row
                fresh = [e for e in unique if e.id not in stored]
                updates = []
                for e in unique:
                    if e.id not in stored:
                        continue
                    row = stored[e.id]
                    new = _event_row(e, row.ingested_us)
                    old = {k: getattr(row, k) for k in new}
                    if new != old:
                        updates.append(new)
                if fresh:
                    self._sql.insert_event.execute(conn, [_event_row(e, now_us) for e in fresh])
                for row_values in updates:
                    conn.execute(update(t.events).where(t.events.c.id == row_values["id"]).values(**row_values))
                if fresh or updates:
                    touched = [*fresh, *(e for e in unique if e.id in stored)]
                    self._advance_envelopes(conn, touched)  # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        return (len(fresh), len(updates), len(unique) - len(fresh) - len(updates))
