"""Notify (design §1 notify/): retry — when to try a failed notification again, and when to give up.

A fixed, capped backoff: 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then dead-letter (MAX_ATTEMPTS = 8
attempts in all, the last about 7 h 43 min after the first). Deterministic: with a `key` (the notification
id) each delay is stretched by up to JITTER (10 %), derived from a hash of the key and attempt, not from a
random source, so a burst of notifications failed by one outage does not retry in lock-step, yet the same
notification always gets the same schedule (reproducible in tests and logs).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
CAP = SCHEDULE[-1]
JITTER = 0.10


def next_delay(attempt: int, key: str | None = None) -> timedelta | None:
    """The wait after failed attempt number `attempt` (1 = the first delivery), or None when that was attempt
    MAX_ATTEMPTS: dead-letter. A receiver's Retry-After (`Outcome.retry_after`) is a floor the worker applies
    on top: `max(next_delay(...), outcome.retry_after)`."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if attempt >= MAX_ATTEMPTS:
        return None
    delay = SCHEDULE[attempt - 1]
    if key is None:
        return delay
    digest = hashlib.sha256(f"{key}\0{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
    return timedelta(seconds=round(delay.total_seconds() * (1 + JITTER * fraction), 3))
