"""SCIM 2.0 API (`/scim/v2`, scope `scim`): Users, Groups and discovery for Okta and Entra provisioning.

Handlers translate HTTP to the pure SCIM domain (auth/scim*.py) and the store, and answer every refusal in the
SCIM error schema with `application/scim+json`. Offboarding (token revocation) happens in the store's
transaction (store/identity_sql.py); see docs/scim.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth import scim_schemas
from signwatch.auth.scim import (
    LIST_SCHEMA,
    Cmp,
    ScimError,
    etag,
    group_resource,
    if_match_ok,
    matches,
    page,
    parse_filter,
    project,
    user_resource,
)
from signwatch.auth.scim_patch import apply_patch, group_fields, user_fields
from signwatch.auth.tokens import Caller
from signwatch.events import utcnow
from signwatch.store import AlreadyExists, NotFound, Store
from signwatch.store.base import ScimGroupRecord, ScimUserRecord, StaleVersion

MEDIA = "application/scim+json"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ENDPOINTS = {"serviceproviderconfig", "resourcetypes", "schemas", "users", "groups"}
_RETRIES = 5  # PATCH without If-Match retries a read-modify-write that lost a race


class ScimResponse(ORJSONResponse):
    media_type = MEDIA


def error_response(
    request: Request, exc: ScimError, code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """The SCIM error schema, exactly (RFC 7644 §3.12): the provisioning clients of Okta, Entra and the SCIM
    libraries reject extra members, so `/scim/v2` alone does not use signwatch's own error envelope (like
    `/oauth/token`, which follows RFC 6749)."""
    del request, code
    return ScimResponse(exc.body(), status_code=exc.status, headers=headers)


class ScimRoute(APIRoute):
    """A route whose refusals (auth, validation, domain) all leave in the SCIM error schema."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except ScimError as exc:
                return error_response(request, exc)
            except ApiError as exc:
                return error_response(request, ScimError(exc.status, exc.message), exc.code, exc.headers)
            except RequestValidationError as exc:
                return error_response(request, ScimError(400, str(exc.errors()[:1]), "invalidValue"))
            except StarletteHTTPException as exc:
                return error_response(request, ScimError(exc.status_code, str(exc.detail)))

        return run


def _org_wide(caller: Annotated[Caller, Depends(require("scim"))]) -> Caller:
    """Identities are install-wide: a token limited to some tenants may not provision or offboard people."""
    if caller.scope.tenants is not None:
        raise ApiError(403, "SCIM needs a token valid for every tenant", code="forbidden_tenant")
    return caller


router = APIRouter(prefix="/scim/v2", tags=["scim"], route_class=ScimRoute)
Scim = Annotated[Caller, Depends(_org_wide)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"


def _store(request: Request) -> Store:
    return services(request).store


async def _body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ScimError(400, f"{name} must be an integer", "invalidValue") from None


def _resource(body: dict[str, Any], version: int, status: int = 200) -> Response:
    headers = {"ETag": etag(version)}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return ScimResponse(body, status_code=status, headers=headers)


def _listing(request: Request, resources: list[dict[str, Any]], search: dict[str, Any] | None = None) -> Response:
    """A ListResponse of `resources` narrowed by the query's (or a `.search` body's) filter, page and attributes."""
    q: dict[str, Any] = dict(request.query_params) if search is None else search
    flt = q.get("filter")
    if flt:
        if not isinstance(flt, str):
            raise ScimError(400, "filter must be a string", "invalidFilter")
        node = parse_filter(flt)
        resources = [r for r in resources if matches(node, r)]
    first, n = page(len(resources), _int(q.get("startIndex"), "startIndex"), _int(q.get("count"), "count"), 200)
    attributes, excluded = _names_param(q.get("attributes")), _names_param(q.get("excludedAttributes"))
    shown = [project(r, attributes, excluded) for r in resources[first : first + n]]
    body = {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources),
        "itemsPerPage": len(shown),
        "startIndex": first + 1,
        "Resources": shown,
    }
    return ScimResponse(body)


