"""The SQL store's replay support (DESIGN.md §6): archived deliveries read back in order, and the
re-normalized events applied in place (same id, same seq) — what `signwatch replay` runs after a bad deploy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

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

        lo, hi = to_us(received_from), to_us(received_to)
        after: tuple[int, str] = (lo - 1, "")
        m = self._sql.mark
        cols = ", ".join(c.name for c in t.deliveries.columns)
        where = f"received_us >= {m} AND received_us <= {m} AND (received_us > {m} OR (received_us = {m} AND id > {m}))"
        if tenant is not None:
            where += f" AND tenant = {m}"
        sql = f"SELECT {cols} FROM deliveries WHERE {where} ORDER BY received_us, id LIMIT {int(batch)}"
        while True:
            params = (lo, hi, after[0], after[0], after[1], *((tenant,) if tenant is not None else ()))
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(sql, params).all()
            if not rows:
                return
            yield [_delivery(r) for r in rows]
            after = (rows[-1][1], rows[-1][0])

    def apply_replay(self, events: Sequence[Event]) -> tuple[int, int, int]:
        """Insert events not yet stored and re-normalize stored ones in place (same id, same seq).

        Returns (inserted, updated, unchanged). Running it twice changes nothing the second time.
        """
        from signwatch.store.sql import _EVENT_COLUMNS, _chunks, _event_values

        if not events:
            return (0, 0, 0)
        now_us = to_us(utcnow())
        unique = list({e.id: e for e in events}.values())
        m = self._sql.mark
        cols = ", ".join(_EVENT_COLUMNS[1:])
        sets = ", ".join(f"{c} = {m}" for c in _EVENT_COLUMNS[2:])
        try:
            with self._writing() as conn:  # type: ignore[attr-defined]
                stored: dict[str, tuple[Any, ...]] = {}
                for chunk in _chunks([e.id for e in unique]):
                    sql = f"SELECT {cols} FROM events WHERE id IN ({self._sql.marks(len(chunk))})"
                    for row in conn.exec_driver_sql(sql, tuple(chunk)):
                        stored[row[0]] = tuple(row)
                fresh = [e for e in unique if e.id not in stored]
                updates = []
                for e in unique:
                    old = stored.get(e.id)
                    if old is not None:
                        new = _event_values(e, old[5])  # ingested_us as stored
                        if new != old:
                            updates.append((*new[1:], e.id))
                if fresh:
                    self._sql.insert_event.execute_values(conn, [_event_values(e, now_us) for e in fresh])
                if updates:
                    conn.exec_driver_sql(f"UPDATE events SET {sets} WHERE id = {m}", updates)
                if fresh or updates:
                    touched = [*fresh, *(e for e in unique if e.id in stored)]
                    self._advance_envelopes(conn, touched)  # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        return (len(fresh), len(updates), len(unique) - len(fresh) - len(updates))
