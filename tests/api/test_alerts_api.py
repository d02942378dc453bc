"""Alerts over real HTTP: the live engine fires after ingest, alerts page by cursor, ack/resolve, silences,
alert events in the data stream, tenant isolation, and live alerts equal to the backtest's."""

from __future__ import annotations

import time
from typing import Any

from httpx import Client

from signwatch.store import SqlStore
from tests.api.test_data import send, token
from tests.conftest import KEY, OTHER_KEY

RULES = "/monitor/v2/alert/rules"


def wait_for_alerts(client: Client, headers: dict[str, str], count: int, **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        data = client.get("/monitor/v2/alerts", params=params, headers=headers).json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def burst_rule(client: Client, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"name": "burst", "threshold": 3, "windowMinutes": 10, "groupBy": "actor", "cooldownMinutes": 0, **extra}
    resp = client.post(RULES, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_ingest_fires_an_alert_with_evidence_and_a_data_stream_event(client: Client, store: SqlStore) -> None:
    admin = token(store, "admin")
    rule = burst_rule(client, admin, severity="high")
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:10Z", email="eve@acme.example") for i in range(3)]
    send(client, "acme", KEY, at="2026-11-20T10:01:00Z", email="bob@acme.example")
    [alert] = wait_for_alerts(client, admin, 1)
    assert alert["ruleId"] == rule["id"] and alert["ruleName"] == "burst" and alert["tenant"] == "acme"
    assert alert["groupKey"] == "eve@acme.example" and alert["severity"] == "high" and alert["mode"] == "shadow"
    assert alert["firedAt"] == "2026-11-20T10:03:00Z" and alert["value"] == 3 and alert["threshold"] == 3
    assert alert["windowStart"] == "2026-11-20T09:53:00Z" and alert["windowEnd"] == "2026-11-20T10:03:00Z"
    assert set(alert["evidence"]["sampleEventIds"]) == set(ids)
    assert alert["evidence"]["topActors"] == [{"actor": "eve@acme.example", "count": 3}]
    assert "3 envelope.sent in 10 min" in alert["explanation"]
    detail = client.get(f"/monitor/v2/alerts/{alert['id']}", headers=admin).json()
    assert detail["id"] == alert["id"]
    events = client.get("/monitor/v2/data", params={"type": "alert.fired"}, headers=admin).json()["data"]
    [fired] = [e for e in events if e["attributes"]["alertId"] == alert["id"]]
    assert fired["attributes"]["object"] == "Alert" and fired["attributes"]["severity"] == "high"
    assert set(fired["attributes"]["eventIds"]) == set(ids) and fired["occurredAt"] == alert["firedAt"]
    metrics = client.get("/metrics").text
    assert 'signwatch_alerts_fired_total{mode="shadow",severity="high"} 1.0' in metrics
    assert "signwatch_rules_cycle_seconds_count" in metrics


def test_one_open_alert_per_group_and_live_equals_backtest(client: Client, store: SqlStore) -> None:
    admin = token(store, "admin")
    rule = burst_rule(client, admin)
    for minute in range(6):  # six minutes in a row with enough events: one alert, not six
        for second in ("05", "25", "45"):
            send(client, "acme", KEY, at=f"2026-11-20T11:0{minute}:{second}Z", email="eve@acme.example")
    send(client, "acme", KEY, at="2026-11-20T14:00:00Z", email="eve@acme.example")  # time moves on: it clears
    deadline = time.monotonic() + 20
    while True:
        live = client.get("/monitor/v2/alerts", headers=admin).json()["data"]
        if (live and live[0]["state"] == "resolved") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(live) == 1 and live[0]["state"] == "resolved"
    back = client.post(
        f"{RULES}/{rule['id']}/backtest", json={"from": "2026-11-20", "to": "2026-11-20"}, headers=admin
    ).json()["data"]
    fields = ("id", "groupKey", "firedAt", "resolvedAt", "value", "threshold", "windowStart", "windowEnd")
    assert [{k: a[k] for k in fields} for a in back] == [{k: a[k] for k in fields} for a in live]


def test_ack_resolve_and_paging(client: Client, store: SqlStore) -> None:
    admin = token(store, "admin")
    burst_rule(client, admin)
    for n, who in enumerate(("a", "b", "c")):
        for i in range(3):
            send(client, "acme", KEY, at=f"2026-11-20T1{n}:0{i}:00Z", email=f"{who}@acme.example")
    alerts = wait_for_alerts(client, admin, 3)
    assert len(alerts) == 3
    first = client.get("/monitor/v2/alerts", params={"limit": 2}, headers=admin).json()
    assert len(first["data"]) == 2 and first["hasMore"] is True
    rest = client.get("/monitor/v2/alerts", params={"limit": 2, "cursor": first["endCursor"]}, headers=admin).json()
    assert [a["id"] for a in first["data"] + rest["data"]] == [a["id"] for a in alerts] and not rest["hasMore"]
    target = alerts[0]["id"]
    reader = token(store, "monitor:read")
    assert client.post(f"/monitor/v2/alerts/{target}/ack", json={"note": "x"}, headers=reader).status_code == 403
    writer = token(store, "alerts:write")
    acked = client.post(f"/monitor/v2/alerts/{target}/ack", json={"note": "looking"}, headers=writer)
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "resolved"  # it cleared already: the triage is recorded, the state stays
    assert acked.json()["ackNote"] == "looking"
    assert acked.json()["acknowledgedBy"] == "t" and acked.json()["acknowledgedAt"]
    assert client.post(f"/monitor/v2/alerts/{target}/ack", json={}, headers=writer).status_code == 409
    done = client.post(f"/monitor/v2/alerts/{target}/resolve", json={"note": "expected batch"}, headers=writer)
    assert done.json()["state"] == "resolved" and done.json()["resolvedBy"] == "t"
    assert done.json()["resolvedAt"] == alerts[0]["resolvedAt"]  # when it cleared, not when it was closed
    still_open = next(a for a in alerts if a["state"] == "open")  # the latest burst has not cleared yet
    acked_open = client.post(f"/monitor/v2/alerts/{still_open['id']}/ack", json={"note": "mine"}, headers=writer)
    assert acked_open.json()["state"] == "acknowledged"
    assert client.post(f"/monitor/v2/alerts/{target}/resolve", json={}, headers=writer).status_code == 409
    resolved = client.get("/monitor/v2/alerts", params={"state": "resolved"}, headers=admin).json()["data"]
    assert target in {a["id"] for a in resolved}
    assert client.get("/monitor/v2/alerts", params={"state": "bogus"}, headers=admin).status_code == 400
    assert client.post("/monitor/v2/alerts/al_nope/ack", json={}, headers=writer).status_code == 404


def test_tenant_isolation(client: Client, store: SqlStore) -> None:
    admin = token(store, "admin")
    burst_rule(client, admin)
    for i in range(3):
        send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:00Z")
        send(client, "globex", OTHER_KEY, at=f"2026-11-20T10:0{i}:00Z", email="gina@globex.example")
    assert len(wait_for_alerts(client, admin, 2)) == 2
    globex = token(store, "monitor:read,alerts:write", frozenset({"globex"}))
    seen = client.get("/monitor/v2/alerts", headers=globex).json()["data"]
    assert {a["tenant"] for a in seen} == {"globex"}
    acme_alert = next(a for a in wait_for_alerts(client, admin, 2) if a["tenant"] == "acme")
    assert client.get(f"/monitor/v2/alerts/{acme_alert['id']}", headers=globex).status_code == 404
    assert client.post(f"/monitor/v2/alerts/{acme_alert['id']}/ack", json={}, headers=globex).status_code == 404
    assert client.get("/monitor/v2/alerts", params={"tenant": "acme"}, headers=globex).status_code == 403


def test_silences_record_but_mark_alerts(client: Client, store: SqlStore) -> None:
    admin = token(store, "admin")
    rule = burst_rule(client, admin, mode="active")
    body = {
        "tenant": "acme",
        "ruleId": rule["id"],
        "startsAt": "2026-11-20T09:00",  # local (Europe/Berlin): 08:00Z
        "endsAt": "2026-11-20T12:00",
        "reason": "planned bulk send",
        "owner": "ops@acme.example",
    }
    created = client.post("/monitor/v2/alert/silences", json=body, headers=admin)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["startsAt"] == "2026-11-20T08:00:00Z" and silence["endsAt"] == "2026-11-20T11:00:00Z"
    for i in range(3):
        send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:00Z")
    [alert] = wait_for_alerts(client, admin, 1)
    assert alert["silenced"] is True and alert["silenceId"] == silence["id"]
    listed = client.get("/monitor/v2/alert/silences", params={"all": "true"}, headers=admin).json()["data"]
    assert [s["id"] for s in listed] == [silence["id"]]
    for bad, field in (
        ({**body, "reason": ""}, "reason"),
        ({**body, "endsAt": None}, "endsAt"),
        ({**body, "endsAt": "2026-11-20T08:00"}, "endsAt"),
        ({**body, "tenant": None, "ruleId": None}, "tenant"),
    ):
        resp = client.post("/monitor/v2/alert/silences", json=bad, headers=admin)
        assert resp.status_code == 422 and resp.json()["error"]["field"] == field, resp.text
    globex = token(store, "alerts:write", frozenset({"globex"}))
    assert client.delete(f"/monitor/v2/alert/silences/{silence['id']}", headers=globex).status_code == 404
    assert client.delete(f"/monitor/v2/alert/silences/{silence['id']}", headers=admin).status_code == 204
