"""The SQL store's alerting records (design §7): rules, alerts, silences and the notification outbox.

Alert changes decided by one evaluation (new alerts, updated ones, their `alert.*` events for the data
stream and the notifications to send) are written in one transaction, so an alert is never notified
without being recorded, nor recorded twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import case, delete, func, insert, select, update

from signwatch.events import Event, from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import (
    AlertChanges,
    AlertFilter,
    AlertRecord,
    NotFound,
    NotificationRecord,
    RuleRecord,
    Scope,
    SilenceRecord,
)

_HUMAN = ("acked_by", "acked_us", "ack_note", "resolved_by", "resolve_note")


class AlertSql:
    """Mixin for SqlStore (which provides `engine`, `_writing`, `_write_events` and `_put_position`)."""

    engine: Any

    # -- rules -------------------------------------------------------------------------------------------------
    def put_rule(self, record: RuleRecord) -> None:
        row = {
            "id": record.id,
            "name": record.name,
            "tenants": _tenants_json(record.tenants),
            "spec": orjson.dumps(record.spec).decode(),
            "created_by": record.created_by,
            "created_us": to_us(record.created_at),
            "updated_us": to_us(record.updated_at),
        }
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(update(t.rules).where(t.rules.c.id == record.id).values(**row)).rowcount
            if not done:
                conn.execute(insert(t.rules).values(**row))

    def get_rule(self, rule_id: str) -> RuleRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.rules).where(t.rules.c.id == rule_id)).first()
        return None if row is None else _rule(row)

    def list_rules(self) -> list[RuleRecord]:
        with self.engine.connect() as conn:
            return [_rule(r) for r in conn.execute(select(t.rules).order_by(t.rules.c.created_us, t.rules.c.id))]

    def delete_rule(self, rule_id: str) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            if not conn.execute(delete(t.rules).where(t.rules.c.id == rule_id)).rowcount:
                raise NotFound(rule_id)

    # -- alerts ------------------------------------------------------------------------------------------------
    def alerts_of_rule(self, rule_id: str, tenant: str, since: datetime) -> list[AlertRecord]:
        """The rule's alerts for `tenant` still open or resolved after `since`: what an evaluation reconciles."""
        c = t.alerts.c
        q = select(t.alerts).where(
            c.rule_id == rule_id,
            c.tenant == tenant,
            (c.resolved_us.is_(None)) | (c.resolved_us >= to_us(since)),
        )
        with self.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(q.order_by(c.fired_us))]

    def alerts_since(self, since: datetime) -> list[AlertRecord]:
        """Every alert still open or resolved after `since` (one query per engine cycle, for every rule)."""
        c = t.alerts.c
        q = select(t.alerts).where((c.resolved_us.is_(None)) | (c.resolved_us >= to_us(since)))
        with self.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(q.order_by(c.fired_us))]

    def open_alerts_of_rule(self, rule_id: str) -> list[AlertRecord]:
        c = t.alerts.c
        q = select(t.alerts).where(c.rule_id == rule_id, c.state.in_(("open", "acknowledged")))
        with self.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(q.order_by(c.fired_us))]

    def apply_alert_changes(self, changes: AlertChanges) -> None:
        now_us = to_us(datetime.now().astimezone())
        with self._writing() as conn:  # type: ignore[attr-defined]
            for a in changes.inserts:
                conn.execute(insert(t.alerts).values(**_alert_row(a, now_us, created=True)))
            c = t.alerts.c
            for a in changes.updates:
                # The engine's view of an alert never overrides a person's: an acknowledgement stays, and an
                # alert resolved by hand stays resolved, even when the update was computed before either.
                row = {k: v for k, v in _alert_row(a, now_us, created=False).items() if k not in _HUMAN}
                row["state"] = case(
                    (c.resolved_by.is_not(None), c.state),
                    ((c.state == "acknowledged") & (row["state"] == "open"), "acknowledged"),
                    else_=row["state"],
                )
                row["resolved_us"] = case((c.resolved_by.is_not(None), c.resolved_us), else_=row["resolved_us"])
                conn.execute(update(t.alerts).where(c.id == a.id).values(**row))
            if changes.events:
                self._write_events(conn, changes.events, now_us)  # type: ignore[attr-defined]
            for n in changes.notifications:
                conn.execute(insert(t.notifications).values(**_notification_row(n, now_us)))
            if changes.position is not None:
                self._put_position(conn, *changes.position, now_us)  # type: ignore[attr-defined]

    def annotate_alert(
        self, alert_id: str, state: str, by: str, note: str | None, at: datetime, event: Event | None = None
    ) -> None:
        """A person acknowledges (`acknowledged`) or resolves (`resolved`) an alert, with a note.

        Acknowledging an alert that already cleared records the triage and leaves it resolved; resolving one
        the engine resolved records who closed it and keeps the time it cleared."""
        c = t.alerts.c
        now_us = to_us(at)
        values: dict[str, Any] = {"updated_us": now_us}
        if state == "acknowledged":
            values.update(acked_by=by, acked_us=now_us, ack_note=note)
            values["state"] = case((c.state == "open", "acknowledged"), else_=c.state)
        else:
            values.update(resolved_by=by, resolve_note=note, state="resolved")
            values["resolved_us"] = func.coalesce(c.resolved_us, now_us)
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(update(t.alerts).where(c.id == alert_id).values(**values))
            if event is not None:
                self._write_events(conn, [event], now_us)  # type: ignore[attr-defined]

    def list_alerts(self, scope: Scope, flt: AlertFilter, after_seq: int, limit: int) -> tuple[list[AlertRecord], bool]:
        c = t.alerts.c
        q = select(t.alerts).where(c.seq > after_seq)
        if scope.tenants is not None:
            q = q.where(c.tenant.in_(sorted(scope.tenants)))
        if flt.tenants:
            q = q.where(c.tenant.in_(flt.tenants))
        if flt.fired_from is not None:
            q = q.where(c.fired_us >= to_us(flt.fired_from))
        if flt.fired_to is not None:
            q = q.where(c.fired_us < to_us(flt.fired_to))
        if flt.states:
            q = q.where(c.state.in_(flt.states))
        if flt.rule_id:
            q = q.where(c.rule_id == flt.rule_id)
        if flt.severities:
            q = q.where(c.severity.in_(flt.severities))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(c.seq).limit(limit + 1)).all()
        return [_alert(r) for r in rows[:limit]], len(rows) > limit

    def get_alert(self, scope: Scope, alert_id: str) -> AlertRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.alerts).where(t.alerts.c.id == alert_id)).first()
        if row is None or not scope.allows(row.tenant):
            return None
        return _alert(row)

    # -- silences ----------------------------------------------------------------------------------------------
    def add_silence(self, record: SilenceRecord) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                insert(t.silences).values(
                    id=record.id,
                    tenant=record.tenant,
                    tenants=_tenants_json(record.tenants),
                    rule_id=record.rule_id,
                    group_key=record.group_key,
                    starts_us=to_us(record.starts_at),
                    ends_us=to_us(record.ends_at),
                    reason=record.reason,
                    owner=record.owner,
                    created_by=record.created_by,
                    created_us=to_us(record.created_at),
                )
            )

    def list_silences(self) -> list[SilenceRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.silences).order_by(t.silences.c.created_us, t.silences.c.id))
            return [_silence(r) for r in rows]

    def delete_silence(self, silence_id: str) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            if not conn.execute(delete(t.silences).where(t.silences.c.id == silence_id)).rowcount:
                raise NotFound(silence_id)

    # -- notification outbox -----------------------------------------------------------------------------------
    def due_notifications(self, now: datetime, limit: int = 100) -> list[NotificationRecord]:
        c = t.notifications.c
        q = select(t.notifications).where(c.state == "pending", c.next_us <= to_us(now))
        with self.engine.connect() as conn:
            return [_notification(r) for r in conn.execute(q.order_by(c.next_us).limit(limit))]

    def list_notifications(self, states: Sequence[str] = ()) -> list[NotificationRecord]:
        c = t.notifications.c
        q = select(t.notifications)
        if states:
            q = q.where(c.state.in_(list(states)))
        with self.engine.connect() as conn:
            return [_notification(r) for r in conn.execute(q.order_by(c.created_us, c.id))]

    def mark_notification(
        self, notification_id: str, state: str, attempts: int, next_at: datetime, error: str | None
    ) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(t.notifications)
                .where(t.notifications.c.id == notification_id)
                .values(
                    state=state,
                    attempts=attempts,
                    next_us=to_us(next_at),
                    last_error=error,
                    updated_us=to_us(datetime.now().astimezone()),
                )
            )


