"""Rules (design §7): the live engine — follow the event log, keep rollups, evaluate, record alert changes.

One cycle: read the log after the engine's position (ingestion order, so late events are never skipped),
fold the page into rollups and sightings with the new position in one transaction, then evaluate every rule
over the minutes that page touched plus the time that passed (the scheduler tick for `stuck`, `flatline`
and for conditions that clear), and write the reconciled alerts, their `alert.*` events and notifications
in one more transaction with the evaluated position. A crash between the two re-evaluates the same page.

Time-driven evaluation runs up to the *frontier*: the latest event time seen minus the allowed lateness, so
a back-dated stream is judged on its own clock; when nothing at all has arrived for `idle` seconds, the wall
clock takes over (a silent feed must still be noticed). Event-driven evaluation also covers the minutes the
page touched beyond the frontier, so a threshold crossing alerts at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

from signwatch.alerts import OPEN_STATES, alert_event, reconcile
from signwatch.auth.grants import subscribed
from signwatch.events import Event, from_us, to_us, utcnow
from signwatch.notify.recipients import SUBSCRIBERS
from signwatch.rules.evaluation import rule_tenants, run, with_evidence
from signwatch.rules.series_cache import SeriesCache
from signwatch.rules.spec import RuleSpec, parse_rule
from signwatch.store import EventFilter, GroupMapping, Scope, Store
from signwatch.store.base import AlertChanges, AlertRecord, NotificationRecord, RuleRecord, SilenceRecord

log = logging.getLogger(__name__)
MINUTE_US = 60_000_000
ROLLED, EVALUATED, STREAM, FRONTIER, INGESTED = (
    "engine.rollups",
    "engine.evaluated",
    "engine.stream",
    "engine.frontier",
    "engine.ingested",
)
TIME_DRIVEN = ("stuck", "flatline")
FUTURE_SLACK_MINUTES = 5  # an event stamped further ahead of its arrival does not move the stream clock


@dataclass(frozen=True, slots=True)
class EngineSettings:
    lateness_minutes: int = 2
    idle_seconds: float = 120.0
    page: int = 5000
    notify_max_age: timedelta = timedelta(days=1)


@dataclass
class Touched:
    """The minutes (event time) and types a page of events touched, per tenant."""

    first: dict[str, int] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    types: dict[str, set[str]] = field(default_factory=dict)

    def add(self, events: Sequence[Event]) -> None:
        for e in events:
            if e.type.startswith("alert."):
                continue
            m = to_us(e.occurred_at) // MINUTE_US
            self.first[e.tenant] = min(self.first.get(e.tenant, m), m)
            self.last[e.tenant] = max(self.last.get(e.tenant, m), m)
            self.types.setdefault(e.tenant, set()).add(e.type)


@dataclass(frozen=True, slots=True)
class CycleReport:
    folded: int
    evaluated: int  # (rule, tenant) evaluations
    fired: list[AlertRecord]
    resolved: list[AlertRecord]


class RuleEngine:
    """The rules engine of one `serve` process (only the one holding the engine lease runs cycles)."""

    def __init__(
        self, store: Store, settings: EngineSettings | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.settings = settings or EngineSettings()
        self.clock = clock
        self.series = SeriesCache(store)
        self._mappings: list[GroupMapping] | None = None  # group mappings, read once per cycle when needed

    def cycle(self) -> CycleReport:
        store, now = self.store, self.clock()
        self._mappings = None
        rolled = int(store.get_position(ROLLED) or 0)
        evaluated = int(store.get_position(EVALUATED) or 0)
        page = store.read_events(Scope.all(), min(evaluated, rolled), self.settings.page, EventFilter())
        fresh = [e for e in page.events if (e.seq or 0) > rolled]
        stream = int(store.get_position(STREAM) or 0)
        ingested = int(store.get_position(INGESTED) or 0)
        for e in fresh:
            arrival = to_us(e.ingested_at or now) // MINUTE_US
            stream = max(stream, min(to_us(e.occurred_at) // MINUTE_US, arrival + FUTURE_SLACK_MINUTES))
            ingested = max(ingested, to_us(e.ingested_at or now))
        if page.last_seq > rolled:
            positions = [(ROLLED, str(page.last_seq)), (STREAM, str(stream)), (INGESTED, str(ingested))]
            store.apply_rollups(fresh, positions, to_us(now))
        touched = Touched()
        touched.add(page.events)
        for tenant, first in touched.first.items():
            self.series.touched(tenant, first, touched.last[tenant])
        frontier = self.frontier(stream, ingested, now)
        previous = store.get_position(FRONTIER)
        since = int(previous) if previous is not None else None
        changes, report = self.evaluate(touched, since, frontier, now)
        changes = AlertChanges(
            inserts=changes.inserts,
            updates=changes.updates,
            events=changes.events,
            notifications=changes.notifications,
            position=(EVALUATED, str(page.last_seq)),
        )
        store.apply_alert_changes(changes)
        if since is None or frontier > since:
            store.set_position(FRONTIER, str(frontier))
        return CycleReport(len(fresh), report[0], report[1], report[2])

    def frontier(self, stream: int, ingested_us: int, now: datetime) -> int:
        """The minute up to which time alone decides conditions (exclusive)."""
        wall = to_us(now) // MINUTE_US
        quiet = (to_us(now) - ingested_us) / 1e6 >= self.settings.idle_seconds
        clock = max(stream, wall) if quiet or stream == 0 else stream
        return clock - self.settings.lateness_minutes + 1

    def evaluate(
        self, touched: Touched, since: int | None, frontier: int, now: datetime
    ) -> tuple[AlertChanges, tuple[int, list[AlertRecord], list[AlertRecord]]]:
        rules = _parsed(self.store.list_rules())
        tenants = self.store.list_tenants()
        silences = self.store.list_silences()
        moved = since is None or frontier > since
        out = AlertChanges()
        fired: list[AlertRecord] = []
        resolved: list[AlertRecord] = []
        count = 0
        # every rule's recent alerts in one query (not one per rule and tenant)
        active = [spec for _, spec in rules if spec.enabled]
        base = since if since is not None else frontier - max([s.window for s in active] + [60])
        earliest = min([base, *touched.first.values()]) - max([s.cooldown_minutes for s in active] + [0]) - 1
        kept: dict[tuple[str, str], list[AlertRecord]] = {}
        for alert in self.store.alerts_since(from_us(earliest * MINUTE_US)) if active else ():
            kept.setdefault((alert.rule_id, alert.tenant), []).append(alert)
        for record, spec in rules:
            if not spec.enabled:
                continue
            for tenant in rule_tenants(record, spec, tenants):
                slug = tenant.slug
                hit = slug in touched.first and (not spec.types or bool(set(spec.types) & touched.types[slug]))
                if not hit and not moved:
                    continue
                start = since if since is not None else frontier - max(spec.window, 60)
                end = frontier
                if hit:
                    start = min(start, touched.first[slug])
                    if spec.kind not in TIME_DRIVEN:  # time alone decides those: never past the frontier
                        end = max(end, touched.last[slug] + 1)
                if start >= end:
                    continue
                count += 1
                since_dt = from_us((start - spec.cooldown_minutes - 1) * MINUTE_US)
                recent = [
                    a for a in kept.get((record.id, slug), []) if a.resolved_at is None or a.resolved_at >= since_dt
                ]
                computed = run(cast(Store, self.series), record.id, spec, tenant, start, end)
                self._reconcile(record, spec, slug, computed,
                                recent, start, end, silences, now, out, fired, resolved)  # fmt: skip
        return out, (count, fired, resolved)

    def _reconcile(
        self,
        record: RuleRecord,
        spec: RuleSpec,
        tenant: str,
        computed: list[AlertRecord],
        kept: list[AlertRecord],
        start: int,
        end: int,
        silences: list[SilenceRecord],
        now: datetime,
        out: AlertChanges,
        fired: list[AlertRecord],
        resolved: list[AlertRecord],
    ) -> None:
        result = reconcile(computed, kept, start, end, spec.cooldown_minutes)
        for alert in result.inserts:
            alert, samples = with_evidence(self.store, spec, alert)
            silence = next((s for s in silences if s.matches(record.id, tenant, alert.group_key, alert.fired_at)), None)
            if silence is not None:
                alert = _silenced(alert, silence.id)
            subscribers = self._subscribed(alert)
            notify = self._notifies(spec, alert, now, subscribers)
            if notify:  # remembered, so its resolution is notified too, however long it stays open
                alert = replace(alert, details={**alert.details, "notified": True, "subscribers": subscribers})
                out.notifications.extend(_notifications(spec, alert, "fired", now))
            out.inserts.append(alert)
            out.events.append(alert_event(alert, "fired", alert.fired_at, samples))
            if alert.resolved_at is not None:  # came and went within one evaluation (history, catching up)
                out.events.append(alert_event(alert, "resolved", alert.resolved_at, samples))
                if notify:
                    out.notifications.extend(_notifications(spec, alert, "resolved", now))
            fired.append(alert)
        for alert in result.updates:
            out.updates.append(alert)
        for alert in result.resolved:
            out.events.append(alert_event(alert, "resolved", alert.resolved_at or now))
            if alert.details.get("notified"):
                out.notifications.extend(_notifications(spec, alert, "resolved", now))
            resolved.append(alert)

    def _notifies(self, spec: RuleSpec, alert: AlertRecord, now: datetime, subscribers: bool) -> bool:
        return (
            spec.mode == "active"
            and alert.mode == "active"
            and alert.silenced_by is None
            and (bool(spec.recipients) or subscribers)
            and alert.fired_at >= now - self.settings.notify_max_age
        )

    def _subscribed(self, alert: AlertRecord) -> bool:
        """Whether some group receives this alert (`groups map --alerts`); its members are looked up when the
        notification is sent, so membership changes in between count."""
        if self._mappings is None:
            self._mappings = self.store.list_group_mappings()
        return subscribed(self._mappings, alert.tenant, alert.severity)


def _parsed(records: list[RuleRecord]) -> list[tuple[RuleRecord, RuleSpec]]:
    out = []
    for r in records:
        try:
            out.append((r, parse_rule(r.spec)))
        except ValueError:  # a rule stored by an older version that no longer validates: skip, loudly
            log.warning("rule %s no longer validates; skipped", r.id)
    return out


def _silenced(alert: AlertRecord, silence_id: str) -> AlertRecord:
    return replace(alert, silenced_by=silence_id)


def _notifications(spec: RuleSpec, alert: AlertRecord, change: str, now: datetime) -> list[NotificationRecord]:
    return [
        NotificationRecord(
            id=f"nt_{uuid.uuid4().hex[:24]}",
            alert_id=alert.id,
            change=change,
            recipient=recipient,
            state="pending",
            attempts=0,
            next_at=now,
        )
        for recipient in [*spec.recipients, *([SUBSCRIBERS] if alert.details.get("subscribers") else [])]
    ]


def is_open(alert: AlertRecord) -> bool:
    return alert.state in OPEN_STATES
