"""Personal API tokens, made by a person from the dashboard: `GET/POST /auth/tokens`, `DELETE /auth/tokens/{id}`.

A personal token belongs to the caller's SCIM user, so offboarding revokes it (docs/scim.md), and holds at
most what that person's groups grant now (auth/grants.py) and what the caller itself holds — the same bound
as `signwatch tokens create --user`. Only people may make them: the caller must be signed in as a SCIM user
(an IdP session, or a personal token). The secret is in the creation answer only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from signwatch.api.deps import identify, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.grants import grant_for
from signwatch.auth.tokens import SCOPES, Caller, create_token
from signwatch.events import utcnow
from signwatch.store import TokenRecord

router = APIRouter(tags=["auth"])


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    tenants: list[str] | None = None  # default: every tenant the caller covers


def wire(t: TokenRecord) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "scopes": sorted(t.scopes),
        "tenants": None if t.tenants is None else sorted(t.tenants),
        "createdAt": t.created_at.isoformat(),
        "revokedAt": None if t.revoked_at is None else t.revoked_at.isoformat(),
    }


def person(request: Request) -> Caller:
    """The dependency of these routes: a caller who is a person (has a SCIM user), else 401/403."""
    caller = identify(request)
    if caller.user_id is None:
        raise ApiError(403, "personal tokens are for people signed in through the identity provider")
    request.state.caller = caller  # the audit trail records the call (api/auditing.py)
    return caller


@router.get("/auth/tokens", summary="The caller's personal API tokens")
async def list_tokens(request: Request, caller: Caller = Depends(person)) -> dict[str, Any]:
    mine = [t for t in await run_in_threadpool(services(request).store.list_tokens) if _owned(t, caller)]
    return {"data": [wire(t) for t in mine]}


@router.post("/auth/tokens", status_code=201, summary="Make a personal API token (secret shown once)")
async def make_token(request: Request, body: NewToken, caller: Caller = Depends(person)) -> ORJSONResponse:
    store = services(request).store
    unknown = sorted(set(body.scopes) - set(SCOPES))
    if unknown:
        raise ApiError(422, f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}", field="scopes")
    tenants = None if body.tenants is None else frozenset(body.tenants)
    if tenants is None:
        tenants = caller.scope.tenants
    elif not caller.scope.sees(None, tenants):
        raise ApiError(403, "you cannot make a token for tenants you do not see", field="tenants")
    user = await run_in_threadpool(_user, store, caller.user_id or "")
    if user is None or not user.active:
        raise ApiError(403, "your user is not active (identity provider)")
    grant = grant_for(await run_in_threadpool(store.list_group_mappings), [n for _, n in user.groups], tenants)
    granted = (grant.scopes if grant else frozenset()) & _effective(caller)
    beyond = sorted(s for s in body.scopes if s not in granted and "admin" not in granted)
    if beyond:
        have = ", ".join(sorted(granted)) or "nothing"
        raise ApiError(403, f"your groups do not grant {', '.join(beyond)} here; they grant {have}", field="scopes")
    record, secret = await run_in_threadpool(
        create_token, store, body.name, frozenset(body.scopes), tenants, utcnow(), caller.user_id
    )
    return ORJSONResponse({**wire(record), "token": secret}, status_code=201)


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="Revoke one of the caller's personal tokens")
async def revoke_token(request: Request, token_id: str, caller: Caller = Depends(person)) -> None:
    store = services(request).store
    mine = [t for t in await run_in_threadpool(store.list_tokens) if t.id == token_id and _owned(t, caller)]
    if not mine:
        raise ApiError(404, f"you have no token {token_id}")
    await run_in_threadpool(store.revoke_token, token_id, utcnow())


def _owned(t: TokenRecord, caller: Caller) -> bool:
    return t.user_id == caller.user_id and t.kind == "api"


def _effective(caller: Caller) -> frozenset[str]:
    return frozenset(SCOPES) if "admin" in caller.scopes else caller.scopes


def _user(store: Any, user_id: str) -> Any:
    return store.get_scim_user(user_id) if user_id else None
