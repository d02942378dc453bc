"""DocuSign over real HTTP: Connect messages verified and stored (refusals archived), and the Monitor-
compatible stream (`/v1/organizations/{id}/stream`, `/api/v2.0/datasets/monitor/stream`) with its cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from httpx import Client, Response

from signwatch.sources.docusign import sign_connect
from signwatch.store import Scope, SqlStore
from signwatch.tenants import organization_id
from tests.api.test_data import send, token
from tests.conftest import KEY, OTHER_KEY
from tests.sources.test_docusign import connect_message


def post_connect(client: Client, tenant: str, payload: object, key: str, **headers: str) -> Response:
    body = orjson.dumps(payload)
    sig = {
        "X-DocuSign-Signature-1": sign_connect(body, "some-old-key-0000"),
        "X-DocuSign-Signature-2": sign_connect(body, key),
    }
    return client.post(f"/webhooks/docusign/{tenant}", content=body, headers={**sig, **headers})


def test_connect_messages_are_verified_stored_once_and_refusals_archived(client: Client, store: SqlStore) -> None:
    message = connect_message("envelope-sent")
    stored = post_connect(client, "acme", message, KEY)
    assert stored.status_code == 202, stored.text
    again = post_connect(client, "acme", message, KEY)
    assert again.status_code == 200
    event_id = stored.json()["eventId"]
    [event] = store.get_events_by_id(Scope.all(), [event_id])
    assert event.source == "docusign-connect" and event.type == "envelope.sent" and event.tenant == "acme"
    forged = client.post(
        "/webhooks/docusign/acme", content=orjson.dumps(message), headers={"X-DocuSign-Signature-1": "bm9wZQ=="}
    )
    assert forged.status_code == 401 and forged.json()["error"]["field"] == "X-DocuSign-Signature-1"
    unsigned = client.post("/webhooks/docusign/acme", content=orjson.dumps(message))
    assert unsigned.status_code == 401
    wrong_tenant = post_connect(client, "globex", message, KEY)  # signed with acme's key
    assert wrong_tenant.status_code == 401
    no_envelope = post_connect(client, "acme", {"event": "envelope-sent", "data": {}}, KEY)
    assert no_envelope.status_code == 400
    span = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    verdicts = sorted(d.verdict for batch in store.iter_deliveries(*span, None) for d in batch)
    assert verdicts.count("bad_signature") == 3 and "invalid" in verdicts and "duplicate" in verdicts


def test_the_monitor_stream_pages_with_cursors(client: Client, store: SqlStore) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:00Z") for i in range(5)]
    send(client, "globex", OTHER_KEY)
    org = organization_id(store)
    auth = token(store, "monitor:read", frozenset({"acme"}))
    url = f"/v1/organizations/{org}/stream"
    first = client.get(url, params={"limit": 3}, headers=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"endCursor", "resultData"} and len(body["resultData"]) == 3
    row = body["resultData"][0]
    for column in ("timestamp", "eventId", "accountId", "organizationId", "userId", "ipAddress", "object", "action"):
        assert column in row
    assert row["organizationId"] == org and row["accountId"] == "acme" and row["object"] == "Envelope"
    rest = client.get(url, params={"cursor": body["endCursor"]}, headers=auth).json()
    assert len(rest["resultData"]) == 2  # acme's remaining two; globex's event is not this token's
    idle = client.get(url, params={"cursor": rest["endCursor"]}, headers=auth).json()
    assert idle == {"endCursor": rest["endCursor"], "resultData": []}  # nothing new: the same cursor
    legacy = client.get("/api/v2.0/datasets/monitor/stream", params={"limit": 2000}, headers=auth).json()
    assert set(legacy) == {"endCursor", "data"} and len(legacy["data"]) == 5
    since = client.get("/api/v2.0/datasets/monitor/stream", params={"cursor": "2000-01-01T00:00:00Z"}, headers=auth)
    assert len(since.json()["data"]) == 5
    future = client.get("/api/v2.0/datasets/monitor/stream", params={"cursor": "2999-01-01T00:00:00Z"}, headers=auth)
    assert future.json() == {"endCursor": "2999-01-01T00:00:00Z", "data": []}
    assert client.get(url, params={"limit": 2001}, headers=auth).status_code == 400
    assert client.get("/v1/organizations/not-ours/stream", headers=auth).status_code == 404
    assert client.get(url).status_code == 401
    assert len(ids) == 5
