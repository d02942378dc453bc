"""SCIM 2.0 API (`/scim/v2`): Users and Groups as Okta and Entra provision them, errors, ETags, and
offboarding (deactivation, deletion or losing the last group revokes a user's personal tokens at once)."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Client

from signwatch.auth.tokens import create_token
from signwatch.events import utcnow
from signwatch.store import GroupMapping, SqlStore
from tests.conftest import LiveServer

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def scim(store: SqlStore) -> dict[str, str]:
    _, secret = create_token(store, "okta", frozenset({"scim"}), None)
    return {"Authorization": f"Bearer {secret}"}


def new_user(client: Client, auth: dict[str, str], user_name: str = "ada@example.com", **extra: Any) -> dict:
    body = {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "primary": True, "type": "work"}],
        "active": True,
        **extra,
    }
    resp = client.post("/scim/v2/Users", json=body, headers=auth)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def new_group(client: Client, auth: dict[str, str], name: str, members: list[str]) -> dict:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
            "members": [{"value": m} for m in members]}  # fmt: skip
    resp = client.post("/scim/v2/Groups", json=body, headers=auth)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def patch(client: Client, auth: dict[str, str], url: str, *ops: dict[str, Any], **headers: str) -> Any:
    return client.patch(url, json={"schemas": [PATCH], "Operations": list(ops)}, headers={**auth, **headers})


def monitor(client: Client, secret: str) -> int:
    return client.get("/monitor/v2/data", headers={"Authorization": f"Bearer {secret}"}).status_code


def personal_token(store: SqlStore, user_id: str) -> str:
    _, secret = create_token(store, "ada", frozenset({"monitor:read"}), None, user_id=user_id)
    return secret


def test_user_lifecycle_and_resource_shape(client: Client, scim: dict[str, str]) -> None:
    user = new_user(client, scim, externalId="00u1")
    assert user["userName"] == "ada@example.com" and user["active"] is True and user["externalId"] == "00u1"
    assert user["meta"]["resourceType"] == "User" and user["meta"]["location"].endswith(f"/scim/v2/Users/{user['id']}")
    got = client.get(f"/scim/v2/Users/{user['id']}", headers=scim)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/scim+json")
    assert got.headers["etag"] == user["meta"]["version"] == 'W/"1"'
    put = client.put(f"/scim/v2/Users/{user['id']}", json={**got.json(), "displayName": "Ada L."}, headers=scim)
    assert put.status_code == 200 and put.json()["displayName"] == "Ada L." and put.json()["meta"]["version"] == 'W/"2"'
    assert client.delete(f"/scim/v2/Users/{user['id']}", headers=scim).status_code == 204
    gone = client.get(f"/scim/v2/Users/{user['id']}", headers=scim)
    assert gone.status_code == 404 and gone.json()["schemas"] == [ERROR] and gone.json()["status"] == "404"
    strict = client.get(f"/scim/v2/Users/{user['id']}", headers={**scim, "Accept": "application/scim+json"})
    assert set(strict.json()) == {"schemas", "status", "detail"}  # a SCIM client gets exactly RFC 7644 §3.12


def test_uniqueness_errors_and_auth(client: Client, store: SqlStore, scim: dict[str, str]) -> None:
    new_user(client, scim)
    dup = client.post("/scim/v2/Users", json={"schemas": [USER], "userName": "ADA@example.com"}, headers=scim)
    assert dup.status_code == 409 and dup.json()["scimType"] == "uniqueness" and dup.json()["schemas"] == [ERROR]
    bad = client.post("/scim/v2/Users", json={"schemas": [USER]}, headers=scim)
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidValue"
    assert client.get("/scim/v2/Users").status_code == 401
    assert client.get("/scim/v2/Users").json()["schemas"] == [ERROR]
    _, reader = create_token(store, "r", frozenset({"monitor:read"}), None)
    assert client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    _, narrow = create_token(store, "n", frozenset({"scim"}), frozenset({"acme"}))  # identities are install-wide
    assert client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {narrow}"}).status_code == 403
    flt = client.get("/scim/v2/Users", params={"filter": "userName eq"}, headers=scim)
    assert flt.status_code == 400 and flt.json()["scimType"] == "invalidFilter"


def test_filters_and_paging(client: Client, scim: dict[str, str]) -> None:
    for i in range(5):
        new_user(client, scim, f"user{i}@example.com", externalId=f"x{i}", displayName=f"User {i}")

    def ids(**params: Any) -> list[str]:
        body = client.get("/scim/v2/Users", params=params, headers=scim).json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        return [r["userName"] for r in body["Resources"]]

    assert ids(filter='userName eq "USER1@example.com"') == ["user1@example.com"]
    assert ids(filter='externalId eq "x2" or displayName sw "User 4"') == ["user2@example.com", "user4@example.com"]
    assert ids(filter='emails.value co "3@" and active eq true') == ["user3@example.com"]
    assert ids(filter='emails[type eq "work" and value ew "0@example.com"]') == ["user0@example.com"]
    assert ids(filter='not (userName sw "user")') == []
    body = client.get("/scim/v2/Users", params={"startIndex": 2, "count": 2}, headers=scim).json()
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (5, 2, 2)
    assert [r["userName"] for r in body["Resources"]] == ["user1@example.com", "user2@example.com"]
    only = client.get("/scim/v2/Users", params={"attributes": "userName", "count": 1}, headers=scim).json()
    assert set(only["Resources"][0]) == {"schemas", "id", "userName", "meta"}


def test_patch_dialects(client: Client, scim: dict[str, str]) -> None:
    user = new_user(client, scim)
    url = f"/scim/v2/Users/{user['id']}"
    entra = patch(client, scim, url, {"op": "Replace", "path": "active", "value": "False"},
                  {"op": "Add", "path": 'emails[type eq "home"].value', "value": "ada@home.example"},
                  {"op": "replace", "path": "name.givenName", "value": "Augusta"})  # fmt: skip
    assert entra.status_code == 200, entra.text
    body = entra.json()
    assert body["active"] is False and body["name"] == {"givenName": "Augusta", "familyName": "Lovelace"}
    assert {"type": "home", "value": "ada@home.example"} in body["emails"]
    okta = patch(client, scim, url, {"op": "replace", "value": {"active": True, "displayName": "Ada"}})
    assert okta.json()["active"] is True and okta.json()["displayName"] == "Ada"
    removed = patch(client, scim, url, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert [e["type"] for e in removed.json()["emails"]] == ["work"]
    bad = patch(client, scim, url, {"op": "jump", "path": "active"})
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidSyntax"
    ro = patch(client, scim, url, {"op": "replace", "path": "id", "value": "x"})
    assert ro.status_code == 400 and ro.json()["scimType"] == "mutability"


def test_etags(client: Client, scim: dict[str, str]) -> None:
    user = new_user(client, scim)
    url = f"/scim/v2/Users/{user['id']}"
    ok = patch(client, scim, url, {"op": "replace", "path": "title", "value": "Countess"}, **{"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    stale = patch(client, scim, url, {"op": "replace", "path": "title", "value": "X"}, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412 and stale.json()["status"] == "412"
    assert client.delete(url, headers={**scim, "If-Match": 'W/"1"'}).status_code == 412


def test_groups_members_and_filters(client: Client, scim: dict[str, str]) -> None:
    a, b = new_user(client, scim, "a@example.com"), new_user(client, scim, "b@example.com")
    group = new_group(client, scim, "Security", [a["id"]])
    assert [m["value"] for m in group["members"]] == [a["id"]] and group["members"][0]["display"] == "a@example.com"
    url = f"/scim/v2/Groups/{group['id']}"
    added = patch(client, scim, url, {"op": "add", "path": "members", "value": [{"value": b["id"]}]})
    assert sorted(m["value"] for m in added.json()["members"]) == sorted([a["id"], b["id"]])
    found = client.get("/scim/v2/Groups", params={"filter": f'members.value eq "{b["id"]}"'}, headers=scim).json()
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    named = client.get("/scim/v2/Groups", params={"filter": 'displayName eq "security"'}, headers=scim).json()
    assert named["totalResults"] == 1
    user_b = client.get(f"/scim/v2/Users/{b['id']}", headers=scim).json()
    assert user_b["groups"][0]["value"] == group["id"] and user_b["groups"][0]["display"] == "Security"
    removed = patch(client, scim, url, {"op": "remove", "path": f'members[value eq "{a["id"]}"]'})
    assert [m["value"] for m in removed.json()["members"]] == [b["id"]]
    entra = patch(client, scim, url, {"op": "Remove", "path": "members", "value": [{"value": b["id"]}]})
    assert entra.json()["members"] == []
    unknown = patch(client, scim, url, {"op": "add", "path": "members", "value": [{"value": "nobody"}]})
    assert unknown.status_code == 400 and unknown.json()["scimType"] == "invalidValue"
    assert client.delete(url, headers=scim).status_code == 204
    assert client.get(url, headers=scim).status_code == 404


def test_discovery(client: Client, scim: dict[str, str]) -> None:
    spc = client.get("/scim/v2/ServiceProviderConfig", headers=scim).json()
    assert spc["patch"]["supported"] and spc["filter"]["supported"] and spc["etag"]["supported"]
    types = client.get("/scim/v2/ResourceTypes", headers=scim).json()
    assert {r["name"] for r in types["Resources"]} == {"User", "Group"}
    schemas = client.get("/scim/v2/Schemas", headers=scim).json()
    assert USER in {s["id"] for s in schemas["Resources"]}
    assert client.get(f"/scim/v2/Schemas/{USER}", headers=scim).json()["name"] == "User"
    assert client.get("/scim/v2/Bulk", headers=scim).json()["status"] == "404"


# -- offboarding -------------------------------------------------------------------------------------------
def test_deactivation_revokes_personal_tokens(client: Client, store: SqlStore, scim: dict[str, str]) -> None:
    user = new_user(client, scim)
    secret = personal_token(store, user["id"])
    _, other = create_token(store, "service", frozenset({"monitor:read"}), None)
    assert monitor(client, secret) == 200
    resp = patch(client, scim, f"/scim/v2/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"})
    assert resp.status_code == 200 and resp.json()["active"] is False
    assert monitor(client, secret) == 401
    assert monitor(client, other) == 200  # tokens of no user, or of another, are untouched
    revoked = [t for t in store.list_tokens() if t.user_id == user["id"]]
    assert revoked and all(t.revoked_at is not None for t in revoked)


def test_deletion_revokes_personal_tokens(client: Client, store: SqlStore, scim: dict[str, str]) -> None:
    user = new_user(client, scim)
    secret = personal_token(store, user["id"])
    assert monitor(client, secret) == 200
    assert client.delete(f"/scim/v2/Users/{user['id']}", headers=scim).status_code == 204
    assert monitor(client, secret) == 401


def test_losing_the_last_group_revokes_personal_tokens(client: Client, store: SqlStore, scim: dict[str, str]) -> None:
    user = new_user(client, scim)
    loner = new_user(client, scim, "loner@example.com")  # in no group at all: never revoked for that
    loner_secret = personal_token(store, loner["id"])
    first, second = new_group(client, scim, "One", [user["id"]]), new_group(client, scim, "Two", [user["id"]])
    for name in ("One", "Two"):  # granting groups: each maps to a scope
        store.put_group_mapping(GroupMapping(name, frozenset({"monitor:read"}), None, None, utcnow()))
    secret = personal_token(store, user["id"])
    assert monitor(client, secret) == 200
    one = patch(
        client, scim, f"/scim/v2/Groups/{first['id']}", {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}
    )
    assert one.status_code == 200 and monitor(client, secret) == 200  # still in group Two
    two = patch(client, scim, f"/scim/v2/Groups/{second['id']}", {"op": "remove", "path": "members"})
    assert two.status_code == 200 and two.json()["members"] == []
    assert monitor(client, secret) == 401
    assert monitor(client, loner_secret) == 200


def test_deleting_the_last_group_revokes_personal_tokens(client: Client, store: SqlStore, scim: dict[str, str]) -> None:
    user = new_user(client, scim)
    group = new_group(client, scim, "Only", [user["id"]])
    secret = personal_token(store, user["id"])
    assert monitor(client, secret) == 200
    assert client.delete(f"/scim/v2/Groups/{group['id']}", headers=scim).status_code == 204
    assert monitor(client, secret) == 401


def test_scim2_tester_compliance(live: LiveServer, scim: dict[str, str]) -> None:
    """The scim2-tester checker (dev extra) against the live app: everything passes but the two checks that
    expect a group member's server-filled, read-only `display` to be absent (docs/scim.md)."""
    httpx2 = pytest.importorskip("httpx2")
    tester = pytest.importorskip("scim2_tester")
    from scim2_client.engines.httpx2 import SyncSCIMClient

    with httpx2.Client(
        base_url=f"{live.url}/scim/v2", headers={**scim, "Accept": "application/scim+json"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        results = tester.check_server(client)
    failed = [r for r in results if r.status.name not in ("SUCCESS", "SKIPPED")]
    assert {r.title for r in failed} <= {"check_add_attribute", "check_replace_attribute"}, failed
    assert all("for 'members'" in (r.reason or "") for r in failed)
    assert sum(r.status.name == "SUCCESS" for r in results) >= 115
