"""Monitor data API: cursor paging in ingestion order, filters, parameter errors, auth and tenant isolation."""

from __future__ import annotations

import orjson
import pytest
from httpx import Client

from signwatch.auth.tokens import create_token
from signwatch.store import SqlStore
from tests.conftest import KEY, OTHER_KEY
from tests.helpers import atlas_payload, signed


def send(client: Client, tenant: str, key: str, **kw: object) -> str:
    body, headers = signed(atlas_payload(**kw), key)  # type: ignore[arg-type]
    resp = client.post(f"/webhooks/atlas/{tenant}", content=body, headers=headers)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["eventId"])


def token(store: SqlStore, scopes: str = "monitor:read", tenants: frozenset[str] | None = None) -> dict[str, str]:
    _, secret = create_token(store, "t", frozenset(scopes.split(",")), tenants)
    return {"Authorization": f"Bearer {secret}"}


def pages(
    client: Client, headers: dict[str, str], cursor: str | None = None, **params: object
) -> tuple[list[dict], str]:
    seen: list[dict] = []
    for _ in range(1000):
        q = {**params, **({"cursor": cursor} if cursor else {})}
        resp = client.get("/monitor/v2/data", params=q, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) == {"data", "endCursor", "hasMore"}
        seen.extend(body["data"])
        cursor = body["endCursor"]
        assert cursor.startswith("v1.")
        if not body["hasMore"]:
            return seen, cursor
    raise AssertionError("paging did not end")


def test_paging_has_no_gaps_no_repeats_and_includes_late_events(client: Client, store: SqlStore) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:{i:02d}:00Z") for i in range(25)]
    auth = token(store)
    seen, cursor = pages(client, auth, limit=7)
    assert [e["id"] for e in seen] == ids
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # an empty page still returns a cursor, and resuming from it returns nothing twice
    empty = client.get("/monitor/v2/data", params={"cursor": cursor}, headers=auth).json()
    assert empty["data"] == [] and empty["endCursor"] and empty["hasMore"] is False
    # a late event (event time long before the others) arrives after the client has paged past
    late = send(client, "acme", KEY, at="2026-10-01T00:00:00Z")
    more, _ = pages(client, auth, cursor=empty["endCursor"])
    assert [e["id"] for e in more] == [late]


def test_event_shape_is_camel_case_with_utc_z(client: Client, store: SqlStore) -> None:
    send(client, "acme", KEY, at="2026-11-20T11:30:00+01:00")
    (ev,) = client.get("/monitor/v2/data", headers=token(store)).json()["data"]
    for key in (
        "id",
        "seq",
        "tenant",
        "source",
        "type",
        "occurredAt",
        "ingestedAt",
        "envelopeId",
        "actor",
        "ipAddress",
        "geo",
        "userAgent",
        "clientReferenceId",
        "businessUnit",
        "attributes",
        "deliveryId",
    ):
        assert key in ev
    assert ev["occurredAt"] == "2026-11-20T10:30:00Z"
    assert ev["ingestedAt"].endswith("Z")


