"""Rule API (design §7): `/monitor/v2/alert/rules` — CRUD, validation with a dry run, and backtests."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch.alerts import wire as alert_wire
from signwatch.api.data import parse_bound
from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import utcnow
from signwatch.rules import catalog
from signwatch.rules.backtest import BadRange, backtest
from signwatch.rules.live import ROLLED
from signwatch.rules.spec import RuleError, parse_rule
from signwatch.store import NotFound
from signwatch.store.base import RuleRecord

router = APIRouter(prefix="/monitor/v2/alert", tags=["rules"])
JsonObject = Annotated[dict[str, Any], Body(description="A rule: see docs/rules.md")]
_RANGE_KEYS = ("from", "to")


def _invalid(exc: RuleError) -> ApiError:
    details = [{"field": f, "message": m} for f, m in exc.problems]
    return ApiError(422, str(exc), field=exc.problems[0][0] if exc.problems else None, details=details)


def _rule_or_404(request: Request, caller: Caller, rule_id: str) -> RuleRecord:
    rule = services(request).store.get_rule(rule_id)
    if rule is None or not catalog.visible(rule, caller.scope):
        raise ApiError(404, f"no rule {rule_id!r}")
    return rule


@router.get("/rules", summary="List the alert rules the caller may see")
async def list_rules(
    request: Request, caller: Annotated[Caller, Depends(require("monitor:read", "rules:write"))]
) -> Response:
    rules = await run_in_threadpool(services(request).store.list_rules)
    data = [catalog.wire(r) for r in rules if catalog.visible(r, caller.scope)]
    return ORJSONResponse({"data": data, "endCursor": None, "hasMore": False})


@router.post("/rules", status_code=201, summary="Create an alert rule")
async def create_rule(
    request: Request, body: JsonObject, caller: Annotated[Caller, Depends(require("rules:write"))]
) -> Response:
    store = services(request).store
    try:
        record, _ = await run_in_threadpool(catalog.create, store, body, caller.scope, caller.name, utcnow())
    except RuleError as exc:
        raise _invalid(exc) from None
    except catalog.ForeignTenant as exc:
        raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant") from exc
    return ORJSONResponse(
        catalog.wire(record), status_code=201, headers={"Location": f"{request.url.path}/{record.id}"}
    )


@router.post("/rules/validate", summary="Check a rule, and count what it would have fired in a range")
async def validate_rule(
    request: Request, body: JsonObject, caller: Annotated[Caller, Depends(require("monitor:read", "rules:write"))]
) -> Response:
    rule_body = body.get("rule", {k: v for k, v in body.items() if k not in _RANGE_KEYS})
    try:
        spec = parse_rule(rule_body)
        catalog.check_tenant(services(request).store, spec, caller.scope)
    except RuleError as exc:
        raise _invalid(exc) from None
    except catalog.ForeignTenant as exc:
        raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant") from exc
    out: dict[str, Any] = {"valid": True, "rule": spec.wire()}
    if body.get("from") or body.get("to"):
        start, end = _range(body)
        now = utcnow()
        draft = RuleRecord("draft", spec.name, caller.scope.tenants, spec.wire(), caller.name, now, now)
        alerts = await _backtest(request, draft, spec, start, end, caller, evidence=False)
        out.update({"from": body.get("from"), "to": body.get("to"), "wouldFire": len(alerts)})
        out["alerts"] = [alert_wire(a) for a in alerts]
    return ORJSONResponse(out)


@router.get("/rules/{rule_id}", summary="One alert rule")
async def get_rule(
    request: Request, rule_id: str, caller: Annotated[Caller, Depends(require("monitor:read", "rules:write"))]
) -> Response:
    rule = await run_in_threadpool(_rule_or_404, request, caller, rule_id)
    return ORJSONResponse(catalog.wire(rule))


@router.put("/rules/{rule_id}", summary="Replace an alert rule")
async def put_rule(
    request: Request, rule_id: str, body: JsonObject, caller: Annotated[Caller, Depends(require("rules:write"))]
) -> Response:
    return await _change(request, rule_id, body, caller, merge=False)


@router.patch("/rules/{rule_id}", summary="Change fields of an alert rule (JSON merge patch)")
async def patch_rule(
    request: Request, rule_id: str, body: JsonObject, caller: Annotated[Caller, Depends(require("rules:write"))]
) -> Response:
    return await _change(request, rule_id, body, caller, merge=True)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete an alert rule (its alerts stay)")
async def delete_rule(
    request: Request, rule_id: str, caller: Annotated[Caller, Depends(require("rules:write"))]
) -> Response:
    rule = await run_in_threadpool(_rule_or_404, request, caller, rule_id)
    store = services(request).store
    try:
        await run_in_threadpool(store.delete_rule, rule.id)
    except NotFound as exc:
        raise ApiError(404, f"no rule {rule_id!r}") from exc
    await run_in_threadpool(catalog.close_alerts, store, rule.id, caller.name, "rule deleted", utcnow())
    return Response(status_code=204)


@router.post("/rules/{rule_id}/backtest", summary="The alerts a rule would have fired in a past range")
async def backtest_rule(
    request: Request,
    rule_id: str,
    caller: Annotated[Caller, Depends(require("monitor:read", "rules:write"))],
    body: Annotated[dict[str, Any], Body(description='{"from": ..., "to": ...}')],
) -> Response:
    rule = await run_in_threadpool(_rule_or_404, request, caller, rule_id)
    start, end = _range(body)
    try:
        spec = parse_rule(rule.spec)
    except RuleError as exc:  # stored by an older version; fix it with PUT
        raise _invalid(exc) from None
    alerts = await _backtest(request, rule, spec, start, end, caller, evidence=True)
    request.state.audit_count = len(alerts)
    return ORJSONResponse(
        {
            "ruleId": rule.id,
            "from": body.get("from"),
            "to": body.get("to"),
            "count": len(alerts),
            "data": [alert_wire(a) for a in alerts],
        }
    )


async def _change(request: Request, rule_id: str, body: dict[str, Any], caller: Caller, *, merge: bool) -> Response:
    store = services(request).store
    rule = await run_in_threadpool(_rule_or_404, request, caller, rule_id)
    try:
        updated, _ = await run_in_threadpool(
            lambda: catalog.change(store, rule, body, caller.scope, utcnow(), merge=merge)
        )
    except RuleError as exc:
        raise _invalid(exc) from None
    except catalog.ForeignTenant as exc:
        raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant") from exc
    if rule.spec.get("enabled", True) and not updated.spec.get("enabled", True):
        await run_in_threadpool(catalog.close_alerts, store, rule.id, caller.name, "rule disabled", utcnow())
    return ORJSONResponse(catalog.wire(updated))


def _range(body: dict[str, Any]) -> tuple[Any, Any]:
    for key in _RANGE_KEYS:
        if not isinstance(body.get(key), str) or not body.get(key):
            raise ApiError(400, f"{key} is required: a date (YYYY-MM-DD) or an RFC 3339 time", field=key)
    start = parse_bound(body["from"], "from", end=False)
    end = parse_bound(body["to"], "to", end=True)
    if start is None or end is None or start >= end:
        raise ApiError(400, "from must be before to", field="from")
    return start, end


async def caught_up(request: Request, wait_seconds: float = 10.0) -> None:
    """Wait until the rules engine has folded every committed event into the rollups a backtest reads."""
    svc = services(request)
    target = await run_in_threadpool(svc.store.log_end)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while int(await run_in_threadpool(svc.store.get_position, ROLLED) or 0) < target:
        if svc.engine is not None:
            svc.engine.poke()
        if asyncio.get_running_loop().time() > deadline:
            raise ApiError(503, "the rules engine is behind the event log; retry shortly", headers={"Retry-After": "5"})
        await asyncio.sleep(0.02)


async def _backtest(
    request: Request, rule: RuleRecord, spec: Any, start: Any, end: Any, caller: Caller, *, evidence: bool
) -> list[Any]:
    store = services(request).store
    await caught_up(request)
    try:
        return await run_in_threadpool(lambda: backtest(store, rule, spec, start, end, caller.scope, evidence=evidence))
    except BadRange as exc:
        raise ApiError(400, str(exc), field="from") from exc
