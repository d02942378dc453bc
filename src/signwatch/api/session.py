"""Sign-in for the dashboard: sessions opened with an API token or through the organisation's OpenID provider.

- `POST /auth/session {"token"}` opens a session standing for an API token; `DELETE /auth/session` ends it;
  `GET /auth/me` says who the caller is; `GET /auth/providers` says whether IdP sign-in is configured.
- `GET /auth/oidc/login?next=/ui/…` starts an authorization-code sign-in with PKCE (S256) at the issuer
  found by discovery; `GET /auth/oidc/callback` exchanges the code, verifies the ID token (signature by the
  issuer's JWKS, `iss`, `aud`, `exp`, `nonce`: Authlib), matches the person to their SCIM user, and grants
  what their groups map to (auth/grants.py: the ID token's groups claim and their SCIM groups). A person
  deactivated over SCIM, or whose groups grant nothing, is refused. The sign-in's own state (state, nonce,
  PKCE verifier, `next`) lives ten minutes in a signed cookie of the `/auth/oidc` sub-application.
Every sign-in and sign-out is written to the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

from signwatch.api.deps import Services, identify, services
from signwatch.api.errors import ApiError, error_response
from signwatch.api.responses import ORJSONResponse
from signwatch.audit import AuditRecord
from signwatch.auth.grants import grant_for
from signwatch.auth.sessions import COOKIE, display_name, session_for_person, session_from_token
from signwatch.auth.tokens import Caller, authenticate
from signwatch.events import utcnow
from signwatch.store import Scope, TokenRecord

router = APIRouter(tags=["auth"])
IDP = "idp"


def me(caller: Caller) -> dict[str, Any]:
    return {
        "name": display_name(caller.name),
        "kind": caller.kind,
        "scopes": sorted(caller.scopes),
        "tenants": None if caller.scope.tenants is None else sorted(caller.scope.tenants),
        "user": caller.user_id,
        "expiresAt": None if caller.expires_at is None else caller.expires_at.isoformat(),
    }


@router.get("/auth/providers", summary="How one may sign in to the dashboard")
async def providers(request: Request) -> dict[str, Any]:
    return {"token": True, "oidc": _oidc_configured(services(request))}


@router.get("/auth/me", summary="The signed-in caller (session cookie or bearer token)")
async def who(request: Request) -> dict[str, Any]:
    return me(await run_in_threadpool(identify, request))


@router.post("/auth/session", summary="Open a dashboard session with an API token")
async def open_session(request: Request) -> Response:
    svc = services(request)
    token = await _token_field(request)
    source = f"ip:{request.client.host if request.client else '-'}"
    wait = svc.limiter.retry_after(source)
    if wait is not None:
        raise ApiError(429, "too many failed sign-ins; retry later", headers={"Retry-After": str(wait)})
    caller = await run_in_threadpool(authenticate, svc.store, token)
    if caller is None or caller.kind == "session":
        svc.limiter.failed(source)
        await _audit(svc, "login", "token", None, 401)
        raise ApiError(401, "the token is unknown, revoked or expired")
    now = utcnow()
    record, secret = await run_in_threadpool(
        session_from_token, svc.store, caller, timedelta(hours=svc.settings.session_ttl_hours), now
    )
    await _audit(svc, "login", "token", _caller_of(record, caller.name), 200)
    response = ORJSONResponse(me(_caller_of(record, caller.name)))
    _set_cookie(response, svc, secret, record)
    return response


@router.delete("/auth/session", summary="Sign out: end the dashboard session")
async def close_session(request: Request) -> Response:
    svc = services(request)
    secret = request.cookies.get(COOKIE)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    if not secret:
        return response
    caller = await run_in_threadpool(authenticate, svc.store, secret)
    if caller is not None and caller.kind == "session":
        await run_in_threadpool(svc.store.revoke_token, caller.token_id, utcnow())
        await _audit(svc, "logout", "session", caller, 204)
    return response


# -- OpenID Connect -----------------------------------------------------------------------------------------
async def oidc_login(request: Request) -> Response:
    svc: Services = request.app.state.services
    if not _oidc_configured(svc):
        return error_response(404, "not_found", "sign-in with an identity provider is not configured")
    client = _client(request)
    request.session.clear()
    request.session["next"] = _local_path(request.query_params.get("next"))
    try:
        result: Response = await client.authorize_redirect(request, _callback_url(request, svc))
    except Exception as exc:  # discovery failed: the IdP is down or misconfigured
        return error_response(503, "unavailable", f"the identity provider cannot be reached: {_one_line(exc)}")
    return result


async def oidc_callback(request: Request) -> Response:
    svc: Services = request.app.state.services
    if not _oidc_configured(svc):
        return error_response(404, "not_found", "sign-in with an identity provider is not configured")
    next_path = _local_path(request.session.pop("next", None))
    try:
        token = await _client(request).authorize_access_token(request)
    except OAuthError as exc:
        await _audit(svc, "login", "oidc", None, 401, {"error": exc.error})
        return error_response(401, "unauthorized", f"sign-in failed: {_one_line(exc.description or exc.error)}")
    except Exception as exc:  # the token endpoint or the JWKS could not be reached or answered nonsense
        return error_response(503, "unavailable", f"the identity provider cannot be reached: {_one_line(exc)}")
    claims = token.get("userinfo")
    if not claims:
        return error_response(401, "unauthorized", "sign-in failed: the identity provider sent no ID token")
    refusal, caller, secret, record = await run_in_threadpool(_sign_in, svc, dict(claims))
    if refusal is not None:
        return refusal
    assert caller is not None and secret is not None and record is not None
    await _audit(svc, "login", "oidc", caller, 303)
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(response, svc, secret, record)
    return response


def _sign_in(
    svc: Services, claims: dict[str, Any]
) -> tuple[Response | None, Caller | None, str | None, TokenRecord | None]:
    settings, store = svc.settings, svc.store
    username = str(claims.get(settings.oidc_username_claim) or claims.get("email") or claims.get("sub") or "")
    groups = claims.get(settings.oidc_groups_claim) or []
    names = {str(g) for g in groups} if isinstance(groups, list) else {str(groups)}
    found = store.list_scim_users(username) if username else []
    if not found and claims.get("email") and claims.get("email") != username:
        found = store.list_scim_users(str(claims["email"]))
    user = found[0] if found else None
    if user is not None and not user.active:
        return error_response(403, "forbidden", f"{username} is deactivated"), None, None, None
    if user is not None:
        names |= {name for _, name in user.groups}
    grant = grant_for(store.list_group_mappings(), names)
    if grant is None:
        groups_text = ", ".join(sorted(names)) or "none"
        reason = f"no group of {username} grants access to signwatch (groups: {groups_text})"
        return error_response(403, "forbidden", reason), None, None, None
    ttl = timedelta(hours=settings.session_ttl_hours)
    record, secret = session_for_person(
        store, username, grant.scopes, grant.tenants, user.id if user else None, ttl, utcnow()
    )
    return None, _caller_of(record, record.name), secret, record


def oidc_app(svc: Services) -> Starlette:
    """The `/auth/oidc` sub-application, with the signed cookie that carries a sign-in's state."""
    app = Starlette(
        routes=[
            Route("/login", oidc_login, methods=["GET"], name="oidc_login"),
            Route("/callback", oidc_callback, methods=["GET"], name="oidc_callback"),
        ],
        middleware=[Middleware(_SignInState, svc=svc)],
    )
    app.state.services = svc
    return app


