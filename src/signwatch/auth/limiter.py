"""Auth (design §4): throttling failed authentication per source address and per client.

After `limit` failures within `window` seconds from one source address (or for one client id), further
attempts from it are refused with 429 and Retry-After until the window has passed, before any credential
is checked: guessing tokens or client secrets costs an attacker a window per few tries. Successful calls
are never counted. Kept in memory per process (a restart forgets; several processes each allow `limit`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    def __init__(self, limit: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int | None:
        """Seconds to wait when any of `keys` is over the limit, else None."""
        now = self.clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                seen = self._prune(key, now)
                if seen is not None and len(seen) >= self.limit:
                    wait = max(wait, seen[0] + self.window - now)
            return max(int(wait) + 1, 1) if wait > 0 else None

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > 100_000:  # bound memory under a spray of sources
                for key in list(self._failures)[:50_000]:
                    self._prune(key, now)

    def _prune(self, key: str, now: float) -> deque[float] | None:
        seen = self._failures.get(key)
        if seen is None:
            return None
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if not seen:
            del self._failures[key]
            return None
        return seen
