"""Notify (design §1 notify/): the outbox worker — deliver pending notifications, retry, dead-letter.

Notifications are written with the alert change that caused them (store `notifications`), so none is
lost in a crash; this worker sends each due one through its channel, then marks it sent, schedules the
next attempt (`retry.next_delay`, or the receiver's Retry-After if later) or moves it to the dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from signwatch.alerts import wire
from signwatch.auth.grants import thresholds_met
from signwatch.events import utcnow
from signwatch.metrics import Metrics
from signwatch.notify.channels import NotifySettings, Outcome, deliver, email_message, send_email
from signwatch.notify.recipients import parse_recipient
from signwatch.notify.retry import next_delay
from signwatch.store import Scope, Store
from signwatch.store.base import AlertRecord, NotificationRecord

log = logging.getLogger(__name__)


def as_of(body: dict[str, Any], change: str) -> dict[str, Any]:
    """The alert as it was at the change being notified: a `fired` notice delivered (or retried) after the
    alert cleared still says it fired; the current state is left to the API."""
    if change == "fired" and body["state"] == "resolved":
        return {**body, "state": "open", "resolvedAt": None, "resolvedBy": None, "resolveNote": None}
    if change == "resolved":
        return {**body, "state": "resolved"}
    return body


class Outbox:
    def __init__(
        self,
        store: Store,
        settings: NotifySettings,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.settings = settings
        self.http = http
        self.clock = clock
        self.wake = asyncio.Event()

    async def drain(self) -> int:
        """Attempt every due notification once; return how many were attempted."""
        due = await asyncio.to_thread(self.store.due_notifications, self.clock())
        for n in due:
            await self._attempt(n)
        return len(due)

    async def _attempt(self, n: NotificationRecord) -> None:
        now = self.clock()
        alert = await asyncio.to_thread(self.store.get_alert, Scope.all(), n.alert_id)
        try:
            recipient = parse_recipient(n.recipient)
        except ValueError as exc:
            outcome = Outcome(ok=False, retryable=False, detail=f"bad recipient: {exc}")
        else:
            if alert is None:
                outcome = Outcome(ok=False, retryable=False, detail="the alert no longer exists")
            elif recipient.kind == "subscribers":
                outcome = await self._to_subscribers(alert, n.change, now)
            else:
                body = as_of(wire(alert), n.change)
                outcome = await deliver(recipient, body, settings=self.settings, http=self.http, now=now)
        attempts = n.attempts + 1
        if outcome.ok:
            state, next_at = "sent", now
        else:
            delay = next_delay(attempts, n.id) if outcome.retryable else None
            if delay is None:
                state, next_at = "dead", now
                log.warning("notification %s to %s dead-lettered: %s", n.id, n.recipient, outcome.detail)
            else:
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                state, next_at = "pending", now + delay
        if self.metrics is not None:
            self.metrics.notifications.labels({"sent": "sent", "pending": "retry"}.get(state, "dead")).inc()
        await asyncio.to_thread(
            self.store.mark_notification, n.id, state, attempts, next_at, None if outcome.ok else outcome.detail
        )

    async def _to_subscribers(self, alert: AlertRecord, change: str, now: datetime) -> Outcome:
        """One e-mail to the active members, as of now, of the groups mapped to receive this alert."""
        met = thresholds_met(alert.severity)
        addresses = await asyncio.to_thread(self.store.alert_subscribers, alert.tenant, met)
        if not addresses:
            return Outcome(ok=True, retryable=False, detail="no group member receives this alert now")
        body = as_of(wire(alert), change)
        message = email_message(", ".join(addresses), body, settings=self.settings, now=now)
        return await asyncio.to_thread(send_email, message, addresses, self.settings)

    async def run(self, poll_seconds: float = 1.0) -> None:
        while not await asyncio.to_thread(self.store.try_lease, "notifier"):
            await asyncio.sleep(5.0)
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("notification outbox failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=poll_seconds)
            self.wake.clear()