class _SignInState:
    """Starlette's SessionMiddleware, keyed by the install's kept secret, which exists once `serve` started."""

    def __init__(self, app: ASGIApp, svc: Services) -> None:
        self.app, self.svc = app, svc
        self.inner: ASGIApp | None = None

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if self.inner is None:
            if not self.svc.export_key:
                await error_response(503, "unavailable", "signwatch is starting; retry")(scope, receive, send)
                return
            key = hmac.new(self.svc.export_key, b"oidc-sign-in-state", hashlib.sha256).hexdigest()
            self.inner = SessionMiddleware(
                self.app,
                secret_key=key,
                session_cookie="signwatch_oidc",
                max_age=600,
                path="/auth/oidc",
                same_site="lax",
                https_only=_secure(self.svc),
            )
        await self.inner(scope, receive, send)


def _client(request: Request) -> Any:
    app_state = request.app.state
    oauth: OAuth | None = getattr(app_state, "oauth", None)
    if oauth is None:
        settings = app_state.services.settings
        oauth = OAuth()
        secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        oauth.register(
            IDP,
            client_id=settings.oidc_client_id,
            client_secret=secret,
            server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            },
        )
        app_state.oauth = oauth
    return oauth.create_client(IDP)


def _oidc_configured(svc: Services) -> bool:
    return bool(svc.settings.oidc_issuer and svc.settings.oidc_client_id)


def _callback_url(request: Request, svc: Services) -> str:
    if svc.settings.public_url:
        return svc.settings.public_url.rstrip("/") + "/auth/oidc/callback"
    return str(request.url.replace(path="/auth/oidc/callback", query=""))


def _local_path(value: Any) -> str:
    """Where to land after sign-in: a path on this host only (never `//host` or a URL: no open redirect)."""
    text = str(value or "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/ui/"
    return text


def _secure(svc: Services) -> bool:
    if svc.settings.session_cookie_secure is not None:
        return svc.settings.session_cookie_secure
    return bool(svc.settings.public_url and svc.settings.public_url.startswith("https:"))


def _set_cookie(response: Response, svc: Services, secret: str, record: TokenRecord) -> None:
    max_age = None
    if record.expires_at is not None:
        max_age = max(0, int((record.expires_at - utcnow()).total_seconds()))
    response.set_cookie(COOKIE, secret, max_age=max_age, path="/", httponly=True, samesite="lax", secure=_secure(svc))


def _caller_of(record: TokenRecord, name: str) -> Caller:
    return Caller(
        record.id, name, record.scopes, Scope(record.tenants), record.kind, record.user_id, None, record.expires_at
    )


async def _token_field(request: Request) -> str:
    kind = request.headers.get("content-type", "")
    try:
        if "application/json" in kind:
            body = await request.json()
            value = body.get("token") if isinstance(body, dict) else None
        else:  # an HTML form (application/x-www-form-urlencoded)
            value = dict(parse_qsl((await request.body()).decode("utf-8", "replace"))).get("token")
    except ValueError:
        raise ApiError(400, 'send {"token": "…"} as JSON or a form field `token`') from None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "a token is required", field="token")
    return value.strip()


async def _audit(
    svc: Services, action: str, method: str, caller: Caller | None, status: int, extra: dict[str, Any] | None = None
) -> None:
    record = AuditRecord(
        at=utcnow(),
        actor=caller.name if caller else "anonymous",
        actor_id=caller.token_id if caller else None,
        action=action,
        params={"method": method, **(extra or {})},
        status=status,
    )
    await run_in_threadpool(svc.store.append_audit, [record])


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())[:300]
