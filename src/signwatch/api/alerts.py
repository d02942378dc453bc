"""Alerts API (design §7): `/monitor/v2/alerts` (list, detail, ack, resolve) and `/monitor/v2/alert/silences`."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch.alerts import OPEN_STATES, alert_event, wire
from signwatch.api.data import parse_bound, parse_limit
from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import rfc3339, utcnow
from signwatch.export import cursor as cursors
from signwatch.rules.spec import SEVERITY_RANK
from signwatch.store import NotFound
from signwatch.store.base import AlertFilter, SilenceRecord

router = APIRouter(prefix="/monitor/v2", tags=["alerts"])
STATES = ("open", "acknowledged", "resolved")
MAX_SILENCE = timedelta(days=90)


@router.get("/alerts", summary="Alerts, oldest first, resumable by cursor")
async def list_alerts(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    from_: Annotated[str | None, Query(alias="from", description="Fired at or after (event time)")] = None,
    to: Annotated[str | None, Query(description="Fired at or before (event time)")] = None,
    state: Annotated[str | None, Query(description="open, acknowledged, resolved (comma-separated)")] = None,
    ruleId: Annotated[str | None, Query(description="Only this rule's alerts")] = None,
    severity: Annotated[str | None, Query(description="low, medium, high, critical (comma-separated)")] = None,
    tenant: Annotated[str | None, Query(description="Tenant slug(s) within the token's tenants")] = None,
    cursor: Annotated[str | None, Query(description="endCursor of the previous page")] = None,
    limit: Annotated[str | None, Query(description="1-10000, default 1000")] = None,
) -> Response:
    states = _csv(state, STATES, "state")
    severities = _csv(severity, tuple(SEVERITY_RANK), "severity")
    tenants = tuple(s for s in _csv(tenant, None, "tenant"))
    if any(not caller.scope.allows(s) for s in tenants):
        raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant")
    flt = AlertFilter(
        fired_from=parse_bound(from_, "from", end=False),
        fired_to=parse_bound(to, "to", end=True),
        states=states,
        rule_id=ruleId,
        severities=severities,
        tenants=tenants,
    )
    n = parse_limit(limit)
    try:
        after = cursors.decode(cursor)
    except cursors.BadCursor as exc:
        raise ApiError(400, str(exc), field="cursor") from exc
    alerts, more = await run_in_threadpool(services(request).store.list_alerts, caller.scope, flt, after, n)
    request.state.audit_count = len(alerts)
    end = alerts[-1].seq if alerts and alerts[-1].seq is not None else after
    return ORJSONResponse({"data": [wire(a) for a in alerts], "endCursor": cursors.encode(end), "hasMore": more})


@router.get("/alerts/{alert_id}", summary="One alert with its evidence")
async def get_alert(
    request: Request, alert_id: str, caller: Annotated[Caller, Depends(require("monitor:read"))]
) -> Response:
    alert = await run_in_threadpool(services(request).store.get_alert, caller.scope, alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id!r}")
    return ORJSONResponse(wire(alert))


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert, with a note")
async def ack_alert(
    request: Request,
    alert_id: str,
    caller: Annotated[Caller, Depends(require("alerts:write"))],
    body: Annotated[dict[str, Any] | None, Body(description='{"note": "..."}')] = None,
) -> Response:
    return await _annotate(request, alert_id, caller, body, "acknowledged")


@router.post("/alerts/{alert_id}/resolve", summary="Resolve an alert by hand, with a note")
async def resolve_alert(
    request: Request,
    alert_id: str,
    caller: Annotated[Caller, Depends(require("alerts:write"))],
    body: Annotated[dict[str, Any] | None, Body(description='{"note": "..."}')] = None,
) -> Response:
    return await _annotate(request, alert_id, caller, body, "resolved")


async def _annotate(
    request: Request, alert_id: str, caller: Caller, body: dict[str, Any] | None, state: str
) -> Response:
    store = services(request).store
    note = (body or {}).get("note")
    if note is not None and not isinstance(note, str):
        raise ApiError(400, "note must be a string", field="note")
    alert = await run_in_threadpool(store.get_alert, caller.scope, alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id!r}")
    if state == "resolved" and alert.resolved_by is not None:
        raise ApiError(409, f"the alert was resolved by {alert.resolved_by} already", code="conflict")
    if state == "acknowledged" and alert.acked_by is not None:
        raise ApiError(409, f"the alert was acknowledged by {alert.acked_by} already", code="conflict")
    now = utcnow()
    event = alert_event(alert, "resolved", now) if state == "resolved" and alert.state in OPEN_STATES else None
    await run_in_threadpool(store.annotate_alert, alert.id, state, caller.name, note, now, event)
    updated = await run_in_threadpool(store.get_alert, caller.scope, alert_id)
    assert updated is not None
    return ORJSONResponse(wire(updated))


# -- notification outbox (dead letters) -------------------------------------------------------------------------
@router.get("/alert/notifications", summary="Alert notifications: pending, sent and dead letters")
async def list_notifications(
    request: Request,
    caller: Annotated[Caller, Depends(require("alerts:write"))],
    state: Annotated[str | None, Query(description="pending, sent, dead (comma-separated)")] = None,
) -> Response:
    store = services(request).store
    states = _csv(state, ("pending", "sent", "dead"), "state")
    rows = await run_in_threadpool(store.list_notifications, states)
    visible: dict[str, bool] = {}
    data = []
    for n in rows[-1000:]:
        if n.alert_id not in visible:
            visible[n.alert_id] = await run_in_threadpool(store.get_alert, caller.scope, n.alert_id) is not None
        if visible[n.alert_id]:
            data.append(
                {
                    "id": n.id,
                    "alertId": n.alert_id,
                    "change": n.change,
                    "recipient": mask_recipient(n.recipient),
                    "state": n.state,
                    "attempts": n.attempts,
                    "nextAt": rfc3339(n.next_at),
                    "lastError": n.last_error,
                }
            )
    return ORJSONResponse({"data": data, "endCursor": None, "hasMore": False})


@router.post("/alert/notifications/{notification_id}/retry", summary="Send a dead letter again")
async def retry_notification(
    request: Request, notification_id: str, caller: Annotated[Caller, Depends(require("alerts:write"))]
) -> Response:
    store = services(request).store
    rows = await run_in_threadpool(store.list_notifications, ())
    found = next((n for n in rows if n.id == notification_id), None)
    if found is None or await run_in_threadpool(store.get_alert, caller.scope, found.alert_id) is None:
        raise ApiError(404, f"no notification {notification_id!r}")
    if found.state != "dead":
        raise ApiError(409, f"the notification is {found.state}, not dead", code="conflict")
    await run_in_threadpool(store.mark_notification, found.id, "pending", 0, utcnow(), found.last_error)
    svc = services(request)
    if svc.outbox is not None:
        svc.outbox.wake.set()
    return ORJSONResponse({"id": found.id, "state": "pending"}, status_code=202)


def mask_recipient(text: str) -> str:
    """A webhook URL's path and query are often its secret (Slack's are): show scheme and host only."""
    if "://" not in text:
        return text
    scheme, _, rest = text.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


# -- silences ----------------------------------------------------------------------------------------------------
@router.post("/alert/silences", status_code=201, summary="Mute a rule, a tenant or a group key for a while")
async def create_silence(
    request: Request,
    caller: Annotated[Caller, Depends(require("alerts:write"))],
    body: Annotated[dict[str, Any], Body(description="tenant?, ruleId?, groupKey?, startsAt?, endsAt, reason, owner")],
) -> Response:
    store = services(request).store
    tenant = body.get("tenant")
    if tenant is not None:
        if not isinstance(tenant, str) or not caller.scope.allows(tenant):
            raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant")
        record = await run_in_threadpool(store.get_tenant, tenant)
        if record is None:
            raise ApiError(422, f"unknown tenant {tenant!r}", field="tenant")
        zone = ZoneInfo(record.timezone)
    else:
        zone = ZoneInfo("UTC")
    for name in ("reason", "owner"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise ApiError(422, f"{name} is required: who silenced it and why are part of the record", field=name)
    rule_id = body.get("ruleId")
    if rule_id is not None:
        rule = await run_in_threadpool(store.get_rule, str(rule_id))
        from signwatch.rules.catalog import visible

        if rule is None or not visible(rule, caller.scope):
            raise ApiError(422, f"no rule {rule_id!r}", field="ruleId")
    if tenant is None and rule_id is None and body.get("groupKey") is None:
        raise ApiError(422, "a silence names a tenant, a ruleId or a groupKey (or several)", field="tenant")
    now = utcnow()
    starts = _local_time(body.get("startsAt"), zone, "startsAt") or now
    ends = _local_time(body.get("endsAt"), zone, "endsAt")
    if ends is None and isinstance(body.get("durationMinutes"), int) and body["durationMinutes"] > 0:
        ends = starts + timedelta(minutes=body["durationMinutes"])
    if ends is None:
        raise ApiError(422, "endsAt (or durationMinutes) is required: every silence expires", field="endsAt")
    if ends <= starts or ends - starts > MAX_SILENCE:
        raise ApiError(422, "endsAt must be after startsAt and at most 90 days later", field="endsAt")
    silence = SilenceRecord(
        id="sl_" + secrets.token_hex(10),
        tenant=tenant,
        tenants=caller.scope.tenants,
        rule_id=rule_id,
        group_key=body.get("groupKey"),
        starts_at=starts,
        ends_at=ends,
        reason=body["reason"].strip(),
        owner=body["owner"].strip(),
        created_by=caller.name,
        created_at=now,
    )
    await run_in_threadpool(store.add_silence, silence)
    return ORJSONResponse(_silence_wire(silence), status_code=201)


@router.get("/alert/silences", summary="Silences the caller may see (active and upcoming unless all=true)")
async def list_silences(
    request: Request,
    caller: Annotated[Caller, Depends(require("monitor:read"))],
    all: Annotated[bool, Query(description="Include expired silences")] = False,
) -> Response:
    now = utcnow()
    silences = await run_in_threadpool(services(request).store.list_silences)
    data = [_silence_wire(s) for s in silences if _visible(s, caller) and (all or s.ends_at > now)]
    return ORJSONResponse({"data": data, "endCursor": None, "hasMore": False})


@router.delete("/alert/silences/{silence_id}", status_code=204, summary="Lift a silence")
async def delete_silence(
    request: Request, silence_id: str, caller: Annotated[Caller, Depends(require("alerts:write"))]
) -> Response:
    store = services(request).store
    silences = await run_in_threadpool(store.list_silences)
    if not any(s.id == silence_id and _visible(s, caller) for s in silences):
        raise ApiError(404, f"no silence {silence_id!r}")
    try:
        await run_in_threadpool(store.delete_silence, silence_id)
    except NotFound as exc:
        raise ApiError(404, f"no silence {silence_id!r}") from exc
    return Response(status_code=204)


def _visible(s: SilenceRecord, caller: Caller) -> bool:
    return caller.scope.sees(s.tenant, s.tenants)


def _silence_wire(s: SilenceRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "tenant": s.tenant,
        "ruleId": s.rule_id,
        "groupKey": s.group_key,
        "startsAt": rfc3339(s.starts_at),
        "endsAt": rfc3339(s.ends_at),
        "reason": s.reason,
        "owner": s.owner,
        "createdBy": s.created_by,
        "createdAt": rfc3339(s.created_at),
    }


def _local_time(value: Any, zone: ZoneInfo, name: str) -> datetime | None:
    """An RFC 3339 time, or a local time without offset read on the tenant's clock (DST-aware)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{name} must be a time such as 2026-12-24T18:00 or 2026-12-24T17:00:00Z", field=name)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(
            422, f"{name} must be a time such as 2026-12-24T18:00 or 2026-12-24T17:00:00Z", field=name
        ) from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return at.astimezone(ZoneInfo("UTC"))


def _csv(value: str | None, allowed: tuple[str, ...] | None, name: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in (value or "").split(",") if v.strip())
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise ApiError(400, f"{name} must be one of {', '.join(allowed)}", field=name)
    return items
