"""Sources (design §2 sources/): pulling a DocuSign Monitor stream — for estates that dual-run.

Reads `GET {base}/api/v2.0/datasets/monitor/stream?cursor=…&limit=2000` with a bearer token, page by page,
until the stream has nothing new (`endCursor` equals the cursor sent). Each page's rows become events
(`docusign-monitor`, id from the row's `eventId`, so a re-read page is stored once) and are committed with
the new cursor in one transaction: a crash resumes exactly where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from signwatch.events import Geo, utcnow
from signwatch.sources.atlas import PayloadError
from signwatch.sources.docusign_monitor import parse_monitor_row
from signwatch.store import Store, WriteItem

log = logging.getLogger(__name__)
PAGE = 2000
STREAM_PATH = "/api/v2.0/datasets/monitor/stream"


@dataclass
class PullReport:
    pages: int = 0
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    cursor: str | None = None


def position_name(tenant: str) -> str:
    return f"docusign-monitor:{tenant}"


async def pull_monitor(
    store: Store,
    tenant: str,
    base_url: str,
    token: str,
    geo: Callable[[str], Geo],
    *,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utcnow,
    max_pages: int = 10_000,
) -> PullReport:
    """Pull the stream into `tenant` until caught up; returns what happened."""
    report = PullReport(cursor=store.get_position(position_name(tenant)))
    own = http is None
    client = http or httpx.AsyncClient(timeout=30)
    try:
        for _ in range(max_pages):
            params = {"limit": str(PAGE), **({"cursor": report.cursor} if report.cursor else {})}
            resp = await client.get(
                base_url.rstrip("/") + STREAM_PATH, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            resp.raise_for_status()
            body = resp.json()
            rows = body.get("data", body.get("resultData", [])) or []
            end = body.get("endCursor") or report.cursor
            report.pages += 1
            report.rows += len(rows)
            received = clock()
            items: list[WriteItem] = []
            for row in rows:
                try:
                    items.append(WriteItem(None, parse_monitor_row(row, tenant=tenant, received_at=received, geo=geo)))
                except PayloadError as exc:
                    report.skipped += 1
                    log.warning("monitor row skipped: %s", exc)
            if end and end != report.cursor:
                if items:
                    last = items[-1]
                    items[-1] = WriteItem(last.delivery, last.event, (position_name(tenant), end))
                    outcomes = store.write_batch(items)
                    report.stored += outcomes.count("stored")
                    report.duplicates += outcomes.count("duplicate")
                else:
                    store.set_position(position_name(tenant), end)
            report.cursor = end
            if not rows or end == params.get("cursor"):
                break
    finally:
        if own:
            await client.aclose()
    return report
