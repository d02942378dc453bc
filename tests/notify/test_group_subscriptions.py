"""Alerts for mapped groups (`signwatch groups map G --alerts severity>=LEVEL`): the engine writes one
`subscribers` notification for an alert some group receives, and the outbox resolves it to the groups'
active members *when it sends* (a real SMTP server on loopback receives the message)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from signwatch.events import Actor, Event, Geo, event_id
from signwatch.notify.channels import NotifySettings
from signwatch.notify.outbox import Outbox
from signwatch.rules.catalog import create
from signwatch.rules.live import EngineSettings, RuleEngine
from signwatch.store import GroupMapping, Scope, SqlStore, WriteItem
from signwatch.store.base import ScimGroupRecord, ScimUserRecord
from tests.notify.conftest import KEY, Inbox, Smtp

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def person(store: SqlStore, uid: str, email: str, active: bool = True) -> None:
    attrs = {"emails": [{"value": email, "primary": True}]}
    store.add_scim_user(ScimUserRecord(uid, email, active, None, attrs, NOW, NOW))


def fire(store: SqlStore, severity: str, recipients: list[str] | None = None) -> None:
    body = {"name": f"burst-{severity}", "threshold": 2, "windowMinutes": 10, "mode": "active",
            "severity": severity, "recipients": recipients or []}  # fmt: skip
    create(store, body, Scope.all(), "test", NOW)
    events = [
        Event(
            id=event_id("acme", severity, str(i)),
            tenant="acme",
            source="atlas",
            type="envelope.sent",
            occurred_at=NOW - timedelta(minutes=3 - i),
            envelope_id=f"e{i}",
            actor=Actor("u", "eve@acme.example"),
            geo=Geo(),
        )
        for i in range(2)
    ]
    store.write_batch([WriteItem(None, e) for e in events])
    assert RuleEngine(store, EngineSettings(), clock=lambda: NOW).cycle().fired


def drain(store: SqlStore, port: int) -> int:
    settings = NotifySettings(signing_key=KEY, smtp_host="127.0.0.1", smtp_port=port, timeout_seconds=5)

    async def go() -> int:
        async with httpx.AsyncClient() as http:
            return await Outbox(store, settings, http, clock=lambda: NOW).drain()

    return asyncio.run(go())


def test_members_of_mapped_groups_receive_alerts_at_or_above_their_floor(
    store: SqlStore, tenants: dict[str, str]
) -> None:
    person(store, "u1", "ana@acme.example")
    person(store, "u2", "ben@acme.example")
    person(store, "u3", "gone@acme.example", active=False)
    person(store, "u4", "late@acme.example")
    store.add_scim_group(ScimGroupRecord("g1", "SecOps", None, ("u1", "u2", "u3"), NOW, NOW))
    store.add_scim_group(ScimGroupRecord("g2", "Globex-only", None, ("u4",), NOW, NOW))
    store.put_group_mapping(GroupMapping("secops", frozenset({"monitor:read"}), None, "high", NOW))
    store.put_group_mapping(GroupMapping("globex-only", frozenset({"monitor:read"}), frozenset({"globex"}), "low", NOW))

    fire(store, "medium")  # below SecOps' floor, and Globex-only does not cover acme: nobody is notified
    assert store.list_notifications() == []

    fire(store, "critical")
    [pending] = store.list_notifications()
    assert pending.recipient == "subscribers" and pending.state == "pending"
    # Membership changes between the alert and the send count: ben leaves, the late one joins SecOps.
    store.put_scim_group(ScimGroupRecord("g1", "SecOps", None, ("u1", "u3", "u4"), NOW, NOW), None)
    with Smtp(Inbox()) as smtp:
        assert drain(store, smtp.port) == 1
    [(_, rcpt_tos, raw)] = smtp.inbox.messages
    assert sorted(rcpt_tos) == ["ana@acme.example", "late@acme.example"]  # not ben, not the deactivated
    assert b"CRITICAL" in raw
    [sent] = store.list_notifications()
    assert sent.state == "sent"


def test_no_member_left_means_sent_with_nobody_to_tell(store: SqlStore, tenants: dict[str, str]) -> None:
    store.add_scim_group(ScimGroupRecord("g1", "SecOps", None, (), NOW, NOW))
    store.put_group_mapping(GroupMapping("SecOps", frozenset({"monitor:read"}), None, "low", NOW))
    fire(store, "low")
    with Smtp(Inbox()) as smtp:
        assert drain(store, smtp.port) == 1
    assert smtp.inbox.messages == []
    [done] = store.list_notifications()
    assert done.state == "sent" and done.last_error is None