def _names_param(value: Any) -> str | None:
    """`attributes` as a query string ("a,b") or a `.search` body list (["a", "b"])."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return None if value is None else str(value)


async def _search_body(request: Request) -> dict[str, Any]:
    body = await _body(request)
    if not isinstance(body, dict) or SEARCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"the body must be a SearchRequest ({SEARCH_SCHEMA})", "invalidSyntax")
    return body


def _check_if_match(request: Request, version: int) -> None:
    if not if_match_ok(request.headers.get("if-match"), version):
        raise ScimError(412, "the resource changed since the version given in If-Match")


# -- discovery ---------------------------------------------------------------------------------------------
@router.get("/ServiceProviderConfig", summary="What this SCIM service supports")
async def scim_config(request: Request, _: Scim) -> Response:
    return ScimResponse(scim_schemas.service_provider_config(_base(request)))


@router.get("/ResourceTypes", summary="The resource types: User and Group")
async def scim_resource_types(request: Request, _: Scim) -> Response:
    items = scim_schemas.resource_types(_base(request))
    return ScimResponse({"schemas": [LIST_SCHEMA], "totalResults": len(items), "itemsPerPage": len(items),
                         "startIndex": 1, "Resources": items})  # fmt: skip


@router.get("/ResourceTypes/{name}", summary="One resource type")
async def scim_resource_type(request: Request, name: str, _: Scim) -> Response:
    found = [r for r in scim_schemas.resource_types(_base(request)) if r["id"] == name]
    if not found:
        raise ScimError(404, f"resource type {name} not found")
    return ScimResponse(found[0])


@router.get("/Schemas", summary="The User, Group and enterprise User schemas")
async def scim_schemas_list(request: Request, _: Scim) -> Response:
    items = scim_schemas.schemas(_base(request))
    return ScimResponse({"schemas": [LIST_SCHEMA], "totalResults": len(items), "itemsPerPage": len(items),
                         "startIndex": 1, "Resources": items})  # fmt: skip


@router.get("/Schemas/{schema_id}", summary="One schema")
async def scim_schema(request: Request, schema_id: str, _: Scim) -> Response:
    found = [s for s in scim_schemas.schemas(_base(request)) if s["id"] == schema_id]
    if not found:
        raise ScimError(404, f"schema {schema_id} not found")
    return ScimResponse(found[0])


# -- users -------------------------------------------------------------------------------------------------
async def _user(request: Request, user_id: str) -> ScimUserRecord:
    rec = await run_in_threadpool(_store(request).get_scim_user, user_id)
    if rec is None:
        raise ScimError(404, f"user {user_id} not found")
    return rec


def _user_name_eq(flt: str | None) -> str | None:
    """The userName of an exact `userName eq "…"` filter (what Okta and Entra send), read by index."""
    if not flt:
        return None
    node = parse_filter(flt)
    if isinstance(node, Cmp) and node.op == "eq" and node.path == ("username",) and isinstance(node.value, str):
        return node.value
    return None


@router.get("/Users", summary="Users, filtered and paged")
async def scim_list_users(request: Request, _: Scim) -> Response:
    base = _base(request)
    named = _user_name_eq(request.query_params.get("filter"))
    records = await run_in_threadpool(_store(request).list_scim_users, named)
    return _listing(request, [user_resource(r, base) for r in records])


@router.post("/Users/.search", summary="Users, filtered and paged (SearchRequest body)")
async def scim_search_users(request: Request, _: Scim) -> Response:
    search = await _search_body(request)
    records = await run_in_threadpool(_store(request).list_scim_users)
    return _listing(request, [user_resource(r, _base(request)) for r in records], search)


@router.post("/Users", summary="Provision a user", status_code=201)
async def scim_create_user(request: Request, _: Scim) -> Response:
    fields = user_fields(await _body(request))
    now = utcnow()
    rec = ScimUserRecord(str(uuid.uuid4()), fields.user_name, fields.active, fields.external_id, fields.attributes,
                         now, now)  # fmt: skip
    try:
        await run_in_threadpool(_store(request).add_scim_user, rec)
    except AlreadyExists:
        raise ScimError(409, f"userName {fields.user_name!r} is taken", "uniqueness") from None
    return _resource(user_resource(rec, _base(request)), rec.version, 201)


@router.get("/Users/{user_id}", summary="One user")
async def scim_get_user(request: Request, user_id: str, _: Scim) -> Response:
    rec = await _user(request, user_id)
    q = request.query_params
    return _resource(project(user_resource(rec, _base(request)), q.get("attributes"), q.get("excludedAttributes")),
                     rec.version)  # fmt: skip


async def _save_user(request: Request, user_id: str, change: Callable[[ScimUserRecord], dict[str, Any]]) -> Response:
    """Read, check If-Match, change, and write back conditionally (retrying a lost race without If-Match)."""
    store = _store(request)
    for attempt in range(_RETRIES):
        rec = await _user(request, user_id)
        _check_if_match(request, rec.version)
        fields = user_fields(change(rec))
        new = replace(rec, user_name=fields.user_name, active=fields.active, external_id=fields.external_id,
                      attributes=fields.attributes, updated_at=utcnow())  # fmt: skip
        try:
            await run_in_threadpool(store.put_scim_user, new, rec.version)
        except AlreadyExists:
            raise ScimError(409, f"userName {fields.user_name!r} is taken", "uniqueness") from None
        except NotFound:
            raise ScimError(404, f"user {user_id} not found") from None
        except StaleVersion:
            if request.headers.get("if-match") or attempt == _RETRIES - 1:
                raise ScimError(412, "the user changed meanwhile") from None
            continue
        break
    done = await _user(request, user_id)
    return _resource(user_resource(done, _base(request)), done.version)


@router.put("/Users/{user_id}", summary="Replace a user")
async def scim_put_user(request: Request, user_id: str, _: Scim) -> Response:
    body = await _body(request)
    return await _save_user(request, user_id, lambda _rec: body)


@router.patch("/Users/{user_id}", summary="Change a user (PatchOp)")
async def scim_patch_user(request: Request, user_id: str, _: Scim) -> Response:
    body = await _body(request)
    base = _base(request)
    return await _save_user(request, user_id, lambda rec: apply_patch(user_resource(rec, base), body))


@router.delete("/Users/{user_id}", summary="Deprovision a user (its tokens are revoked)", status_code=204)
async def scim_delete_user(request: Request, user_id: str, _: Scim) -> Response:
    if request.headers.get("if-match"):
        _check_if_match(request, (await _user(request, user_id)).version)
    try:
        await run_in_threadpool(_store(request).delete_scim_user, user_id, utcnow())
    except NotFound:
        raise ScimError(404, f"user {user_id} not found") from None
    return Response(status_code=204)


# -- groups ------------------------------------------------------------------------------------------------
async def _names(request: Request) -> dict[str, str]:
    users = await run_in_threadpool(_store(request).list_scim_users)
    return {u.id: str(u.attributes.get("displayName") or u.user_name) for u in users}


async def _group(request: Request, group_id: str) -> ScimGroupRecord:
    rec = await run_in_threadpool(_store(request).get_scim_group, group_id)
    if rec is None:
        raise ScimError(404, f"group {group_id} not found")
    return rec


@router.get("/Groups", summary="Groups, filtered and paged")
async def scim_list_groups(request: Request, _: Scim) -> Response:
    base, names = _base(request), await _names(request)
    records = await run_in_threadpool(_store(request).list_scim_groups)
    return _listing(request, [group_resource(r, base, names) for r in records])


@router.post("/Groups/.search", summary="Groups, filtered and paged (SearchRequest body)")
async def scim_search_groups(request: Request, _: Scim) -> Response:
    search = await _search_body(request)
    base, names = _base(request), await _names(request)
    records = await run_in_threadpool(_store(request).list_scim_groups)
    return _listing(request, [group_resource(r, base, names) for r in records], search)


@router.post("/.search", summary="Users and groups, filtered and paged (SearchRequest body)")
async def scim_search_all(request: Request, _: Scim) -> Response:
    search = await _search_body(request)
    base, store = _base(request), _store(request)
    users = await run_in_threadpool(store.list_scim_users)
    groups = await run_in_threadpool(store.list_scim_groups)
    names = {u.id: str(u.attributes.get("displayName") or u.user_name) for u in users}
    resources = [user_resource(u, base) for u in users] + [group_resource(g, base, names) for g in groups]
    return _listing(request, resources, search)


@router.post("/Groups", summary="Provision a group", status_code=201)
async def scim_create_group(request: Request, _: Scim) -> Response:
    fields = group_fields(await _body(request))
    now = utcnow()
    rec = ScimGroupRecord(str(uuid.uuid4()), fields.display_name, fields.external_id, fields.members, now, now)
    try:
        await run_in_threadpool(_store(request).add_scim_group, rec)
    except NotFound as exc:
        raise ScimError(400, f"unknown member(s): {exc}", "invalidValue") from None
    return _resource(group_resource(rec, _base(request), await _names(request)), rec.version, 201)


@router.get("/Groups/{group_id}", summary="One group")
async def scim_get_group(request: Request, group_id: str, _: Scim) -> Response:
    rec = await _group(request, group_id)
    q = request.query_params
    body = group_resource(rec, _base(request), await _names(request))
    return _resource(project(body, q.get("attributes"), q.get("excludedAttributes")), rec.version)


async def _save_group(
    request: Request, group_id: str, change: Callable[[ScimGroupRecord, dict[str, str]], dict[str, Any]]
) -> Response:
    store = _store(request)
    for attempt in range(_RETRIES):
        rec, names = await _group(request, group_id), await _names(request)
        _check_if_match(request, rec.version)
        fields = group_fields(change(rec, names))
        new = replace(rec, display_name=fields.display_name, external_id=fields.external_id, members=fields.members,
                      updated_at=utcnow())  # fmt: skip
        try:
            await run_in_threadpool(store.put_scim_group, new, rec.version)
        except NotFound as exc:
            if str(exc) == group_id:
                raise ScimError(404, f"group {group_id} not found") from None
            raise ScimError(400, f"unknown member(s): {exc}", "invalidValue") from None
        except StaleVersion:
            if request.headers.get("if-match") or attempt == _RETRIES - 1:
                raise ScimError(412, "the group changed meanwhile") from None
            continue
        break
    done = await _group(request, group_id)
    return _resource(group_resource(done, _base(request), await _names(request)), done.version)


@router.put("/Groups/{group_id}", summary="Replace a group")
async def scim_put_group(request: Request, group_id: str, _: Scim) -> Response:
    body = await _body(request)
    return await _save_group(request, group_id, lambda _rec, _names: body)


@router.patch("/Groups/{group_id}", summary="Change a group (PatchOp), e.g. add or remove members")
async def scim_patch_group(request: Request, group_id: str, _: Scim) -> Response:
    body = await _body(request)
    base = _base(request)
    return await _save_group(request, group_id, lambda rec, names: apply_patch(group_resource(rec, base, names), body))


@router.delete("/Groups/{group_id}", summary="Delete a group", status_code=204)
async def scim_delete_group(request: Request, group_id: str, _: Scim) -> Response:
    if request.headers.get("if-match"):
        _check_if_match(request, (await _group(request, group_id)).version)
    try:
        await run_in_threadpool(_store(request).delete_scim_group, group_id, utcnow())
    except NotFound:
        raise ScimError(404, f"group {group_id} not found") from None
    return Response(status_code=204)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def scim_unknown(rest: str, _: Scim) -> Response:
    """Known endpoints answer other methods 405; anything else is 404 (both in the SCIM error schema)."""
    if rest.split("/", 1)[0].lower() in ENDPOINTS:
        raise ScimError(405, f"/{rest} does not support this method")
    raise ScimError(404, f"no SCIM endpoint /{rest}")
