"""OAuth 2.0 token endpoint (RFC 6749 §4.4, RFC 7523): `POST /oauth/token` for service principals.

Grants: `client_credentials` (client id and secret, by HTTP Basic or in the form) and
`urn:ietf:params:oauth:grant-type:jwt-bearer` (an RS256 assertion signed by a key registered for the
principal: `iss` = client id, `aud` = this host or this endpoint, `exp`/`iat` checked, at most an hour
long). Requested scopes must be a subset of the principal's. Answers follow RFC 6749 exactly — success
`{"access_token", "token_type": "Bearer", "expires_in", "scope"}` and errors `{"error",
"error_description"}` — because off-the-shelf OAuth clients parse them; this endpoint alone does not use
signwatch's own error envelope.
"""

from __future__ import annotations

import base64
import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from signwatch.api.deps import services
from signwatch.audit import AuditRecord
from signwatch.auth.principals import issue_access_token
from signwatch.auth.tokens import SCOPES, hash_token
from signwatch.events import utcnow
from signwatch.store.base import PrincipalRecord

router = APIRouter(tags=["oauth"])
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = timedelta(hours=1)
LEEWAY_SECONDS = 60


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@router.post("/oauth/token", summary="OAuth 2.0 token endpoint (client_credentials, JWT bearer)")
async def token(request: Request) -> Response:
    try:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise OAuthError("invalid_request", "send the parameters form-encoded (application/x-www-form-urlencoded)")
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        principal, scopes = await run_in_threadpool(_grant, request, fields)
        ttl = timedelta(seconds=services(request).settings.oauth_token_ttl_seconds)
        issued, secret = await run_in_threadpool(
            issue_access_token, services(request).store, principal, scopes, ttl, utcnow()
        )
        record = AuditRecord(
            at=utcnow(),
            actor=principal.name,
            actor_id=principal.id,
            action="oauth.token",
            target=issued.id,
            params={"grant_type": fields.get("grant_type"), "scope": " ".join(sorted(scopes))},
        )
        await run_in_threadpool(services(request).store.append_audit, [record])
    except OAuthError as exc:
        headers = {"WWW-Authenticate": 'Basic realm="signwatch"'} if exc.status == 401 else {}
        if exc.status == 429:
            headers["Retry-After"] = str(int(services(request).limiter.window))
        refusal = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(refusal, status_code=exc.status, headers={**headers, "Cache-Control": "no-store"})
    body: dict[str, Any] = {
        "access_token": secret,
        "token_type": "Bearer",
        "expires_in": int(ttl.total_seconds()),
        "scope": " ".join(sorted(scopes)),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _grant(request: Request, form: dict[str, str]) -> tuple[PrincipalRecord, frozenset[str]]:
    limiter = services(request).limiter
    keys = [f"ip:{request.client.host if request.client else '-'}"]
    if form.get("client_id"):
        keys.append(f"client:{form['client_id']}")
    wait = limiter.retry_after(*keys)
    if wait is not None:
        raise OAuthError("invalid_request", f"too many failed attempts; retry in {wait} s", 429)
    try:
        return _grant_checked(request, form)
    except OAuthError as exc:
        if exc.error in ("invalid_client", "invalid_grant"):
            limiter.failed(*keys)
        raise


def _grant_checked(request: Request, form: dict[str, str]) -> tuple[PrincipalRecord, frozenset[str]]:
    grant = form.get("grant_type")
    if grant == "client_credentials":
        principal = _client(request, form)
        claimed: str | None = None
    elif grant == JWT_BEARER:
        principal, claimed = _assertion(request, form.get("assertion"))
    elif not grant:
        raise OAuthError("invalid_request", "grant_type is required")
    else:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")
    wanted = form.get("scope") or claimed
    scopes = frozenset(wanted.replace(",", " ").split()) if wanted else principal.scopes
    unknown = scopes - set(SCOPES)
    if unknown or not scopes <= principal.scopes:
        raise OAuthError(
            "invalid_scope", f"scopes not granted to this client: {' '.join(sorted(scopes - principal.scopes))}"
        )
    return principal, scopes


def _client(request: Request, form: dict[str, str]) -> PrincipalRecord:
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client authentication is required", 401)
    principal = _active(request, client_id)
    if principal is None or principal.secret_hash is None:
        raise OAuthError("invalid_client", "unknown client or bad secret", 401)
    if not hmac.compare_digest(principal.secret_hash, hash_token(secret)):
        raise OAuthError("invalid_client", "unknown client or bad secret", 401)
    return principal


def _assertion(request: Request, assertion: str | None) -> tuple[PrincipalRecord, str | None]:
    if not assertion:
        raise OAuthError("invalid_request", "assertion is required for the JWT bearer grant")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "the assertion is not a JWT") from exc
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "the assertion must be signed with RS256")
    issuer = unverified.get("iss")
    principal = _active(request, str(issuer)) if issuer else None
    if principal is None or not principal.public_keys:
        raise OAuthError("invalid_grant", "unknown issuer, or no key registered for it")
    claims: dict[str, Any] | None = None
    for pem in principal.public_keys:
        try:
            claims = jwt.decode(
                assertion,
                pem,
                algorithms=["RS256"],
                audience=_audiences(request),
                issuer=principal.id,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", f"the assertion is not acceptable: {exc}") from exc
    if claims is None:
        raise OAuthError("invalid_grant", "the assertion's signature matches no registered key")
    if int(claims["exp"]) - int(claims["iat"]) > MAX_ASSERTION_LIFETIME.total_seconds():
        raise OAuthError("invalid_grant", "the assertion may live at most one hour (exp - iat)")
    scope = claims.get("scope")
    return principal, scope if isinstance(scope, str) else None


def _active(request: Request, client_id: str) -> PrincipalRecord | None:
    principal = services(request).store.get_principal(client_id)
    if principal is None or principal.disabled_at is not None or principal.id != client_id:
        return None
    return principal


def _audiences(request: Request) -> list[str]:
    """What `aud` may say: this host (with or without scheme) or this endpoint, as the client reached it."""
    base = str(request.base_url).rstrip("/")
    host = request.url.netloc
    names = [base, f"{base}/oauth/token", host, host.partition(":")[0]]
    public = services(request).settings.public_url
    if public:
        names += [public.rstrip("/"), public.rstrip("/") + "/oauth/token"]
    return names
