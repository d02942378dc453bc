"""Export formats: the events every format test runs over, and a Hypothesis strategy for hostile ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from signwatch.alerts import alert_event
from signwatch.events import ENVELOPE_TYPES, Actor, Event, Geo
from signwatch.store.base import AlertRecord

AT = datetime(2026, 11, 20, 14, 3, 11, 120000, tzinfo=UTC)
ALICE = Actor("usr_alice", "alice@acme.example")
LONDON = Geo("GB", "Andrews & Arnold Ltd", "81.2.69.0/24", "London")


def event(type: str = "envelope.sent", n: int = 1, **fields: Any) -> Event:
    """A stored event (seq and ingestion time set) with every field filled unless overridden."""
    base: dict[str, Any] = {
        "id": f"ev_{n:032x}",
        "tenant": "acme",
        "source": "atlas",
        "type": type,
        "occurred_at": AT + timedelta(seconds=n),
        "envelope_id": "env_9",
        "actor": ALICE,
        "ip_address": "81.2.69.142",
        "geo": LONDON,
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "client_reference_id": "CRM-1",
        "business_unit": "sales",
        "attributes": {"sourceEventId": f"evt_{n}", "subject": "NDA"},
        "delivery_id": f"dlv_{n}",
        "seq": 1000 + n,
        "ingested_at": AT + timedelta(seconds=n, milliseconds=250),
    }
    return Event(**(base | fields))


def alert(severity: str = "high", state: str = "open") -> AlertRecord:
    return AlertRecord(
        id="al_0123456789abcdef0123456789abcdef",
        rule_id="decline-spike",
        rule_name="Decline spike",
        tenant="acme",
        group_key="sales",
        severity=severity,
        mode="active",
        state=state,
        fired_at=AT,
        resolved_at=None if state == "open" else AT + timedelta(minutes=30),
        window_start=AT - timedelta(minutes=15),
        window_end=AT,
        value=12.0,
        threshold=5.0,
        expected=1.5,
        details={},
    )


def stored(e: Event, seq: int) -> Event:
    """An event as the store hands it back: with its sequence and ingestion time."""
    return replace(e, seq=seq, ingested_at=e.occurred_at)


def samples() -> dict[str, Event]:
    """Named events: every envelope type, recipient, auth, user, alert and unknown types, and sparse ones."""
    out = {t: event(t, i) for i, t in enumerate(ENVELOPE_TYPES, 1)}
    out |= {
        "recipient.signed": event("recipient.signed", 20),
        "recipient.authentication.failed": event("recipient.authentication.failed", 21),
        "auth.login": event("auth.login", 30, envelope_id=""),
        "auth.login.failed": event("auth.login.failed", 31, envelope_id=""),
        "auth.logout": event("auth.logout", 32, envelope_id=""),
        "auth.mfa.challenge": event("auth.mfa.challenge", 33, envelope_id=""),
        "auth.login, nobody": event("auth.login", 34, envelope_id="", actor=Actor()),
        "user.created": event("user.created", 40, envelope_id=""),
        "user.deleted": event("user.deleted", 41, envelope_id=""),
        "user.permission.changed": event("user.permission.changed", 42, envelope_id=""),
        "user.created, nobody": event("user.created", 43, envelope_id="", actor=Actor()),
        "alert.fired": stored(alert_event(alert("high"), "fired", AT, ["ev_a", "ev_b"]), 50),
        "alert.resolved": stored(alert_event(alert("low", "resolved"), "resolved", AT + timedelta(minutes=30)), 51),
        "alert.fired, critical": stored(alert_event(alert("critical"), "fired", AT), 52),
        "alert.fired, medium": stored(alert_event(alert("medium"), "fired", AT), 53),
        "atlas.template.shared": event("atlas.template.shared", 60),
        "atlas.account.audit, no envelope": event("atlas.account.audit", 61, envelope_id=""),
        "bare": event(
            "envelope.viewed",
            70,
            actor=Actor(),
            ip_address=None,
            geo=Geo(),
            user_agent=None,
            client_reference_id=None,
            business_unit=None,
            attributes={},
            delivery_id=None,
        ),
        "email only, not an address": event("envelope.signed", 71, actor=Actor(None, "Bob Smith <bob@x>")),
        "id only": event("envelope.signed", 72, actor=Actor("usr_bob", None)),
        "ipv6": event("envelope.viewed", 73, ip_address="2001:db8::1", geo=Geo(country="DE")),
        "unparsable ip": event("envelope.viewed", 74, ip_address="unknown", geo=Geo()),
        "private ip, network only": event("envelope.viewed", 75, ip_address="10.1.2.3", geo=Geo(network="10.0.0.0/8")),
        "docusign": event("envelope.completed", 76, source="docusign-connect"),
    }
    return out


SAMPLES = samples()
# Text that breaks naive writers: separators and escapes of every format, line breaks, quotes, formulas.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(["|", "\\", "=", "\n", "\r", ",", '"', "'", " ", "+", "-", "@", "\t", "{", "}", "é", "\u2028"]),
        st.characters(codec="utf-8"),
    ),
    max_size=24,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def hostile_events(draw: st.DrawFn) -> Event:
    """Stored events whose free-text fields hold anything a source might send."""
    family = draw(st.sampled_from(["envelope", "recipient", "auth", "user", "atlas", "alert"]))
    name = draw(st.sampled_from(["signed", "declined", "login.failed", "created", "x"]) | HOSTILE)
    text = st.none() | HOSTILE
    attributes = draw(st.dictionaries(HOSTILE, JSON_VALUES, max_size=4))
    if family == "alert":
        attributes |= {"alertId": draw(HOSTILE), "ruleName": draw(HOSTILE), "severity": "high"}
    return Event(
        id=draw(HOSTILE.filter(bool)),
        tenant=draw(HOSTILE.filter(bool)),
        source=draw(st.sampled_from(["atlas", "poll", "docusign-connect"])),
        type=f"{family}.{name}",
        occurred_at=draw(st.datetimes(datetime(2001, 1, 1), datetime(2090, 1, 1), timezones=st.just(UTC))),
        envelope_id=draw(HOSTILE),
        actor=Actor(draw(text), draw(text)),
        ip_address=draw(st.none() | st.ip_addresses().map(str) | HOSTILE),
        geo=Geo(draw(text), draw(text), draw(text), draw(text)),
        user_agent=draw(text),
        client_reference_id=draw(text),
        business_unit=draw(text),
        attributes=attributes,
        delivery_id=draw(text),
        seq=draw(st.integers(1, 2**62)),
        ingested_at=draw(st.datetimes(datetime(2001, 1, 1), datetime(2090, 1, 1), timezones=st.just(UTC))),
    )


def test_samples_cover_every_family_and_envelope_type() -> None:
    types = {e.type for e in SAMPLES.values()}
    assert set(ENVELOPE_TYPES) <= types
    assert {t.partition(".")[0] for t in types} == {"envelope", "recipient", "auth", "user", "alert", "atlas"}
    assert all(e.seq is not None and e.id for e in SAMPLES.values())


# The events docs/formats.md shows in every format (test_formats_native checks that it shows real output).
DOC_EVENT = Event(
    id="ev_4c1f0d8e2b7a49e5a3d6c0b9f18e2a71",
    tenant="acme",
    source="atlas",
    type="envelope.signed",
    occurred_at=datetime(2026, 11, 20, 14, 3, 11, 120000, tzinfo=UTC),
    envelope_id="env_9Kx2",
    actor=Actor("usr_1", "alice@acme.example"),
    ip_address="81.2.69.142",
    geo=LONDON,
    user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    client_reference_id="CRM-1",
    business_unit="sales",
    attributes={"sourceEventId": "evt_1", "recipientRole": "signer"},
    delivery_id="dlv_0f3a9c",
    seq=48213,
    ingested_at=datetime(2026, 11, 20, 14, 3, 11, 482000, tzinfo=UTC),
)
DOC_ALERT = stored(alert_event(alert("high"), "fired", AT, ["ev_4c1f0d8e2b7a49e5a3d6c0b9f18e2a71"]), 48230)
