"""DocuSign Monitor compatibility (design §2 api/): the Monitor stream endpoints, so existing Monitor
integrations point at signwatch unchanged.

`GET /v1/organizations/{organizationId}/stream` → `{"endCursor", "resultData"}` and the legacy
`GET /api/v2.0/datasets/monitor/stream` → `{"endCursor", "data"}`, rows in Monitor's row shape
(sources/docusign.py `monitor_row`), alerts as rows with `object: "Alert"`. `cursor` is an ISO datetime
(ingestion time) or a previous `endCursor`; without one the stream starts seven days back; `limit` defaults
to 1000, at most 2000; when nothing is new, `endCursor` is the cursor sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import parse_time, utcnow
from signwatch.export import cursor as cursors
from signwatch.sources.docusign import monitor_row
from signwatch.store import EventFilter
from signwatch.tenants import organization_id

router = APIRouter(tags=["docusign-monitor"])
DEFAULT_LIMIT = 1000
MAX_LIMIT = 2000
DEFAULT_BACKLOG = timedelta(days=7)


@router.get("/v1/organizations/{organizationId}/stream", summary="DocuSign Monitor stream (v2.0 API shape)")
async def organization_stream(
    request: Request,
    organizationId: str,
    caller: Annotated[Caller, Depends(require("monitor:read", "export:read"))],
    cursor: Annotated[str | None, Query(description="ISO datetime or a previous endCursor")] = None,
    limit: Annotated[int | None, Query(description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}")] = None,
) -> Response:
    org = await run_in_threadpool(organization_id, services(request).store)
    if organizationId.lower() != org.lower():
        raise ApiError(404, "unknown organization (see `signwatch org id`)")
    end, rows = await _stream(request, caller, cursor, limit, org)
    return ORJSONResponse({"endCursor": end, "resultData": rows})


@router.get("/api/v2.0/datasets/monitor/stream", summary="DocuSign Monitor stream (legacy dataset API)")
async def dataset_stream(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read", "export:read"))],
    cursor: Annotated[str | None, Query(description="ISO datetime or a previous endCursor")] = None,
    limit: Annotated[int | None, Query(description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}")] = None,
) -> Response:
    org = await run_in_threadpool(organization_id, services(request).store)
    end, rows = await _stream(request, caller, cursor, limit, org)
    return ORJSONResponse({"endCursor": end, "data": rows})


async def _stream(
    request: Request, caller: Caller, cursor: str | None, limit: int | None, org: str
) -> tuple[str, list[dict[str, Any]]]:
    n = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= n <= MAX_LIMIT:
        raise ApiError(400, f"limit must be from 1 to {MAX_LIMIT}", field="limit")
    store = services(request).store
    if cursor and cursor.startswith(f"{cursors.VERSION}."):
        try:
            after = cursors.decode(cursor)
        except cursors.BadCursor as exc:
            raise ApiError(400, str(exc), field="cursor") from exc
    else:
        try:
            since = parse_time(cursor) if cursor else utcnow() - DEFAULT_BACKLOG
        except ValueError as exc:
            raise ApiError(400, "cursor must be an ISO datetime or a previous endCursor", field="cursor") from exc
        after = await run_in_threadpool(store.seq_before, since)
    page = await run_in_threadpool(store.read_events, caller.scope, after, n, EventFilter())
    request.state.audit_count = len(page.events)
    if not page.events and cursor:
        return cursor, []
    return cursors.encode(page.last_seq), [monitor_row(e, organization_id=org) for e in page.events]
