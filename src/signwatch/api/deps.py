"""Request dependencies: the app's services, and the bearer-token check every data endpoint declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request

from signwatch.api.errors import ApiError
from signwatch.auth.limiter import FailureLimiter
from signwatch.auth.sessions import COOKIE, CSRF_HEADER
from signwatch.auth.tokens import Caller, authenticate
from signwatch.config import Settings
from signwatch.export.jobs import Exporter
from signwatch.geo import GeoResolver
from signwatch.ingest import GroupCommitter, Ingestor, KeyRing
from signwatch.metrics import Metrics
from signwatch.notify.outbox import Outbox
from signwatch.rules.worker import EngineLoop
from signwatch.store import Store


@dataclass
class Services:
    """What the handlers use; built once by create_app and kept on app.state."""

    settings: Settings
    store: Store
    metrics: Metrics
    geo: GeoResolver
    keyring: KeyRing
    committer: GroupCommitter
    ingestor: Ingestor
    ready: bool = False
    engine: EngineLoop | None = None
    outbox: Outbox | None = None
    http: httpx.AsyncClient | None = None
    exporter: Exporter | None = None
    export_key: bytes = b""
    export_dir: Path = Path("exports")
    limiter: FailureLimiter = field(default_factory=FailureLimiter)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="signwatch"'}


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def identify(request: Request) -> Caller:
    """The caller of a request, by its bearer token or else its dashboard session cookie (401 without either,
    429 after too many failures from its address, 403 for a cookie-authenticated change without the CSRF
    header)."""
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    by_cookie = False
    if kind.lower() != "bearer" or not token.strip():
        token = request.cookies.get(COOKIE, "")
        by_cookie = True
        if not token:
            raise ApiError(401, "a bearer token or a dashboard session is required", headers=UNAUTHORIZED)
    svc = services(request)
    source = f"ip:{request.client.host if request.client else '-'}"
    wait = svc.limiter.retry_after(source)
    if wait is not None:
        raise ApiError(429, "too many failed authentications; retry later", headers={"Retry-After": str(wait)})
    caller = authenticate(svc.store, token.strip())
    if caller is not None and by_cookie and caller.kind != "session":
        caller = None  # the cookie carries sessions only, never an API token
    if caller is None:
        svc.limiter.failed(source)
        what = "the dashboard session has ended" if by_cookie else "the bearer token is unknown or revoked"
        raise ApiError(401, what, headers=UNAUTHORIZED)
    if by_cookie and request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise ApiError(403, f"a change made with a session cookie needs the header {CSRF_HEADER.title()}: 1")
    return caller


def require(scope: str, *alternatives: str) -> Callable[[Request], Any]:
    """A dependency admitting callers whose bearer token holds `scope` or one of `alternatives` (401 without
    a token, 403 without the scope)."""

    def check(request: Request) -> Caller:
        caller = identify(request)
        if not any(caller.has(s) for s in (scope, *alternatives)):
            raise ApiError(403, f"the token lacks the {scope} scope", code="insufficient_scope")
        request.state.caller = caller  # the audit trail records who made the call (api/auditing.py)
        return caller

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check
