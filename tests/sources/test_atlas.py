"""The Atlas payload parser: tolerant shapes, actors, redaction, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signwatch.events import Geo
from signwatch.sources.atlas import REDACTED, PayloadError, parse_event

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def parse(payload: object) -> object:
    return parse_event(payload, tenant="acme", received_at=NOW, geo=lambda ip: Geo(country="ZZ"))


def test_signer_actions_name_the_signer_and_keep_the_sender() -> None:
    ev = parse(
        {
            "id": "1",
            "event": "envelope.signed",
            "envelope_id": "e",
            "created_at": "2026-11-20T10:00:00Z",
            "data": {
                "sender": {"user_id": "s", "email": "S@x.example"},
                "signer": {"email": "signer@y.example"},
                "ip_address": "1.2.3.4",
            },
        }
    )
    assert ev.actor.email == "signer@y.example"  # type: ignore[attr-defined]
    assert ev.attributes["sender"] == {"id": "s", "email": "s@x.example"}  # type: ignore[attr-defined]


def test_secrets_are_redacted_and_extras_kept() -> None:
    ev = parse(
        {
            "id": "1",
            "event": "envelope.sent",
            "envelope_id": "e",
            "data": {
                "subject": "NDA",
                "access_token": "abc",
                "nested": {"password": "p"},
                "metadata": {"client_reference_id": "c", "region": "emea", "api_key": "k"},
            },
        }
    )
    attrs = ev.attributes  # type: ignore[attr-defined]
    assert attrs["subject"] == "NDA" and attrs["access_token"] == REDACTED
    assert attrs["nested"] == {"password": REDACTED}
    assert attrs["metadata"] == {"region": "emea", "api_key": REDACTED}
    assert attrs["occurredAtFrom"] == "receipt" and ev.occurred_at == NOW  # type: ignore[attr-defined]


def test_id_is_stable_and_derived_when_missing() -> None:
    p = {"event": "envelope.sent", "envelope_id": "e", "created_at": "2026-11-20T10:00:00Z"}
    assert parse(p).id == parse(dict(p)).id  # type: ignore[attr-defined]
    assert parse(p).id != parse({**p, "created_at": "2026-11-20T10:00:01Z"}).id  # type: ignore[attr-defined]
    a = parse({**p, "id": "x"})
    b = parse_event({**p, "id": "x"}, tenant="other", received_at=NOW, geo=lambda ip: Geo())
    assert a.id != b.id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("text", "body"),
        ({"envelope_id": "e"}, "event"),
        ({"event": "", "envelope_id": "e"}, "event"),
        ({"event": "envelope.sent"}, "envelope_id"),
        ({"event": "envelope.sent", "envelope_id": {"x": 1}}, "envelope_id"),
        ({"event": "envelope.sent", "envelope_id": "e", "timestamp": "soon"}, "created_at"),
    ],
)
def test_refusals_name_the_field(payload: object, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse(payload)
    assert info.value.field == field