def _tenants_json(tenants: frozenset[str] | None) -> str | None:
    return None if tenants is None else json.dumps(sorted(tenants))


def _tenants(text: str | None) -> frozenset[str] | None:
    return None if text is None else frozenset(json.loads(text))


def _rule(row: Any) -> RuleRecord:
    return RuleRecord(
        id=row.id,
        name=row.name,
        tenants=_tenants(row.tenants),
        spec=json.loads(row.spec),
        created_by=row.created_by,
        created_at=from_us(row.created_us),
        updated_at=from_us(row.updated_us),
    )


def _opt(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _alert(row: Any) -> AlertRecord:
    return AlertRecord(
        id=row.id,
        rule_id=row.rule_id,
        rule_name=row.rule_name,
        tenant=row.tenant,
        group_key=row.group_key,
        severity=row.severity,
        mode=row.mode,
        state=row.state,
        fired_at=from_us(row.fired_us),
        resolved_at=_opt(row.resolved_us),
        window_start=from_us(row.window_start_us),
        window_end=from_us(row.window_end_us),
        value=row.value,
        threshold=row.threshold,
        expected=row.expected,
        details=json.loads(row.details),
        silenced_by=row.silenced_by,
        acked_by=row.acked_by,
        acked_at=_opt(row.acked_us),
        ack_note=row.ack_note,
        resolved_by=row.resolved_by,
        resolve_note=row.resolve_note,
        seq=row.seq,
        created_at=from_us(row.created_us),
        updated_at=from_us(row.updated_us),
    )


def _alert_row(a: AlertRecord, now_us: int, *, created: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": a.id,
        "rule_id": a.rule_id,
        "rule_name": a.rule_name,
        "tenant": a.tenant,
        "group_key": a.group_key,
        "severity": a.severity,
        "mode": a.mode,
        "state": a.state,
        "fired_us": to_us(a.fired_at),
        "resolved_us": None if a.resolved_at is None else to_us(a.resolved_at),
        "window_start_us": to_us(a.window_start),
        "window_end_us": to_us(a.window_end),
        "value": a.value,
        "threshold": a.threshold,
        "expected": a.expected,
        "details": orjson.dumps(a.details).decode(),
        "silenced_by": a.silenced_by,
        "acked_by": a.acked_by,
        "acked_us": None if a.acked_at is None else to_us(a.acked_at),
        "ack_note": a.ack_note,
        "resolved_by": a.resolved_by,
        "resolve_note": a.resolve_note,
        "updated_us": now_us,
    }
    if created:
        row["created_us"] = now_us
    return row


def _silence(row: Any) -> SilenceRecord:
    return SilenceRecord(
        id=row.id,
        tenant=row.tenant,
        tenants=_tenants(row.tenants),
        rule_id=row.rule_id,
        group_key=row.group_key,
        starts_at=from_us(row.starts_us),
        ends_at=from_us(row.ends_us),
        reason=row.reason,
        owner=row.owner,
        created_by=row.created_by,
        created_at=from_us(row.created_us),
    )


def _notification(row: Any) -> NotificationRecord:
    return NotificationRecord(
        id=row.id,
        alert_id=row.alert_id,
        change=row.change,
        recipient=row.recipient,
        state=row.state,
        attempts=row.attempts,
        next_at=from_us(row.next_us),
        last_error=row.last_error,
        created_at=from_us(row.created_us),
    )


def _notification_row(n: NotificationRecord, now_us: int) -> dict[str, Any]:
    return {
        "id": n.id,
        "alert_id": n.alert_id,
        "change": n.change,
        "recipient": n.recipient,
        "state": n.state,
        "attempts": n.attempts,
        "next_us": to_us(n.next_at),
        "last_error": n.last_error,
        "created_us": now_us,
        "updated_us": now_us,
    }
