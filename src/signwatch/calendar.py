"""Tenant calendars (design §4): business hours, holidays and the local hour of week, DST-correct.

Rules count on event time in UTC minutes; a schedule (`offHoursOnly` / `businessHoursOnly`) and the anomaly
kind's hour-of-week baseline need the tenant's local clock. Local time is computed per quarter hour (every
zone's UTC offset is a multiple of 15 minutes), so a 30-day mask costs a few thousand zoneinfo conversions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_QUARTER = 15


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a tenant works: weekdays (Monday = 0), opening hours on its local clock, and holidays."""

    zone: ZoneInfo
    days: frozenset[int] = frozenset(range(5))
    start: time = time(8, 0)
    end: time = time(18, 0)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, timezone: str, business_hours: dict[str, Any] | None = None) -> BusinessCalendar:
        return _calendar(timezone, _freeze(business_hours or {}))

    def is_business(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        return (
            local.weekday() in self.days and self.start <= local.time() < self.end and local.date() not in self.holidays
        )

    def business_minutes(self, start_minute: int, end_minute: int) -> list[bool]:
        """For each UTC minute (minutes since the epoch) in [start, end): whether it is business time."""
        out: list[bool] = []
        block = start_minute - start_minute % _QUARTER
        while block < end_minute:
            flag = self.is_business(datetime.fromtimestamp(block * 60, UTC))
            lo, hi = max(block, start_minute), min(block + _QUARTER, end_minute)
            out.extend([flag] * (hi - lo))
            block += _QUARTER
        return out

    def hour_of_week(self, hour: int) -> int:
        """The local hour of week (Monday 00:00 = 0 … 167) of a UTC hour (hours since the epoch)."""
        local = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.zone)
        return local.weekday() * 24 + local.hour


@lru_cache(maxsize=256)
def _calendar(timezone: str, hours: tuple[tuple[str, Any], ...]) -> BusinessCalendar:
    spec = dict(hours)
    days = spec.get("days")
    return BusinessCalendar(
        zone=ZoneInfo(timezone),
        days=frozenset(int(d) for d in days) if days is not None else frozenset(range(5)),
        start=time.fromisoformat(str(spec.get("start", "08:00"))),
        end=time.fromisoformat(str(spec.get("end", "18:00"))) if spec.get("end", "18:00") != "24:00" else time.max,
        holidays=frozenset(date.fromisoformat(str(d)) for d in spec.get("holidays") or ()),
    )


def _freeze(spec: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in spec.items()))
