"""Monitor data API: `GET /monitor/v2/data`, events in ingestion order behind a resumable cursor."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import normalize_type, parse_time
from signwatch.export import cursor as cursors
from signwatch.store import EventFilter

router = APIRouter(prefix="/monitor/v2", tags=["monitor"])
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
_ONE_US = timedelta(microseconds=1)


def parse_bound(value: str | None, name: str, *, end: bool, inclusive: bool = True) -> datetime | None:
    """A `from`/`to` parameter: a date (whole day; `to` inclusive) or an RFC 3339 time (an end is inclusive
    unless `inclusive` is False, as for the dashboard's windows)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10 and value[4] == "-":
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        at = parse_time(value.replace(" ", "+"))  # an unencoded "+01:00" arrives as " 01:00"
        return at + _ONE_US if end and inclusive else at
    except (ValueError, OverflowError, OSError) as exc:
        raise ApiError(400, f"{name} must be a date (YYYY-MM-DD) or an RFC 3339 time", field=name) from exc


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return int(value)


def event_filter(
    caller: Caller,
    from_: str | None,
    to: str | None,
    type_: str | None,
    actor: str | None,
    tenant: str | None,
) -> EventFilter:
    start = parse_bound(from_, "from", end=False)
    stop = parse_bound(to, "to", end=True)
    if start and stop and start >= stop:
        raise ApiError(400, "from must be before to", field="from")
    types = tuple(_query_type(t) for t in (type_ or "").split(",") if t.strip())
    tenants: tuple[str, ...] = ()
    if tenant:
        tenants = tuple(s.strip() for s in tenant.split(",") if s.strip())
        foreign = [s for s in tenants if not caller.scope.allows(s)]
        if foreign:
            raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant")
    return EventFilter(
        occurred_from=start,
        occurred_to=stop,
        types=types,
        actor=actor.strip().lower() if actor and "@" in actor else (actor.strip() if actor else None),
        tenants=tenants,
    )


def _query_type(text: str) -> str:
    """A type asked for in a query: the vocabulary's spelling rules, and signwatch's own `alert.*` types."""
    name = text.strip().lower()
    return name if name.startswith("alert.") else normalize_type(name, "atlas")


@router.get("/data", summary="Events in ingestion order, resumable by cursor")
async def data(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    from_: Annotated[str | None, Query(alias="from", description="Date or RFC 3339 time (event time)")] = None,
    to: Annotated[str | None, Query(description="Date (inclusive) or RFC 3339 time (event time)")] = None,
    cursor: Annotated[str | None, Query(description="endCursor of the previous page")] = None,
    limit: Annotated[str | None, Query(description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}")] = None,
    type: Annotated[str | None, Query(description="Event type(s), comma-separated")] = None,
    actor: Annotated[str | None, Query(description="Actor user id or email")] = None,
    tenant: Annotated[str | None, Query(description="Tenant slug(s) within the token's tenants")] = None,
) -> Response:
    flt = event_filter(caller, from_, to, type, actor, tenant)
    n = parse_limit(limit)
    try:
        after = cursors.decode(cursor)
    except cursors.BadCursor as exc:
        raise ApiError(400, str(exc), field="cursor") from exc
    store = services(request).store
    page = await run_in_threadpool(store.read_events, caller.scope, after, n, flt)
    request.state.audit_count = len(page.events)
    body: dict[str, Any] = {
        "data": [e.to_wire() for e in page.events],
        "endCursor": cursors.encode(page.last_seq),
        "hasMore": page.has_more,
    }
    return ORJSONResponse(body)
