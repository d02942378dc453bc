"""Rule API over real HTTP: create with defaults, read, replace, patch, delete, validate, backtest, scopes."""

from __future__ import annotations

import pytest
from httpx import Client

from signwatch.store import SqlStore
from tests.api.test_data import send, token
from tests.conftest import KEY

EXAMPLE = {"name": "Off-hours send spike", "condition": "envelope_sent", "threshold": 50, "windowMinutes": 60}
RULES = "/monitor/v2/alert/rules"


def test_the_issue_example_is_created_with_defaults_and_read_back(client: Client, store: SqlStore) -> None:
    writer = token(store, "rules:write,monitor:read")
    resp = client.post(RULES, json=EXAMPLE, headers=writer)
    assert resp.status_code == 201, resp.text
    rule = resp.json()
    assert rule["id"].startswith("rl_") and resp.headers["location"].endswith(rule["id"])
    assert {k: rule[k] for k in ("name", "kind", "condition", "threshold", "windowMinutes")} == {
        "name": "Off-hours send spike",
        "kind": "threshold",
        "condition": "envelope.sent",
        "threshold": 50,
        "windowMinutes": 60,
    }
    assert rule["mode"] == "shadow" and rule["severity"] == "medium" and rule["groupBy"] == "tenant"
    reader = token(store, "monitor:read")
    assert client.get(f"{RULES}/{rule['id']}", headers=reader).json() == rule
    listed = client.get(RULES, headers=reader).json()
    assert [r["id"] for r in listed["data"]] == [rule["id"]] and listed["hasMore"] is False


def test_put_patch_delete(client: Client, store: SqlStore) -> None:
    auth = token(store, "rules:write")
    rule = client.post(RULES, json=EXAMPLE, headers=auth).json()
    url = f"{RULES}/{rule['id']}"
    patched = client.patch(url, json={"mode": "active", "severity": "high"}, headers=auth)
    assert patched.status_code == 200, patched.text
    assert patched.json()["mode"] == "active" and patched.json()["threshold"] == 50
    replaced = client.put(url, json={**patched.json(), "threshold": 70}, headers=auth)
    assert replaced.status_code == 200 and replaced.json()["threshold"] == 70
    assert replaced.json()["createdAt"] == rule["createdAt"]
    bad = client.patch(url, json={"windowMinutes": 0}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "windowMinutes"
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "sometimes"}, "kind"),
        ({"name": "x", "condition": "envelope_beamed", "threshold": 3}, "condition"),
        ({"name": "x", "threshold": 3, "windowMinutes": 0}, "windowMinutes"),
        ({"name": "x", "threshold": -2}, "threshold"),
        (
            {"name": "x", "threshold": 2, "schedule": {"offHoursOnly": True, "timezone": "Europe/Atlantis"}},
            "schedule.timezone",
        ),
    ],
)
def test_invalid_rules_are_422_with_the_field(client: Client, store: SqlStore, body: dict, field: str) -> None:
    auth = token(store, "rules:write")
    for path in (RULES, f"{RULES}/validate"):
        resp = client.post(path, json=body, headers=auth)
        assert resp.status_code == 422, resp.text
        err = resp.json()["error"]
        assert err["code"] == "invalid" and err["field"] == field and err["message"]
        assert {"field": field, "message": err["message"]} in err["details"]


def test_validate_counts_what_the_rule_would_have_fired(client: Client, store: SqlStore) -> None:
    for i in range(6):
        send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:00Z")
    for i in range(6):
        send(client, "acme", KEY, at=f"2026-11-20T15:0{i}:00Z")
    auth = token(store, "monitor:read")
    body = {"name": "burst", "condition": "envelope.sent", "threshold": 5, "windowMinutes": 10, "cooldownMinutes": 0}
    resp = client.post(f"{RULES}/validate", json={**body, "from": "2026-11-20", "to": "2026-11-20"}, headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["valid"] is True and resp.json()["wouldFire"] == 2
    assert [a["firedAt"] for a in resp.json()["alerts"]] == ["2026-11-20T10:05:00Z", "2026-11-20T15:05:00Z"]
    plain = client.post(f"{RULES}/validate", json=body, headers=auth).json()
    assert plain["valid"] is True and "wouldFire" not in plain


def test_backtest_returns_the_alerts_with_evidence(client: Client, store: SqlStore) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:30Z", email="mallory@acme.example") for i in range(5)]
    auth = token(store, "rules:write,monitor:read")
    rule = client.post(
        RULES, json={"name": "b", "threshold": 5, "windowMinutes": 10, "groupBy": "actor"}, headers=auth
    ).json()
    resp = client.post(f"{RULES}/{rule['id']}/backtest", json={"from": "2026-11-20", "to": "2026-11-21"}, headers=auth)
    assert resp.status_code == 200, resp.text
    [alert] = resp.json()["data"]
    assert alert["groupKey"] == "mallory@acme.example" and alert["value"] == 5 and alert["threshold"] == 5
    assert alert["firedAt"] == "2026-11-20T10:05:00Z" and alert["resolvedAt"] == "2026-11-20T10:10:00Z"
    assert set(alert["evidence"]["sampleEventIds"]) == set(ids)
    assert alert["evidence"]["topActors"] == [{"actor": "mallory@acme.example", "count": 5}]
    missing = client.post(f"{RULES}/{rule['id']}/backtest", json={"from": "2026-11-20"}, headers=auth)
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "to"


def test_scopes_and_tenants(client: Client, store: SqlStore) -> None:
    reader = token(store, "monitor:read")
    assert client.post(RULES, json=EXAMPLE, headers=reader).status_code == 403
    assert client.get(RULES).status_code == 401
    globex = token(store, "rules:write,monitor:read", frozenset({"globex"}))
    assert client.post(RULES, json={**EXAMPLE, "tenant": "acme"}, headers=globex).status_code == 403
    mine = client.post(RULES, json=EXAMPLE, headers=globex).json()  # covers globex only
    admin = token(store, "admin")
    everyone = client.post(RULES, json={**EXAMPLE, "name": "all"}, headers=admin).json()
    acme_rule = client.post(RULES, json={**EXAMPLE, "name": "acme", "tenant": "acme"}, headers=admin).json()
    seen = {r["id"] for r in client.get(RULES, headers=globex).json()["data"]}
    assert seen == {mine["id"]}  # neither the all-tenant rule nor acme's
    for other in (everyone, acme_rule):
        assert client.get(f"{RULES}/{other['id']}", headers=globex).status_code == 404
        assert client.delete(f"{RULES}/{other['id']}", headers=globex).status_code == 404
    unknown = client.post(RULES, json={**EXAMPLE, "tenant": "nosuch"}, headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "tenant"
