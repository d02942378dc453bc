"""Simulator (design §2 simulate/): a FAKE Atlas REST list API, for signwatch's Atlas poller to poll.

FAKE: this stands in for the real Atlas API, which cannot run here. It serves the envelopes of a simulated
run, as they stood at the state's "now" (events that occurred later are invisible, so tests can move time
forward), and grows as live events are added. Endpoints, each requiring ``Authorization: Bearer <tenant
API key>`` and ``Atlas-Account: <tenant slug>``:

- ``GET /api/envelopes?status=&updated_since=&cursor=&limit=`` — envelopes ordered by (updated_at, id),
  keyset-paginated with an opaque ``next_cursor`` (null on the last page); ``updated_since`` is inclusive.
- ``GET /api/envelope/{id}/status`` — one envelope's status and event history.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from signwatch.simulate.lifecycle import SimEvent, rfc3339, status_of
from signwatch.simulate.model import SimRun
from signwatch.simulate.world import SimTenant

STATUSES = ("sent", "delivered", "viewed", "signed", "completed", "declined", "voided")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class ApiError(Exception):
    """A refusal, answered as ``{"error": {"code", "message", "field"?}}``."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class EnvelopeView:
    """An envelope as the API shows it: the events that occurred up to "now", oldest first."""

    id: str
    history: tuple[SimEvent, ...]

    @property
    def status(self) -> str:
        return status_of(self.history[-1].type)

    @property
    def updated_at(self) -> datetime:
        return self.history[-1].occurred_at

    def summary(self) -> dict[str, Any]:
        """The list item. ``ip_address`` and ``user_agent`` are those of the latest change, made by the
        sender (sent, voided), the ``recipient`` (null until they act), or Atlas (completed: both null)."""
        first, last = self.history[0].payload, self.history[-1].payload
        recipient = next(
            (e.payload["data"]["recipient"] for e in self.history if "recipient" in e.payload["data"]), None
        )
        return {
            "id": self.id,
            "status": self.status,
            "created_at": first["created_at"],
            "updated_at": last["created_at"],
            "sender": first["data"]["sender"],
            "recipient": recipient,
            "subject": first["data"]["subject"],
            "metadata": first["data"]["metadata"],
            "ip_address": last["data"].get("ip_address"),
            "user_agent": last["data"].get("user_agent"),
        }

    def status_document(self) -> dict[str, Any]:
        """The status endpoint's body, with the full visible history."""
        first = self.history[0].payload
        return {
            "id": self.id,
            "envelope_id": self.id,
            "status": self.status,
            "updated_at": rfc3339(self.updated_at),
            "sender": first["data"]["sender"],
            "metadata": first["data"]["metadata"],
            "history": [
                {"event": event.type, "at": event.payload["created_at"], "event_id": event.id} for event in self.history
            ],
        }


