"""Tenant calendars: business hours on the tenant's clock across DST changes, holidays, hour of week."""

from __future__ import annotations

from datetime import UTC, datetime

from signwatch.calendar import BusinessCalendar


def minute(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) // 60


def test_business_hours_follow_the_local_clock_across_dst() -> None:
    berlin = BusinessCalendar.of("Europe/Berlin")
    # Friday 23 October 2026 is summer time (UTC+2): 08:00 local is 06:00Z; Monday 26th winter (UTC+1): 07:00Z
    assert berlin.business_minutes(minute("2026-10-23T05:59"), minute("2026-10-23T06:01")) == [False, True]
    assert berlin.business_minutes(minute("2026-10-26T06:59"), minute("2026-10-26T07:01")) == [False, True]
    assert berlin.business_minutes(minute("2026-10-26T16:59"), minute("2026-10-26T17:01")) == [True, False]
    # weekends are off hours all day
    assert not any(berlin.business_minutes(minute("2026-10-24T00:00"), minute("2026-10-25T23:00")))


def test_holidays_days_and_half_hour_zones() -> None:
    cal = BusinessCalendar.of(
        "Asia/Kolkata", {"days": [0, 1, 2, 3, 4, 5], "start": "09:30", "end": "17:00", "holidays": ["2026-11-24"]}
    )
    # 09:30 in Kolkata (UTC+5:30) is 04:00Z
    assert cal.business_minutes(minute("2026-11-23T03:59"), minute("2026-11-23T04:01")) == [False, True]
    assert not any(cal.business_minutes(minute("2026-11-24T03:00"), minute("2026-11-24T12:00")))  # a holiday
    assert cal.business_minutes(minute("2026-11-28T05:00"), minute("2026-11-28T05:01")) == [True]  # Saturday works
    assert cal.hour_of_week(minute("2026-11-23T04:00") // 60) == 9  # Monday 09:30 local: hour 9 of the week