def test_filters_on_event_time_type_and_actor(client: Client, store: SqlStore) -> None:
    send(client, "acme", KEY, at="2026-11-19T23:59:59Z")
    a = send(client, "acme", KEY, at="2026-11-20T00:00:00Z", email="bob@acme.example", user_id="usr_bob")
    b = send(client, "acme", KEY, event="envelope.voided", at="2026-11-21T23:59:59Z")
    send(client, "acme", KEY, at="2026-11-22T00:00:00Z")
    auth = token(store)
    got, _ = pages(client, auth, **{"from": "2026-11-20", "to": "2026-11-21"})
    assert [e["id"] for e in got] == [a, b]
    got, _ = pages(client, auth, **{"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T23:59:59Z"})
    assert [e["id"] for e in got] == [a, b]
    got, _ = pages(client, auth, **{"from": "2026-11-20T01:00:00+01:00", "to": "2026-11-22T00:59:59+01:00"})
    assert [e["id"] for e in got] == [a, b]
    unencoded = client.get("/monitor/v2/data?from=2026-11-20T01:00:00+01:00&to=2026-11-22T00:59:59+01:00", headers=auth)
    assert [e["id"] for e in unencoded.json()["data"]] == [a, b]
    got, _ = pages(client, auth, type="envelope.voided")
    assert [e["id"] for e in got] == [b]
    got, _ = pages(client, auth, type="envelope_voided")
    assert [e["id"] for e in got] == [b]
    got, _ = pages(client, auth, actor="bob@acme.example")
    assert [e["id"] for e in got] == [a]
    got, _ = pages(client, auth, actor="usr_bob", limit=1)
    assert [e["id"] for e in got] == [a]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-11-21", "to": "2026-11-20"}, "from"),
        ({"cursor": "v9.abc"}, "cursor"),
        ({"cursor": "v1.!!!"}, "cursor"),
        ({"cursor": "v1." + "eyJzIjotMX0"}, "cursor"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(client: Client, store: SqlStore, params: dict, field: str) -> None:
    resp = client.get("/monitor/v2/data", params=params, headers=token(store))
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "bad_request" and err["field"] == field and err["message"]


def test_auth_401_and_403(client: Client, store: SqlStore) -> None:
    assert client.get("/monitor/v2/data").status_code == 401
    assert client.get("/monitor/v2/data", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/monitor/v2/data", headers={"Authorization": "Basic abc"}).status_code == 401
    resp = client.get("/monitor/v2/data", headers=token(store, "export:read"))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "insufficient_scope"
    record, secret = create_token(store, "gone", frozenset({"monitor:read"}), None)
    store.revoke_token(record.id, record.created_at)
    assert client.get("/monitor/v2/data", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_tenant_scoped_token_sees_only_its_tenants(client: Client, store: SqlStore) -> None:
    mine = [send(client, "acme", KEY) for _ in range(3)]
    theirs = [send(client, "globex", OTHER_KEY) for _ in range(3)]
    acme_only = token(store, tenants=frozenset({"acme"}))
    got, _ = pages(client, acme_only, limit=2)
    assert [e["id"] for e in got] == mine
    assert all(e["tenant"] == "acme" for e in got)
    forbidden = client.get("/monitor/v2/data", params={"tenant": "globex"}, headers=acme_only)
    assert forbidden.status_code == 403
    body = forbidden.text
    assert not any(i in body for i in theirs)
    got, _ = pages(client, token(store), tenant="globex")
    assert [e["id"] for e in got] == theirs


def test_openapi_is_served(client: Client) -> None:
    doc = client.get("/openapi.json").json()
    assert "/monitor/v2/data" in doc["paths"] and "/webhooks/atlas/{tenant}" in doc["paths"]
    for path in (
        "/monitor/v2/alert/rules",
        "/monitor/v2/alert/rules/{rule_id}/backtest",
        "/monitor/v2/alerts",
        "/monitor/v2/alert/silences",
        "/monitor/v2/export",
        "/monitor/v2/export/jobs/{job_id}",
        "/v1/organizations/{organizationId}/stream",
        "/api/v2.0/datasets/monitor/stream",
        "/oauth/token",
        "/webhooks/docusign/{tenant}",
    ):
        assert path in doc["paths"], path


def test_unknown_route_uses_the_error_shape(client: Client) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_healthz_and_metrics(client: Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    body, headers = signed(orjson.dumps(atlas_payload()), KEY)
    client.post("/webhooks/atlas/acme", content=body, headers=headers)
    text = client.get("/metrics").text
    assert 'signwatch_deliveries_total{source="atlas",verdict="stored"} 1.0' in text
    assert "signwatch_ingest_latency_seconds_bucket" in text and "signwatch_commit_batch_size_bucket" in text
