"""Atlas webhook receivers through the real app: every verdict, the archive, rotation, platform mode."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest
from httpx import Client
from sqlalchemy import select

from signwatch.config import Settings
from signwatch.crypto import load_box
from signwatch.store import EventFilter, Scope, SqlStore
from signwatch.store import schema as t
from signwatch.tenants import rotate_key
from tests.conftest import KEY, OTHER_KEY, SECRET
from tests.helpers import atlas_payload, signed


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Keys cached for 0.2 s only, so a rotation is seen within the test."""
    return Settings(db=db_url, secret_key=SECRET, key_cache_seconds=0.2)  # type: ignore[arg-type]


def deliveries(store: SqlStore) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.deliveries).order_by(t.deliveries.c.received_us))]


def event_count(store: SqlStore) -> int:
    return sum(store.event_counts(Scope.all()).values())


def assert_error(resp, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_stored_then_duplicate(client: Client, store: SqlStore) -> None:
    body, headers = signed(atlas_payload(id="evt_dup"), KEY)
    first = client.post("/webhooks/atlas/acme", content=body, headers=headers)
    assert first.status_code == 202
    assert first.json()["status"] == "stored"
    again = client.post("/webhooks/atlas/acme", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["eventId"] == first.json()["eventId"]
    assert event_count(store) == 1
    verdicts = [d["verdict"] for d in deliveries(store)]
    assert verdicts == ["stored", "duplicate"]


def test_stored_event_is_normalized_and_enriched(client: Client, store: SqlStore) -> None:
    body, headers = signed(atlas_payload(id="evt_n", envelope="env_n", email="Alice@Acme.Example"), KEY)
    assert client.post("/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
    page = store.read_events(Scope.all(), 0, 10, EventFilter())
    (ev,) = page.events
    assert ev.type == "envelope.sent" and ev.tenant == "acme" and ev.source == "atlas"
    assert ev.envelope_id == "env_n"
    assert ev.actor.email == "alice@acme.example" and ev.actor.id == "usr_alice"
    assert ev.geo.country == "GB" and ev.geo.network and ev.geo.asn
    assert ev.business_unit == "sales" and ev.client_reference_id
    assert ev.delivery_id == deliveries(store)[0]["id"]
    state = store.get_envelope(Scope.all(), "acme", "env_n")
    assert state is not None and state.status == "sent" and state.sent_at is not None


def test_platform_mode_uses_atlas_account_header(client: Client, store: SqlStore) -> None:
    body, headers = signed(atlas_payload(), OTHER_KEY)
    resp = client.post("/webhooks/atlas", content=body, headers={**headers, "Atlas-Account": "globex"})
    assert resp.status_code == 202
    assert store.event_counts(Scope.all()) == {("globex", "envelope.sent"): 1}
    missing = client.post("/webhooks/atlas", content=body, headers=headers)
    assert_error(missing, 401, "unknown_tenant")


def test_bad_and_missing_signature_are_401_and_archived(client: Client, store: SqlStore) -> None:
    body, headers = signed(atlas_payload(), KEY)
    assert_error(client.post("/webhooks/atlas/acme", content=body, headers={}), 401, "bad_signature")
    tampered = body.replace(b"alice", b"mallory")
    assert_error(client.post("/webhooks/atlas/acme", content=tampered, headers=headers), 401, "bad_signature")
    wrong_key = signed(atlas_payload(), OTHER_KEY)
    assert_error(client.post("/webhooks/atlas/acme", content=wrong_key[0], headers=wrong_key[1]), 401, "bad_signature")
    garbage = {**headers, "X-Atlas-Signature": "sha256=zz-not-hex"}
    assert_error(client.post("/webhooks/atlas/acme", content=body, headers=garbage), 401, "bad_signature")
    assert event_count(store) == 0
    archived = deliveries(store)
    assert [d["verdict"] for d in archived] == ["bad_signature"] * 4
    assert archived[1]["body"] == tampered and archived[1]["status_code"] == 401


def test_unknown_tenant_is_401_and_archived(client: Client, store: SqlStore) -> None:
    body, headers = signed(atlas_payload(), KEY)
    assert_error(client.post("/webhooks/atlas/nosuch", content=body, headers=headers), 401, "unknown_tenant")
    (d,) = deliveries(store)
    assert d["verdict"] == "unknown_tenant" and d["tenant"] is None and d["path"] == "/webhooks/atlas/nosuch"


def test_not_json_and_missing_fields_are_400(client: Client, store: SqlStore) -> None:
    cases = [
        (b"{not json", "bad_json", "body"),
        (orjson.dumps([1, 2]), "invalid", "body"),
        (orjson.dumps({"id": "x", "envelope_id": "e"}), "invalid", "event"),
        (orjson.dumps({"id": "x", "event": "envelope.sent"}), "invalid", "envelope_id"),
        (
            orjson.dumps({"event": "envelope.sent", "envelope_id": "e", "created_at": "yesterday"}),
            "invalid",
            "created_at",
        ),
    ]
    for raw, code, field in cases:
        body, headers = signed(raw, KEY)
        resp = client.post("/webhooks/atlas/acme", content=body, headers=headers)
        assert_error(resp, 400, code)
        assert resp.json()["error"]["field"] == field
    assert event_count(store) == 0
    assert [d["verdict"] for d in deliveries(store)] == [c[1] for c in cases]


def test_body_over_limit_is_413_and_archived_capped(client: Client, store: SqlStore, settings: Settings) -> None:
    payload = atlas_payload(padding="x" * (settings.max_body_bytes + 10))
    body, headers = signed(payload, KEY)
    assert_error(client.post("/webhooks/atlas/acme", content=body, headers=headers), 413, "too_large")
    (d,) = deliveries(store)
    assert d["verdict"] == "too_large" and d["body_truncated"]
    assert len(d["body"]) == settings.archive_refused_bytes and d["body_size"] >= len(body)


def test_unknown_event_types_are_stored(client: Client, store: SqlStore) -> None:
    body, headers = signed(atlas_payload("template.shared"), KEY)
    assert client.post("/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
    assert store.event_counts(Scope.all()) == {("acme", "atlas.template.shared"): 1}


def test_alternative_spellings_and_top_level_fields(client: Client, store: SqlStore) -> None:
    raw = {
        "event_id": "alt1",
        "type": "envelope.signed",
        "occurred_at": "2026-11-20T11:00:00+01:00",
        "envelope_id": "env_alt",
        "sender": {"user_id": "u9", "email": "x@y.example"},
        "ip_address": "8.8.8.8",
        "metadata": {"business_unit": "legal"},
    }
    body, headers = signed(raw, KEY)
    assert client.post("/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
    ev = store.read_events(Scope.all(), 0, 5, EventFilter()).events[0]
    assert ev.type == "envelope.signed" and ev.business_unit == "legal" and ev.geo.country == "US"
    assert ev.occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_rotation_keeps_old_key_valid_during_grace(client: Client, store: SqlStore, settings: Settings) -> None:
    new_key = "acme-new-key-9876543210"
    rotate_key(store, load_box(SECRET, settings.db), "acme", new_key, timedelta(hours=1))
    for key in (KEY, new_key):
        body, headers = signed(atlas_payload(), key)
        assert client.post("/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
    rotate_key(store, load_box(SECRET, settings.db), "acme", "acme-third-key-000000000", timedelta(0))
    time.sleep(0.3)  # past the key cache
    body, headers = signed(atlas_payload(), new_key)
    assert_error(client.post("/webhooks/atlas/acme", content=body, headers=headers), 401, "bad_signature")


def test_store_failure_answers_503_with_retry_after(client: Client, store: SqlStore) -> None:
    """A real commit failure: another process holds the database's write lock past our lock timeout."""
    body, headers = signed(atlas_payload(), KEY)
    if store.dialect == "sqlite":
        import sqlite3

        from sqlalchemy import event

        store.engine.dispose()

        @event.listens_for(store.engine, "connect")
        def _short_timeout(dbapi_conn, _):  # type: ignore[no-untyped-def]
            dbapi_conn.execute("PRAGMA busy_timeout=200")

        blocker = sqlite3.connect(store.engine.url.database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            resp = client.post("/webhooks/atlas/acme", content=body, headers=headers)
            assert_error(resp, 503, "unavailable")
            assert resp.headers["Retry-After"].isdigit()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert client.post("/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
        return
    import psycopg

    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as blocker:
        blocker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ALTER DATABASE " + store.engine.url.database + " SET lock_timeout = '300ms'")
            conn.commit()
        store.engine.dispose()
        resp = client.post("/webhooks/atlas/acme", content=body, headers=headers)
        assert_error(resp, 503, "unavailable")
        assert resp.headers["Retry-After"].isdigit()
        blocker.rollback()
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ALTER DATABASE " + store.engine.url.database + " RESET lock_timeout")
        conn.commit()


def test_routes_behind_the_fast_path_answer_the_same(
    settings: Settings, store: SqlStore, tenants: dict[str, str]
) -> None:
    """The FastAPI routes (used when the app is mounted without SignwatchApp's fast path) give the same answers."""
    from fastapi import FastAPI

    from signwatch.api import create_app
    from tests.conftest import LiveServer

    inner = create_app(settings, store)
    plain = FastAPI(lifespan=inner.router.lifespan_context)
    plain.state.services = inner.state.services
    plain.include_router(__import__("signwatch.api.webhooks", fromlist=["router"]).router)
    with LiveServer(plain) as server, Client(base_url=server.url) as client:
        body, headers = signed(atlas_payload(id="evt_route"), KEY)
        assert client.post("/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
        assert (
            client.post("/webhooks/atlas", content=body, headers={**headers, "Atlas-Account": "acme"}).status_code
            == 200
        )
        assert_error(client.post("/webhooks/atlas/acme", content=b"x", headers=headers), 401, "bad_signature")
