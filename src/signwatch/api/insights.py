"""Dashboard data API: `/monitor/v2/insights/*`, the numbers behind the overview, geography and users pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch import insights
from signwatch.api.data import parse_bound
from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import utcnow
from signwatch.store import Scope

router = APIRouter(prefix="/monitor/v2/insights", tags=["insights"])
DEFAULT_USERS, MAX_USERS = 20, 100

From = Annotated[str | None, Query(alias="from", description="Date or RFC 3339 time; default: to - 7 days")]
To = Annotated[str | None, Query(description="Date (inclusive) or RFC 3339 time (exclusive); default: now")]
Range = Annotated[str | None, Query(description="24h, 7d, 30d, 90d or 365d, ending at `to`; overrides `from`")]
Bucket = Annotated[str | None, Query(description="5m, 1h or 1d; default by the window's length")]
Tenant = Annotated[str | None, Query(description="One tenant slug within the token's tenants")]


def _bound(value: str | None, name: str, *, end: bool) -> datetime | None:
    """A date (whole day, `to` inclusive) or an RFC 3339 time (`to` exclusive)."""
    return parse_bound(value, name, end=end, inclusive=False)


def _window(from_: str | None, to: str | None, range_: str | None, bucket: str | None) -> insights.Window:
    try:
        return insights.window(
            utcnow(), _bound(from_, "from", end=False), _bound(to, "to", end=True), range_ or None, bucket or None
        )
    except insights.WindowError as exc:
        raise ApiError(400, str(exc), field=exc.field) from exc


def _scope(caller: Caller, tenant: str | None) -> Scope:
    """The caller's tenants, or the one asked for (403 outside the caller's tenants, as everywhere else)."""
    if not tenant or not tenant.strip():
        return caller.scope
    slug = tenant.strip()
    if not caller.scope.allows(slug):
        raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant")
    return Scope.of(slug)


def _names(request: Request) -> Any:
    services(request).geo.warm()  # loaded at start; the names ship in the same database
    return insights.country_names()


@router.get("/overview", summary="Signing volume over time, rates against their baseline, open alerts")
async def insights_overview(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    from_: From = None,
    to: To = None,
    range: Range = None,
    bucket: Bucket = None,
    tenant: Tenant = None,
    businessUnit: Annotated[str | None, Query(description="Only this business unit")] = None,
) -> Response:
    w = _window(from_, to, range, bucket)
    scope = _scope(caller, tenant)
    body = await run_in_threadpool(insights.overview, services(request).store, scope, w, businessUnit or None)
    return ORJSONResponse(body)


@router.get("/geography", summary="Activity by country and network, first-seen ones flagged")
async def insights_geography(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    from_: From = None,
    to: To = None,
    range: Range = None,
    tenant: Tenant = None,
) -> Response:
    w = _window(from_, to, range, None)
    scope = _scope(caller, tenant)
    body = await run_in_threadpool(insights.geography, services(request).store, scope, w, _names(request))
    return ORJSONResponse(body)


@router.get("/users", summary="Top senders and signers, with off-hours share, places and alerts")
async def insights_users(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    from_: From = None,
    to: To = None,
    range: Range = None,
    tenant: Tenant = None,
    limit: Annotated[str | None, Query(description=f"1-{MAX_USERS} per list, default {DEFAULT_USERS}")] = None,
) -> Response:
    w = _window(from_, to, range, None)
    scope = _scope(caller, tenant)
    if limit is not None and limit != "" and not (limit.isdigit() and 1 <= int(limit) <= MAX_USERS):
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_USERS}", field="limit")
    n = int(limit) if limit else DEFAULT_USERS
    body = await run_in_threadpool(insights.users, services(request).store, scope, w, n)
    request.state.audit_count = len(body["senders"]) + len(body["signers"])
    return ORJSONResponse(body)


@router.get("/users/{user}", summary="One user's timeline, places and alerts")
async def insights_user(
    request: Request,
    user: str,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    from_: From = None,
    to: To = None,
    range: Range = None,
    bucket: Bucket = None,
    tenant: Tenant = None,
) -> Response:
    w = _window(from_, to, range, bucket)
    scope = _scope(caller, tenant)
    name = user.strip().lower() if "@" in user else user.strip()
    body = await run_in_threadpool(insights.user, services(request).store, scope, w, name, _names(request))
    if body is None:
        raise ApiError(404, f"no events of user {user!r}")
    return ORJSONResponse(body)
