"""Webhook receivers: `POST /webhooks/atlas/{tenant}`, platform mode `POST /webhooks/atlas` + Atlas-Account,
and DocuSign Connect `POST /webhooks/docusign/{tenant}`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from signwatch.api.deps import Services, services
from signwatch.api.errors import error_response
from signwatch.api.responses import ORJSONResponse
from signwatch.ingest import ARCHIVED_HEADERS, Receipt, archived

router = APIRouter(tags=["webhooks"])

_DOC: dict[int | str, dict[str, Any]] = {
    202: {"description": "Stored (committed before this answer)."},
    200: {"description": "Duplicate event id: acknowledged, not stored again."},
    400: {"description": "Not JSON, or no event type / envelope id."},
    401: {"description": "Missing or bad X-Atlas-Signature, or unknown tenant."},
    413: {"description": "Body over the size limit (1 MiB by default)."},
    503: {"description": "The store cannot commit; retry after Retry-After seconds."},
}


def _answer(r: Receipt) -> Response:
    if r.status < 300:
        return ORJSONResponse(
            {"status": r.verdict, "eventId": r.event_id, "deliveryId": r.delivery_id}, status_code=r.status
        )
    headers = {"Retry-After": str(r.retry_after)} if r.retry_after else None
    if r.status == 401:
        headers = {"WWW-Authenticate": 'HMAC realm="atlas"'}
    resp = error_response(r.status, r.error_code, r.message, r.field, headers)
    resp.headers["X-Signwatch-Delivery"] = r.delivery_id
    return resp


# -- the hot path, in plain ASGI -------------------------------------------------------------------------
PREFIX = "/webhooks/atlas"
_KEPT = frozenset(h.encode() for h in ARCHIVED_HEADERS)
_JSON = [(b"content-type", b"application/json")]


def is_webhook(scope: Scope) -> bool:
    """True for the requests `fast_path` answers: POST /webhooks/atlas and /webhooks/atlas/{tenant}."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    path: str = scope["path"]
    return path == PREFIX or (path.startswith(PREFIX + "/") and "/" not in path[len(PREFIX) + 1 :])


async def fast_path(svc: Services, scope: Scope, receive: Receive, send: Send) -> None:
    """The webhook receivers without routing, dependencies or Request objects: the same `Ingestor` call and
    the same answers as the routes below (which stay for the OpenAPI document). Measured: the framework
    took about half of the per-delivery CPU."""
    path: str = scope["path"]
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _KEPT}
    tenant = path[len(PREFIX) + 1 :] if path != PREFIX else headers.get("atlas-account")
    limit = svc.settings.max_body_bytes
    declared = headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limit
    body = bytearray()
    more = True
    while more and len(body) <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    size = max(len(body), int(declared) if declared.isdigit() else 0)
    too_large = too_large or len(body) > limit
    receipt = await svc.ingestor.receive(
        tenant=tenant or None, path=path, headers=headers, body=bytes(body), body_size=size, too_large=too_large
    )
    if receipt.status < 300:  # the common answer, sent as two ASGI messages without a Response object
        answer = orjson.dumps(
            {"status": receipt.verdict, "eventId": receipt.event_id, "deliveryId": receipt.delivery_id}
        )
        headers_out = [*_JSON, (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": receipt.status, "headers": headers_out})
        await send({"type": "http.response.body", "body": answer})
        return
    await _answer(receipt)(scope, receive, send)


class _ViaFastPath(Response):
    """Hands the request, body unread, to `fast_path`: the routes below exist for routing and the OpenAPI
    document; `SignwatchApp` normally answers these paths before routing."""

    def __init__(self, svc: Services) -> None:
        super().__init__()
        self._svc = svc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await fast_path(self._svc, scope, receive, send)


@router.post(
    "/webhooks/docusign/{tenant}",
    status_code=202,
    responses={**_DOC, 401: {"description": "No X-DocuSign-Signature-N matches, or unknown tenant."}},
    summary="Receive a DocuSign Connect message (JSON SIM)",
)
async def docusign_connect(tenant: str, request: Request) -> Response:
    """DocuSign Connect for estates that dual-run: verified with the tenant's key as Connect HMAC key,
    mapped to the same event vocabulary (docs/docusign.md), archived like every delivery."""
    svc = services(request)
    limit = svc.settings.max_body_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            break
    headers = {k.lower(): v for k, v in request.headers.items() if archived(k.lower())}
    receipt = await svc.ingestor.receive(
        tenant=tenant,
        path=request.url.path,
        headers=headers,
        body=bytes(body[: limit + 1]),
        body_size=len(body),
        too_large=len(body) > limit,
        source="docusign-connect",
    )
    return _answer(receipt)


@router.post("/webhooks/atlas/{tenant}", status_code=202, responses=_DOC, summary="Receive an Atlas webhook")
async def atlas_tenant(tenant: str, request: Request) -> Response:
    return _ViaFastPath(services(request))


@router.post("/webhooks/atlas", status_code=202, responses=_DOC, summary="Receive an Atlas webhook (platform)")
async def atlas_platform(request: Request) -> Response:
    return _ViaFastPath(services(request))
