"""Audit API: `GET /monitor/v2/audit` (scope `admin`) pages the monitor's own hash-chained trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch.api.data import parse_limit
from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.export import cursor as cursors

router = APIRouter(prefix="/monitor/v2", tags=["audit"])


@router.get("/audit", summary="The monitor's own audit trail, oldest first, resumable by cursor")
async def read_audit(
    request: Request,
    caller: Annotated[Caller, Depends(require("admin"))],
    cursor: Annotated[str | None, Query(description="endCursor of the previous page")] = None,
    limit: Annotated[str | None, Query(description="1-10000, default 1000")] = None,
) -> Response:
    n = parse_limit(limit)
    try:
        after = cursors.decode(cursor)
    except cursors.BadCursor as exc:
        raise ApiError(400, str(exc), field="cursor") from exc
    page = await run_in_threadpool(services(request).store.read_audit, after, n + 1, caller.scope.tenants)
    more = len(page) > n
    page = page[:n]
    request.state.audit_count = len(page)
    end = cursors.encode(page[-1].seq if page and page[-1].seq else after)
    return ORJSONResponse({"data": [r.wire() for r in page], "endCursor": end, "hasMore": more})
