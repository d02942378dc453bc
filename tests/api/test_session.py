"""Dashboard sessions opened with an API token: the cookie stands for the token (same scopes and tenants),
ends with it, and cannot be used for changes without the CSRF header."""

from __future__ import annotations

from datetime import timedelta

import httpx
from httpx import Client

from signwatch.auth.principals import create_principal, issue_access_token
from signwatch.auth.tokens import create_token
from signwatch.events import utcnow
from signwatch.store import SqlStore
from tests.conftest import LiveServer


def test_a_token_opens_a_session_that_the_api_accepts(client: Client, store: SqlStore) -> None:
    record, secret = create_token(store, "analyst", frozenset({"monitor:read", "alerts:write"}), frozenset({"acme"}))
    opened = client.post("/auth/session", json={"token": secret})
    assert opened.status_code == 200, opened.text
    assert opened.json()["scopes"] == ["alerts:write", "monitor:read"] and opened.json()["tenants"] == ["acme"]
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/" in cookie and secret not in cookie  # a new secret, not the token
    assert client.get("/auth/me").json()["kind"] == "session"
    assert opened.json()["name"] == client.get("/auth/me").json()["name"] == "analyst"
    assert client.get("/monitor/v2/data").status_code == 200
    assert client.get("/monitor/v2/data", params={"tenant": "globex"}).status_code in (403, 404)

    store.revoke_token(record.id, utcnow())  # revoking the token ends the sessions opened with it
    assert client.get("/monitor/v2/data").status_code == 401
    assert client.get("/auth/me").status_code == 401


def test_sign_out_ends_the_session(client: Client, store: SqlStore) -> None:
    _, secret = create_token(store, "analyst", frozenset({"monitor:read"}), None)
    client.post("/auth/session", json={"token": secret}).raise_for_status()
    kept = client.cookies["signwatch_session"]
    assert client.delete("/auth/session").status_code == 204
    assert "signwatch_session" not in client.cookies
    client.cookies.set("signwatch_session", kept)  # a copy kept by an attacker is dead too
    assert client.get("/monitor/v2/data").status_code == 401
    assert client.get("/monitor/v2/data", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_refusals(live: LiveServer, store: SqlStore) -> None:
    _, secret = create_token(store, "analyst", frozenset({"monitor:read"}), None)
    with httpx.Client(base_url=live.url) as c:
        bad = c.post("/auth/session", json={"token": "swt_nope"})
        assert bad.status_code == 401 and set(bad.json()) == {"error"}
        assert c.post("/auth/session", json={}).json()["error"]["field"] == "token"
        assert c.post("/auth/session", content=b"{", headers={"content-type": "application/json"}).status_code == 400
        c.cookies.set("signwatch_session", secret)  # an API token is not a session
        assert c.get("/monitor/v2/data").status_code == 401
    with httpx.Client(base_url=live.url) as c:
        c.post("/auth/session", data={"token": secret}).raise_for_status()  # a form works too
        session = c.cookies["signwatch_session"]
        assert c.post("/auth/session", json={"token": session}).status_code == 401  # no session from a session
    actions = [(r.action, r.status) for r in store.read_audit(0, 100)]
    assert ("login", 401) in actions and ("login", 200) in actions


def test_principal_disable_ends_sessions_opened_with_its_access_token(client: Client, store: SqlStore) -> None:
    principal, _ = create_principal(store, "siem", frozenset({"monitor:read"}), None)
    _, access = issue_access_token(store, principal, frozenset({"monitor:read"}), timedelta(minutes=5), utcnow())
    opened = client.post("/auth/session", json={"token": access}).json()
    assert opened["expiresAt"] is not None  # never outlives the access token
    assert client.get("/monitor/v2/data").status_code == 200
    store.disable_principal(principal.id, utcnow())
    assert client.get("/monitor/v2/data").status_code == 401


def test_personal_tokens_are_for_people_only(client: Client, store: SqlStore) -> None:
    _, secret = create_token(store, "service", frozenset({"admin"}), None)
    auth = {"Authorization": f"Bearer {secret}"}
    refused = client.post("/auth/tokens", json={"name": "x", "scopes": ["monitor:read"]}, headers=auth)
    assert refused.status_code == 403 and "people" in refused.json()["error"]["message"]
    assert client.get("/auth/tokens").status_code == 401
