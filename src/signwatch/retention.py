"""Retention: per-tenant limits (days) on events, raw deliveries and alerts, a purge job inside `serve`, and
legal hold, which stops purging a tenant altogether. Every purge is recorded in the audit trail.

Defaults (settings `retention_*_days`): events 400 days (13 months: a year-on-year comparison), raw
deliveries 90 days (replay after a bad deploy), alerts 730 days. A tenant's own limits override them
(`signwatch tenants set-retention`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from signwatch.audit import AuditRecord
from signwatch.config import Settings
from signwatch.store import Store
from signwatch.store.base import RetentionRecord

log = logging.getLogger(__name__)
ACTOR = "signwatch:retention"
STARTUP_DELAY_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Limits:
    events_days: int
    deliveries_days: int
    alerts_days: int
    legal_hold: bool


def limits(settings: Settings, record: RetentionRecord | None) -> Limits:
    r = record or RetentionRecord("")
    return Limits(
        r.events_days or settings.retention_events_days,
        r.deliveries_days or settings.retention_deliveries_days,
        r.alerts_days or settings.retention_alerts_days,
        r.legal_hold,
    )


def purge_once(store: Store, settings: Settings, now: datetime) -> list[AuditRecord]:
    """Purge what every tenant not on legal hold keeps beyond its limits; returns the audit records written."""
    records: list[AuditRecord] = []
    for tenant in store.list_tenants():
        lim = limits(settings, store.get_retention(tenant.slug))
        if lim.legal_hold:
            continue
        for table, days in (
            ("events", lim.events_days),
            ("rollups", lim.events_days),
            ("deliveries", lim.deliveries_days),
            ("alerts", lim.alerts_days),
        ):
            before = now - timedelta(days=days)
            count = store.purge(table, tenant.slug, before)
            if count and table != "rollups":
                records.append(
                    AuditRecord(
                        at=now,
                        actor=ACTOR,
                        action="retention.purge",
                        tenant=tenant.slug,
                        target=table,
                        params={"before": before.isoformat(), "days": days},
                        result_count=count,
                    )
                )
    if records:
        store.append_audit(records)
    return records


class RetentionJob:
    """Runs `purge_once` every `retention_interval_seconds` in the process holding the `retention` lease."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def run(self) -> None:
        from signwatch.events import utcnow

        while not await asyncio.to_thread(self.store.try_lease, "retention"):
            await asyncio.sleep(60)
        # not at start-up: a purge holds the write lock in short steps, and starting `serve` (migrations, the
        # engine catching up, the first webhooks) is the worst moment to compete for it
        await asyncio.sleep(min(self.settings.retention_interval_seconds, STARTUP_DELAY_SECONDS))
        while True:
            with contextlib.suppress(Exception):
                done = await asyncio.to_thread(purge_once, self.store, self.settings, utcnow())
                for r in done:
                    log.info("retention: purged %d %s of %s", r.result_count, r.target, r.tenant)
            await asyncio.sleep(self.settings.retention_interval_seconds)
