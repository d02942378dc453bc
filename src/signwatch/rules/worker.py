"""Rules (design §7): the engine's place in `serve` — a cycle after each ingest commit, and a steady tick.

Only the process holding the `rules-engine` lease runs cycles (one engine per installation, whatever the
number of `serve` processes); the others keep trying, so one takes over when the holder stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from signwatch.metrics import Metrics
from signwatch.rules.live import RuleEngine

log = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.05  # gather the commits of a burst into one cycle


class EngineLoop:
    def __init__(self, engine: RuleEngine, tick_seconds: float, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.metrics = metrics
        self.tick = tick_seconds
        self.wake = asyncio.Event()
        self.cycles = 0
        self.idle = asyncio.Event()

    def poke(self) -> None:
        """Ask for a cycle soon (called after each ingest commit)."""
        self.wake.set()

    async def run(self) -> None:
        while not await asyncio.to_thread(self.engine.store.try_lease, "rules-engine"):
            await asyncio.sleep(self.tick)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.tick)
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self.wake.clear()
            self.idle.clear()
            started = time.perf_counter()
            try:
                report = await asyncio.to_thread(self.engine.cycle)
            except Exception:
                log.exception("rules engine cycle failed; retrying")
                await asyncio.sleep(1.0)
                self.wake.set()
                continue
            self.cycles += 1
            if self.metrics is not None:
                self.metrics.rules_cycle_seconds.observe(time.perf_counter() - started)
                self.metrics.rules_folded.inc(report.folded)
                for alert in report.fired:
                    self.metrics.alerts_fired.labels(alert.severity, alert.mode).inc()
            if report.folded >= self.engine.settings.page:
                self.wake.set()  # more of the log to read
            else:
                self.idle.set()