class AtlasState:
    """The fake API's data: every tenant's events by envelope, and the clock deciding what is visible.

    ``clock`` defaults to the wall clock; tests pass their own to move "now". Not thread-safe: add events
    from the event loop that serves the app.
    """

    def __init__(
        self,
        tenants: Iterable[SimTenant],
        events: Iterable[SimEvent] = (),
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenants = {tenant.slug: tenant for tenant in tenants}
        self.clock = clock or (lambda: datetime.now(UTC))
        self._envelopes: dict[str, dict[str, list[SimEvent]]] = {slug: {} for slug in self.tenants}
        self.add(events)

    def add(self, events: Iterable[SimEvent]) -> None:
        """Record more events (for instance each live chunk); unknown tenants are ignored."""
        for event in events:
            envelopes = self._envelopes.get(event.tenant)
            if envelopes is not None:
                history = envelopes.setdefault(event.envelope_id, [])
                bisect.insort(history, event, key=lambda item: (item.occurred_at, item.id))

    def envelopes(self, tenant: str) -> list[EnvelopeView]:
        """The tenant's envelopes sent by now, as they stand now, in (updated_at, id) order."""
        now = self.clock()
        views = [
            view
            for envelope_id, history in self._envelopes.get(tenant, {}).items()
            if (view := _view(envelope_id, history, now)) is not None
        ]
        views.sort(key=lambda view: (view.updated_at, view.id))
        return views

    def envelope(self, tenant: str, envelope_id: str) -> EnvelopeView | None:
        """One envelope as it stands now, or None when unknown or not yet sent."""
        history = self._envelopes.get(tenant, {}).get(envelope_id)
        return _view(envelope_id, history, self.clock()) if history else None


def _view(envelope_id: str, history: list[SimEvent], now: datetime) -> EnvelopeView | None:
    visible = bisect.bisect_right(history, now, key=lambda event: event.occurred_at)
    return EnvelopeView(envelope_id, tuple(history[:visible])) if visible else None


def create_atlas_api(
    source: SimRun | AtlasState,
    tenants: Iterable[SimTenant] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The FAKE Atlas API over a run's history (its tenants unless ``tenants`` given) or an existing state.

    The state is reachable as ``app.state.atlas`` (add live events there).
    """
    if isinstance(source, AtlasState):
        state = source
    else:
        state = AtlasState(tenants if tenants is not None else source.config.tenants, source.events, clock=clock)

    async def list_envelopes(request: Request) -> JSONResponse:
        tenant = _authenticate(request, state)
        status = request.query_params.get("status", "any")
        if status != "any" and status not in STATUSES:
            raise ApiError(400, "invalid_request", f"status must be one of any, {', '.join(STATUSES)}", "status")
        since = _parse_time(request.query_params.get("updated_since"))
        after = _decode_cursor(request.query_params.get("cursor"))
        limit = _parse_limit(request.query_params.get("limit"))
        matching = [
            view
            for view in state.envelopes(tenant)
            if (status == "any" or view.status == status)
            and (since is None or view.updated_at >= since)
            and (after is None or (view.updated_at, view.id) > after)
        ]
        page = matching[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(matching) > limit else None
        return JSONResponse({"data": [view.summary() for view in page], "next_cursor": next_cursor})

    async def envelope_status(request: Request) -> JSONResponse:
        tenant = _authenticate(request, state)
        view = state.envelope(tenant, request.path_params["envelope_id"])
        if view is None:
            raise ApiError(404, "not_found", "no such envelope")
        return JSONResponse(view.status_document())

    async def refuse(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.field is not None:
            body["field"] = error.field
        return JSONResponse({"error": body}, status_code=error.status)

    app = Starlette(
        routes=[
            Route("/api/envelopes", list_envelopes, methods=["GET"]),
            Route("/api/envelope/{envelope_id}/status", envelope_status, methods=["GET"]),
        ],
        exception_handlers={ApiError: refuse},
    )
    app.state.atlas = state
    return app


async def serve_atlas_api(
    state: AtlasState, port: int, *, host: str = "127.0.0.1", stop: asyncio.Event | None = None
) -> None:
    """Serve the FAKE Atlas API with uvicorn until ``stop`` is set, the task is cancelled or the process is
    interrupted; each way shuts the server down cleanly (listening socket closed)."""
    config = uvicorn.Config(create_atlas_api(state), host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    watcher = asyncio.ensure_future(_exit_when_set(server, stop)) if stop is not None else None
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
    finally:
        if watcher is not None:
            watcher.cancel()


async def _exit_when_set(server: uvicorn.Server, stop: asyncio.Event) -> None:
    await stop.wait()
    server.should_exit = True


def _authenticate(request: Request, state: AtlasState) -> str:
    """The tenant slug the request is entitled to, or a 401."""
    slug = request.headers.get("atlas-account", "")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    tenant = state.tenants.get(slug)
    if tenant is None or scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), tenant.api_key.encode()):
        raise ApiError(401, "unauthorized", "a valid Bearer API key and Atlas-Account header are required")
    return slug


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(400, "invalid_request", "updated_since must be an RFC 3339 time with offset", "updated_since")
    return moment.astimezone(UTC)


def _parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(400, "invalid_request", f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    return int(value)


def _encode_cursor(view: EnvelopeView) -> str:
    raw = json.dumps({"u": view.updated_at.isoformat(), "i": view.id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(value: str | None) -> tuple[datetime, str] | None:
    if value is None:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return datetime.fromisoformat(raw["u"]).astimezone(UTC), str(raw["i"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise ApiError(400, "invalid_request", "cursor is not valid", "cursor") from None
