"""System endpoints: `GET /healthz` (ready or not) and `GET /metrics` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from signwatch import __version__
from signwatch.api.deps import services
from signwatch.api.errors import error_response
from signwatch.api.responses import ORJSONResponse
from signwatch.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="200 when ready to ingest and serve")
async def healthz(request: Request) -> Response:
    svc = services(request)
    if not svc.ready:
        return error_response(503, "starting", "not ready yet")
    try:
        await run_in_threadpool(svc.store.ping)
    except Exception as exc:  # any database failure means not ready
        return error_response(503, "unavailable", f"store unreachable: {type(exc).__name__}")
    return ORJSONResponse({"status": "ok", "version": __version__, "db": svc.store.dialect})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    return Response(services(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
