"""Simulator (design §2 simulate/): the live loop — release live traffic on a clock, send it, publish it.

Every ``interval`` seconds it asks the ``LiveFeed`` for the events that occurred since the last tick,
adds them to the FAKE Atlas API's state (if one is served) and delivers them as signed webhooks (if a
base URL is given). The only clock read of the simulator lives here, and it is injectable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import httpx

from signwatch.simulate.atlas_api import AtlasState
from signwatch.simulate.lifecycle import SimEvent
from signwatch.simulate.model import LiveFeed
from signwatch.simulate.sender import SendReport, send_events
from signwatch.simulate.world import SimTenant


def wall_clock() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


async def run_live(
    feed: LiveFeed,
    tenants: Mapping[str, SimTenant] | Iterable[SimTenant],
    base_url: str | None,
    *,
    atlas: AtlasState | None = None,
    interval: float = 5.0,
    clock: Callable[[], datetime] = wall_clock,
    stop: asyncio.Event | None = None,
    on_chunk: Callable[[list[SimEvent], SendReport], None] | None = None,
    platform_mode: bool = False,
    concurrency: int = 32,
    client: httpx.AsyncClient | None = None,
) -> SendReport:
    """Run live traffic until ``stop`` is set (or the task is cancelled); return the summed report.

    ``base_url`` None publishes to ``atlas`` only (a poll-only setup). ``on_chunk`` sees each tick's
    events and their send report, for progress output.
    """
    by_slug = dict(tenants) if isinstance(tenants, Mapping) else {tenant.slug: tenant for tenant in tenants}
    stop = stop or asyncio.Event()
    total = SendReport()
    while not stop.is_set():
        events = feed.advance(clock())
        if atlas is not None:
            atlas.add(events)
        report = SendReport()
        if base_url is not None and events:
            report = await send_events(
                events, by_slug, base_url, concurrency=concurrency, platform_mode=platform_mode, client=client
            )
            total.merge(report)
        if on_chunk is not None:
            on_chunk(events, report)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
    return total
