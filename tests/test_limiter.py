"""Failed-authentication throttling: per key, a sliding window, successes never counted."""

from __future__ import annotations

from signwatch.auth.limiter import FailureLimiter


def test_a_key_is_throttled_after_the_limit_until_the_window_passes() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("ip:1") is None
        limiter.failed("ip:1")
    wait = limiter.retry_after("ip:1")
    assert wait is not None and 55 <= wait <= 61
    assert limiter.retry_after("ip:2") is None  # another source is not affected
    now[0] = 61.0
    assert limiter.retry_after("ip:1") is None  # the window has passed
