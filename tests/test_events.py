"""The event model: time handling, the type vocabulary and the envelope state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from signwatch.events import Event, advance, from_us, normalize_type, parse_time, rfc3339, to_us

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_microsecond_round_trip(at: datetime) -> None:
    assert from_us(to_us(at)) == at


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_rfc3339_round_trip(at: datetime) -> None:
    text = rfc3339(at)
    assert text.endswith("Z") and parse_time(text) == at


def test_parse_time_spellings() -> None:
    assert parse_time("2026-11-20T11:00:00+01:00") == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert parse_time("2026-11-20T10:00:00") == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert parse_time(1_763_632_800) == parse_time(1_763_632_800_000) == parse_time("1763632800")


def test_type_vocabulary() -> None:
    assert normalize_type("envelope.sent", "atlas") == "envelope.sent"
    assert normalize_type("envelope_voided", "atlas") == "envelope.voided"
    assert normalize_type("Signed", "atlas") == "envelope.signed"
    assert normalize_type("recipient.viewed", "atlas") == "recipient.viewed"
    assert normalize_type("template.shared", "atlas") == "atlas.template.shared"


def _e(type: str, minutes: int) -> Event:
    return Event(
        id=type,
        tenant="t",
        source="atlas",
        type=type,
        occurred_at=T0 + timedelta(minutes=minutes),
        envelope_id="env",
    )


def test_state_machine_moves_forward_only() -> None:
    s = advance(None, _e("envelope.sent", 0))
    assert s is not None and s.status == "sent" and s.sent_at == T0
    s = advance(s, _e("envelope.viewed", 5))
    assert s is not None and s.status == "viewed"
    s = advance(s, _e("envelope.delivered", 3))  # late, earlier stage: status stays
    assert s is not None and s.status == "viewed"
    s = advance(s, _e("envelope.declined", 9))
    assert s is not None and s.status == "declined" and s.terminal and s.completed_at == T0 + timedelta(minutes=9)
    s = advance(s, _e("envelope.signed", 12))  # nothing moves a terminal envelope
    assert s is not None and s.status == "declined"
    assert advance(None, _e("user.login", 0)) is None


def test_rfc3339_trims_and_marks_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from signwatch.events import rfc3339

    assert rfc3339(datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)) == "2026-11-20T14:03:11Z"
    assert rfc3339(datetime(2026, 11, 20, 14, 3, 11, 120000, tzinfo=UTC)) == "2026-11-20T14:03:11.12Z"
    assert rfc3339(datetime(2026, 11, 20, 14, 3, 11, 1, tzinfo=UTC)) == "2026-11-20T14:03:11.000001Z"
    cet = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 11, 20, 15, 3, 11, 500, tzinfo=cet)) == "2026-11-20T14:03:11.0005Z"
