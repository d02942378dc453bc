"""The retry schedule: monotone, capped, deterministic, and None (dead-letter) after MAX_ATTEMPTS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signwatch.notify import MAX_ATTEMPTS, next_delay
from signwatch.notify.retry import CAP, JITTER


def test_schedule_without_key() -> None:
    delays = [next_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays[:6] == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
    ]
    assert all(d is not None and d <= CAP for d in delays)
    assert next_delay(MAX_ATTEMPTS) is None
    assert next_delay(MAX_ATTEMPTS + 5) is None
    assert MAX_ATTEMPTS == 8


@given(key=st.text(max_size=40))
def test_jitter_is_deterministic_monotone_and_bounded(key: str) -> None:
    delays = [next_delay(n, key) for n in range(1, MAX_ATTEMPTS)]
    assert delays == [next_delay(n, key) for n in range(1, MAX_ATTEMPTS)]
    assert all(d is not None for d in delays)
    plain = [next_delay(n) for n in range(1, MAX_ATTEMPTS)]
    for got, base in zip(delays, plain, strict=True):
        assert got is not None and base is not None
        assert base <= got <= base * (1 + JITTER)
    assert delays == sorted(delays)  # type: ignore[type-var]
    assert next_delay(MAX_ATTEMPTS, key) is None


def test_jitter_spreads_a_burst() -> None:
    assert len({next_delay(1, f"ntf_{i}") for i in range(50)}) > 40


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_count_from_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="from 1"):
        next_delay(attempt)
