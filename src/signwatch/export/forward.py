"""Export (design §2 export/): forwarders — push the event log, in ingestion order, to a sink, resumably.

A forwarder reads events after its checkpoint (the store's `forwarders` row), formats each as one line,
hands the batch to its sink, and moves the checkpoint only once the sink has acknowledged the batch, in a
compare-and-set so two processes never both advance it. Killed anywhere, it resumes from the checkpoint:
nothing is lost, a batch may be sent twice (at-least-once; receivers dedupe on the stable event `id` and
spot gaps with `seq`). Failures back off exponentially; the status line says how far behind it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from signwatch.config import ForwarderSettings as ForwarderConfig
from signwatch.crypto import SecretBox
from signwatch.events import to_us, utcnow
from signwatch.export.formats import get_format
from signwatch.export.sinks import Record, Sink, SinkError, open_sink
from signwatch.store import EventFilter, Scope, Store
from signwatch.store.base import ForwarderRecord

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    sink: str
    format: str
    tenant: str | None
    position: int
    forwarded: int
    lag_events: int
    lag_seconds: float
    last_ok_at: datetime | None
    last_error: str | None


def display(url: str) -> str:
    """The sink URL without credentials or tokens, for status lines and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    netloc = netloc.rpartition("@")[2]
    path, _, query = tail.partition("?")
    kept = [p for p in query.split("&") if p and p.split("=")[0].lower() not in ("token", "password", "key", "secret")]
    return f"{scheme}://{netloc}{slash}{path}" + (f"?{'&'.join(kept)}" if kept else "")


class Forwarder:
    def __init__(
        self,
        store: Store,
        box: SecretBox,
        config: ForwarderConfig,
        *,
        sink_factory: Callable[[str], Sink] | None = None,
        signing_key: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.box = box
        self.config = config
        self.format = get_format(config.format)
        self.sink_factory = sink_factory or (lambda url: open_sink(url, signing_key=signing_key))
        self.clock = clock
        self.sent = 0

    def register(self) -> ForwarderRecord:
        c = self.config
        return self.store.register_forwarder(
            ForwarderRecord(c.name, self.box.encrypt(c.sink), display(c.sink), c.format, c.tenant, position=0)
        )

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> int:
        """Forward until stopped (or, with `once`, until caught up); returns the events sent."""
        record = await asyncio.to_thread(self.register)
        while not await asyncio.to_thread(self.store.try_lease, f"forwarder:{self.config.name}"):
            if once:
                raise RuntimeError(f"forwarder {self.config.name!r} is running elsewhere")
            await asyncio.sleep(5.0)
        sink = self.sink_factory(self.config.sink)
        position = record.position
        backoff = 1.0
        try:
            await sink.open()
            while stop is None or not stop.is_set():
                try:
                    moved, more = await self.step(sink, position)
                except SinkError as exc:
                    await asyncio.to_thread(self.store.forwarder_failed, self.config.name, str(exc), self.clock())
                    log.warning("forwarder %s: %s; retrying in %.0f s", self.config.name, exc, backoff)
                    if once and not exc.retryable:
                        raise
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                backoff = 1.0
                position = moved
                if not more:
                    if once:
                        break
                    await asyncio.sleep(self.config.poll_seconds)
        finally:
            await sink.close()
            self.store.release_lease(f"forwarder:{self.config.name}")
        return self.sent

    async def step(self, sink: Sink, position: int) -> tuple[int, bool]:
        """Send one batch after `position`; returns the new checkpoint and whether more is waiting."""
        tenants = (self.config.tenant,) if self.config.tenant else ()
        page = await asyncio.to_thread(
            self.store.read_events, Scope.all(), position, self.config.batch, EventFilter(tenants=tenants)
        )
        if page.events:
            batch = [Record(e.seq or 0, e.id, e.tenant, self.format.record(e)) for e in page.events]
            await sink.send(batch)
        if page.last_seq == position:
            return position, False
        moved = await asyncio.to_thread(
            self.store.advance_forwarder, self.config.name, position, page.last_seq, len(page.events), self.clock()
        )
        if not moved:  # someone else moved it: take theirs
            current = await asyncio.to_thread(self.store.get_forwarder, self.config.name)
            return (current.position if current else position), True
        self.sent += len(page.events)
        return page.last_seq, page.has_more


def status(store: Store, now: datetime) -> list[Status]:
    """Each forwarder's checkpoint and lag (events not yet acknowledged, and how old the oldest one is)."""
    out = []
    for f in store.list_forwarders():
        tenants = (f.tenant,) if f.tenant else ()
        page = store.read_events(Scope.all(), f.position, 1, EventFilter(tenants=tenants))
        lag_events = store.count_events_after(f.position, f.tenant) if page.events else 0
        oldest = page.events[0].ingested_at if page.events else None
        lag_seconds = max((to_us(now) - to_us(oldest)) / 1e6, 0.0) if oldest else 0.0
        out.append(
            Status(
                f.name,
                f.sink_display,
                f.format,
                f.tenant,
                f.position,
                f.forwarded,
                lag_events,
                lag_seconds,
                f.last_ok_at,
                f.last_error,
            )
        )
    return out
