"""Atlas polling: the fallback when inbound webhooks are blocked.

Reads `GET /api/envelopes?status=…&updated_since=…` and, for envelopes whose status moved, `GET
/api/envelope/{id}/status`, with `Authorization: Bearer <api key>` and `Atlas-Account`. Each observed change
becomes the same event a webhook would have produced: history entries carrying Atlas's event id get the
webhook's event id, the others a once-per-envelope transition id, so webhook and poll never double-count.
The position (`updated_since`) is committed with the events it covers, so a crash resumes where it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from signwatch.events import (
    Actor,
    Event,
    Geo,
    event_id,
    normalize_type,
    parse_time,
    rfc3339,
    transition_id,
)
from signwatch.sources.atlas import FAMILY, SIGNER_TYPES
from signwatch.store import Scope, Store, WriteItem

if TYPE_CHECKING:
    from signwatch.api.deps import Services

log = logging.getLogger(__name__)
WRITE_BATCH = 5000


@dataclass
class PollReport:
    envelopes_seen: int = 0
    status_calls: int = 0
    stored: int = 0
    duplicates: int = 0
    position: str | None = None


class AtlasPoller:
    """Polls one tenant's Atlas account and appends what changed to the store."""

    def __init__(
        self,
        store: Store,
        tenant: str,
        api_key: str,
        base_url: str,
        geo: Callable[[str], Geo],
        *,
        client: httpx.AsyncClient | None = None,
        statuses: Sequence[str] = ("any",),
        page_limit: int = 500,
        concurrency: int = 16,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.geo = geo
        self.statuses = tuple(statuses)
        self.page_limit = page_limit
        self._sem = asyncio.Semaphore(concurrency)
        self._headers = {"Authorization": f"Bearer {api_key}", "Atlas-Account": tenant}
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=30)
        self._owns_client = client is None
        self.position_name = f"poll:atlas:{tenant}"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        async with self._sem:
            resp = await self._client.get(path, params=params, headers=self._headers)
        resp.raise_for_status()
        return orjson.loads(resp.content)

    async def poll_once(self) -> PollReport:
        """One round: every envelope changed since the stored position, turned into events and committed."""
        report = PollReport()
        since = await asyncio.to_thread(self.store.get_position, self.position_name)
        newest = since
        for status in self.statuses:
            cursor: str | None = None
            for _ in range(100_000):  # bounded: a misbehaving API cannot keep us here forever
                params: dict[str, Any] = {"status": status, "limit": self.page_limit}
                if since:
                    params["updated_since"] = since
                if cursor:
                    params["cursor"] = cursor
                page = await self._get("/api/envelopes", params)
                items = _items(page)
                report.envelopes_seen += len(items)
                events = await self._events_for(items, report)
                for item in items:
                    at = _time(item, ("updated_at", "status_changed_at", "created_at"))
                    if at is not None and (newest is None or at > parse_time(newest)):
                        newest = rfc3339(at)
                await self._write(events, None, report)
                cursor = page.get("next_cursor") or page.get("nextCursor") if isinstance(page, dict) else None
                if not cursor or not items:
                    break
        if newest and newest != since:
            await self._write([], newest, report)
        report.position = newest
        return report

    async def run_forever(self, interval: float) -> None:
        """Poll every `interval` seconds until cancelled; failures are logged and retried next round."""
        try:
            while True:
                try:
                    report = await self.poll_once()
                    log.info("polled %s: %d stored, %d duplicates", self.tenant, report.stored, report.duplicates)
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("polling %s failed: %s", self.tenant, exc)
                await asyncio.sleep(interval)
        finally:
            await self.aclose()

    async def _events_for(self, items: list[dict[str, Any]], report: PollReport) -> list[Event]:
        ids = [str(i.get("id") or i.get("envelope_id")) for i in items]
        known = await asyncio.to_thread(self.store.get_envelope_statuses, Scope.of(self.tenant), self.tenant, ids)
        moved = [(i, eid) for i, eid in zip(items, ids, strict=True) if known.get(eid) != i.get("status")]
        docs = await asyncio.gather(*(self._status(eid) for _, eid in moved))
        report.status_calls += len(moved)
        events: list[Event] = []
        for (item, eid), doc in zip(moved, docs, strict=True):
            events.extend(self._from_status(eid, item, doc))
        return events

    async def _status(self, envelope_id: str) -> dict[str, Any] | None:
        try:
            doc = await self._get(f"/api/envelope/{envelope_id}/status")
        except httpx.HTTPStatusError:
            return None
        return doc if isinstance(doc, dict) else None

    def _from_status(self, envelope_id: str, item: dict[str, Any], doc: dict[str, Any] | None) -> list[Event]:
        merged = {**item, **(doc or {})}
        history = merged.get("history") if isinstance(merged.get("history"), list) else None
        if not history:
            at = _time(merged, ("updated_at", "status_changed_at", "created_at"))
            history = [{"event": merged.get("status"), "at": rfc3339(at) if at else None}]
        metadata: dict[str, Any] = _dict(merged.get("metadata"))
        sender: dict[str, Any] = _dict(merged.get("sender"))
        recipient: dict[str, Any] = _dict(item.get("recipient"))
        out = []
        for entry in history:
            if not isinstance(entry, dict) or not entry.get("event") or not entry.get("at"):
                continue
            etype = normalize_type(str(entry["event"]), FAMILY)
            src_id = entry.get("event_id") or entry.get("id")
            person = recipient if etype in SIGNER_TYPES and recipient else sender
            ip = item.get("ip_address") if entry is history[-1] else None
            out.append(
                Event(
                    id=event_id(self.tenant, FAMILY, str(src_id))
                    if src_id
                    else transition_id(self.tenant, FAMILY, envelope_id, etype),
                    tenant=self.tenant,
                    source="poll",
                    type=etype,
                    occurred_at=parse_time(entry["at"]),
                    envelope_id=envelope_id,
                    actor=Actor(person.get("user_id") or person.get("id"), (person.get("email") or "").lower() or None),
                    ip_address=ip,
                    geo=self.geo(ip) if ip else Geo(),
                    user_agent=item.get("user_agent") if ip else None,
                    client_reference_id=metadata.get("client_reference_id"),
                    business_unit=metadata.get("business_unit"),
                    attributes={"sourceEventId": str(src_id)} if src_id else {"observedBy": "poll"},
                )
            )
        return out

    async def _write(self, events: list[Event], position: str | None, report: PollReport) -> None:
        for start in range(0, max(len(events), 1), WRITE_BATCH):
            chunk = events[start : start + WRITE_BATCH]
            items = [WriteItem(None, e) for e in chunk]
            if position is not None and start + WRITE_BATCH >= len(events):
                items.append(WriteItem(None, None, position=(self.position_name, position)))
            if not items:
                continue
            outcomes = await asyncio.to_thread(self.store.write_batch, items)
            report.stored += outcomes.count("stored")
            report.duplicates += outcomes.count("duplicate")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(page: Any) -> list[dict[str, Any]]:
    if isinstance(page, list):
        raw = page
    elif isinstance(page, dict):
        raw = page.get("data") or page.get("envelopes") or page.get("items") or []
    else:
        raw = []
    return [i for i in raw if isinstance(i, dict) and (i.get("id") or i.get("envelope_id"))]


def _time(item: dict[str, Any], keys: Sequence[str]) -> datetime | None:
    for k in keys:
        if item.get(k):
            try:
                return parse_time(item[k])
            except ValueError:
                continue
    return None


async def start_background_pollers(svc: Services) -> list[asyncio.Task[None]]:
    """One task per configured poller, inside `serve`."""
    tasks = []
    for cfg in svc.settings.pollers:
        keys = svc.keyring.keys(cfg.tenant, fresh=True)
        if not keys:
            log.error("poller for unknown tenant %s not started", cfg.tenant)
            continue
        poller = AtlasPoller(svc.store, cfg.tenant, keys[0], cfg.base_url, svc.geo.lookup)
        tasks.append(asyncio.create_task(poller.run_forever(cfg.interval_seconds), name=f"poll-{cfg.tenant}"))
    return tasks
