"""Simulator (design §2 simulate/): when people send envelopes — business hours and a weekly rhythm.

Sending is a Poisson process whose rate follows the tenant's local clock (zoneinfo, so DST-correct):
busy Monday to Friday 08:00-18:00 with a lunch dip, a trickle in the evening, almost nothing at night
and at weekends. Rates are evaluated per quarter hour, which also fits zones offset by 30 or 45 minutes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from signwatch.simulate.streams import poisson

BUSINESS_START_HOUR = 8
BUSINESS_END_HOUR = 18

# Relative sending rate for each local hour of a weekday, and of a weekend day.
_WEEKDAY = (
    0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.10,  # 00-07
    0.60, 1.00, 1.20, 1.10, 0.70, 0.90, 1.10, 1.10, 0.90, 0.60,  # 08-17 business hours
    0.20, 0.10, 0.06, 0.04, 0.02, 0.01,  # 18-23
)  # fmt: skip
_WEEKEND = tuple(0.03 if 9 <= hour < 18 else 0.005 for hour in range(24))
_WEEKDAY_TOTAL = sum(_WEEKDAY)
QUARTER = timedelta(minutes=15)


def is_business_hours(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether ``moment`` (aware) falls Monday-Friday 08:00-18:00 on the tenant's local clock."""
    local = moment.astimezone(zone)
    return local.weekday() < 5 and BUSINESS_START_HOUR <= local.hour < BUSINESS_END_HOUR


def relative_rate(moment: datetime, zone: ZoneInfo) -> float:
    """The sending rate at ``moment`` relative to an average weekday hour (weekday hours sum to 24)."""
    local = moment.astimezone(zone)
    table = _WEEKDAY if local.weekday() < 5 else _WEEKEND
    return table[local.hour] * 24 / _WEEKDAY_TOTAL


def send_times(rng: random.Random, zone: ZoneInfo, hour_start: datetime, per_weekday: float) -> list[datetime]:
    """Send times (whole seconds, sorted) within the UTC hour from ``hour_start``.

    ``per_weekday`` is the number of envelopes the whole tenant sends on an average weekday.
    """
    times: list[datetime] = []
    for quarter in range(4):
        start = hour_start + quarter * QUARTER
        mean = per_weekday * relative_rate(start, zone) / 96
        for _ in range(poisson(rng, mean)):
            times.append(start + timedelta(seconds=rng.randrange(900)))
    times.sort()
    return times
