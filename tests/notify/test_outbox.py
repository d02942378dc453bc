"""The outbox worker on both backends: an active rule's alert reaches a real receiver signed; failures retry
on the schedule and end in the dead letters; refused addresses are dead at once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx

from signwatch.events import Actor, Event, Geo, event_id
from signwatch.notify import verify_signature
from signwatch.notify.channels import NotifySettings
from signwatch.notify.outbox import Outbox
from signwatch.notify.retry import MAX_ATTEMPTS
from signwatch.rules.catalog import create
from signwatch.rules.live import EngineSettings, RuleEngine
from signwatch.store import Scope, SqlStore, WriteItem
from tests.notify.conftest import KEY, Receiver

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def fire(store: SqlStore, recipients: list[str]) -> str:
    body = {"name": "burst", "threshold": 2, "windowMinutes": 10, "mode": "active", "recipients": recipients}
    create(store, body, Scope.all(), "test", NOW)
    store.write_batch(
        [
            WriteItem(
                None,
                Event(
                    id=event_id("acme", "t", str(i)),
                    tenant="acme",
                    source="atlas",
                    type="envelope.sent",
                    occurred_at=NOW - timedelta(minutes=3 - i),
                    envelope_id=f"e{i}",
                    actor=Actor("u", "eve@acme.example"),
                    geo=Geo(),
                ),
            )
            for i in range(2)
        ]
    )
    [alert] = RuleEngine(store, EngineSettings(), clock=lambda: NOW).cycle().fired
    return alert.id


def drain(store: SqlStore, at: datetime, allow: tuple[str, ...] = ("127.0.0.1/32",)) -> int:
    async def go() -> int:
        async with httpx.AsyncClient() as http:
            outbox = Outbox(store, NotifySettings(signing_key=KEY, allow_private=allow), http, clock=lambda: at)
            return await outbox.drain()

    return asyncio.run(go())


def test_an_active_alert_is_delivered_signed(store: SqlStore, tenants: dict[str, str], receiver: Receiver) -> None:
    alert_id = fire(store, [f"{receiver.url}/hooks/sec"])
    before = len(receiver.requests)
    assert drain(store, NOW) == 1
    got = receiver.requests[before]
    assert got.path == "/hooks/sec"
    assert verify_signature(
        got.body, got.headers["x-signwatch-timestamp"], got.headers["x-signwatch-signature"], KEY, now=NOW
    )
    body = json.loads(got.body)
    assert body["type"] == "alert.fired" and body["alert"]["id"] == alert_id and body["alert"]["tenant"] == "acme"
    assert [n.state for n in store.list_notifications()] == ["sent"]
    assert drain(store, NOW + timedelta(hours=1)) == 0  # sent once


def test_failures_retry_then_dead_letter(store: SqlStore, tenants: dict[str, str], receiver: Receiver) -> None:
    fire(store, [f"{receiver.url}/down?status=503"])
    at = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert drain(store, at) == 1, attempt
        [n] = store.list_notifications()
        assert n.attempts == attempt and n.last_error == "HTTP 503"
        if attempt < MAX_ATTEMPTS:
            assert n.state == "pending" and n.next_at > at
            assert drain(store, at) == 0  # not due before its time
            at = n.next_at
    assert store.list_notifications()[0].state == "dead"


def test_private_addresses_are_refused_unless_allowed(
    store: SqlStore, tenants: dict[str, str], receiver: Receiver
) -> None:
    fire(store, [f"{receiver.url}/hooks/sec"])
    before = len(receiver.requests)
    assert drain(store, NOW, allow=()) == 1
    [n] = store.list_notifications()
    assert n.state == "dead" and "refused" in (n.last_error or "") and len(receiver.requests) == before


def test_dead_letters_are_listed_masked_and_can_be_retried(
    store: SqlStore, tenants: dict[str, str], receiver: Receiver, settings: object
) -> None:
    from signwatch.api import create_app
    from signwatch.auth.tokens import create_token
    from tests.conftest import LiveServer

    fire(store, [f"{receiver.url}/secret-path/T000/B000"])
    drain(store, NOW, allow=())  # refused: dead at once
    _, secret = create_token(store, "ops", frozenset({"alerts:write"}), None)
    auth = {"Authorization": f"Bearer {secret}"}
    with LiveServer(create_app(settings, store)) as server, httpx.Client(base_url=server.url) as client:  # type: ignore[arg-type]
        [dead] = client.get("/monitor/v2/alert/notifications", params={"state": "dead"}, headers=auth).json()["data"]
        assert dead["recipient"] == f"{receiver.url}/…" and "secret-path" not in str(dead)
        assert dead["attempts"] == 1 and "refused" in dead["lastError"]
        again = client.post(f"/monitor/v2/alert/notifications/{dead['id']}/retry", headers=auth)
        assert again.status_code == 202
        # the server's own outbox takes it up again at once (and, still refused, dead-letters it again)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            [n] = store.list_notifications()
            if n.state == "dead" and n.next_at > NOW:  # attempted by the server (its clock is the real one)
                break
            time.sleep(0.05)
        [n] = store.list_notifications()
        assert n.state == "dead" and n.next_at > NOW
        globex = create_token(store, "g", frozenset({"alerts:write"}), frozenset({"globex"}))[1]
        hidden = client.get("/monitor/v2/alert/notifications", headers={"Authorization": f"Bearer {globex}"})
        assert hidden.json()["data"] == []
