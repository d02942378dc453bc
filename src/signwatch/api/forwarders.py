"""Forwarder status (design §2 export/): `GET /monitor/v2/export/forwarders`, what `signwatch forward status`
prints — each forwarder's checkpoint, lag in events and seconds, and last error.

A forwarder of one tenant is visible to callers covering that tenant; one forwarding every tenant only to
callers without tenant restriction (its lag counts every tenant's events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch.api.deps import require, services
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import rfc3339, utcnow
from signwatch.export.forward import Status, status

router = APIRouter(prefix="/monitor/v2/export", tags=["export"])


@router.get("/forwarders", summary="Forwarders: checkpoint, lag and last error of each")
async def list_forwarders(request: Request, caller: Annotated[Caller, Depends(require("export:read"))]) -> Response:
    lines = await run_in_threadpool(status, services(request).store, utcnow())
    data = [_wire(s) for s in lines if caller.scope.sees(s.tenant, None)]
    request.state.audit_count = len(data)
    return ORJSONResponse({"data": data, "endCursor": None, "hasMore": False})


def _wire(s: Status) -> dict[str, Any]:
    return {
        "name": s.name,
        "sink": s.sink,
        "format": s.format,
        "tenant": s.tenant,
        "position": s.position,
        "forwarded": s.forwarded,
        "lagEvents": s.lag_events,
        "lagSeconds": round(s.lag_seconds, 3),
        "lastOkAt": rfc3339(s.last_ok_at) if s.last_ok_at else None,
        "lastError": s.last_error,
    }
