"""The isolation matrix: every API route x (no token, each missing scope, a token of another tenant).

Walks the OpenAPI document, so a new route is covered the day it is added: without a token every protected
route is 401; with a token lacking the route's scope it is 403; with a token of another tenant (all scopes on
`globex` only) no route returns anything of `acme` — 403 or 404, or an answer without acme's data.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from httpx import Client

from signwatch.auth.tokens import SCOPES
from signwatch.store import SqlStore
from signwatch.tenants import organization_id
from tests.api.test_data import send, token
from tests.conftest import KEY

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("POST", "/oauth/token"),
    ("GET", "/monitor/v2/export/files/{job_id}/{name}"),  # presigned URLs: their signature is the credential
    ("GET", "/auth/providers"),  # what the login page offers
    ("POST", "/auth/session"),  # sign-in: the token in the body is the credential
    ("DELETE", "/auth/session"),  # sign-out: ends the cookie's session, if any
}
WEBHOOKS = re.compile(r"^/webhooks/")


def routes(client: Client) -> list[tuple[str, str]]:
    doc = client.get("/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method in ops:
            if (method.upper(), path) not in PUBLIC and not WEBHOOKS.match(path):
                out.append((method.upper(), path))
    return sorted(out)


def acme_world(client: Client, store: SqlStore) -> dict[str, str]:
    """An acme event, rule, alert, silence and export job; returns ids to put into the paths."""
    send(client, "acme", KEY, at="2026-11-20T10:00:00Z", email="eve@acme.example")
    admin = token(store, "admin", frozenset({"acme"}))
    rule = client.post(
        "/monitor/v2/alert/rules", json={"name": "acme", "tenant": "acme", "threshold": 1, "windowMinutes": 5},
        headers=admin,
    ).json()  # fmt: skip
    silence = client.post(
        "/monitor/v2/alert/silences",
        json={"tenant": "acme", "durationMinutes": 60, "reason": "test", "owner": "me"},
        headers=admin,
    ).json()
    job = client.post("/monitor/v2/export/jobs", json={"from": "2026-11-20", "to": "2026-11-20"}, headers=admin).json()
    alerts: list[dict[str, Any]] = []
    for _ in range(200):
        alerts = client.get("/monitor/v2/alerts", headers=admin).json()["data"]
        if alerts:
            break
        time.sleep(0.05)
    return {
        "rule_id": rule["id"],
        "alert_id": alerts[0]["id"] if alerts else "al_none",
        "silence_id": silence["id"],
        "job_id": job["id"],
        "notification_id": "nt_none",
        "organizationId": organization_id(store),
        "tenant": "acme",
    }


def call(client: Client, method: str, path: str, ids: dict[str, str], headers: dict[str, str]) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x"), path)
    body: dict[str, Any] = {"name": "n", "threshold": 1, "from": "2026-11-20", "to": "2026-11-20", "note": "n"}
    if method in ("POST", "PUT", "PATCH"):
        return client.request(method, url, json=body, headers=headers)
    return client.request(method, url, params={"tenant": "acme"} if "{" not in path else None, headers=headers)


def test_every_route_refuses_no_token_missing_scopes_and_foreign_tenants(client: Client, store: SqlStore) -> None:
    ids = acme_world(client, store)
    table = routes(client)
    assert len(table) >= 20
    for method, path in table:
        resp = call(client, method, path, ids, {})
        assert resp.status_code == 401, (method, path, resp.status_code)
        if path.startswith("/scim/"):  # SCIM's own error schema (RFC 7644), for provisioning clients
            assert resp.json()["status"] == "401"
        else:
            assert resp.json()["error"]["code"] == "unauthorized"
    # each single scope: some routes admit it, the others refuse with 403, never 2xx
    for scope in SCOPES:
        if scope == "admin":
            continue
        auth = token(store, scope)
        for method, path in table:
            resp = call(client, method, path, ids, auth)
            assert resp.status_code != 401, (scope, method, path)
            if resp.status_code == 403 and not path.startswith("/scim/"):
                assert resp.json()["error"]["code"] in ("insufficient_scope", "forbidden_tenant", "forbidden")
    # a token holding every scope, on another tenant: nothing of acme, whatever the route
    foreign = token(store, ",".join(SCOPES), frozenset({"globex"}))
    leaked = []
    for method, path in table:
        resp = call(client, method, path, ids, foreign)
        if resp.status_code < 300 and resp.content and b"acme" in resp.content:
            leaked.append((method, path, resp.status_code))
    assert leaked == [], leaked


@pytest.mark.parametrize("method,path", [("GET", "/monitor/v2/data"), ("GET", "/monitor/v2/export")])
def test_a_revoked_token_is_refused_at_once(client: Client, store: SqlStore, method: str, path: str) -> None:
    from datetime import UTC, datetime

    auth = token(store, "admin")
    assert client.request(method, path, headers=auth).status_code == 200
    store.revoke_token("t", datetime.now(UTC))
    assert client.request(method, path, headers=auth).status_code == 401
