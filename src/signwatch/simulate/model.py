"""Simulator (design §2 simulate/): the generator — a run's configuration, its history and its live tail.

Pure and deterministic: ``generate`` turns a ``SimConfig`` into the back-dated history (events sorted by
event time, incident labels, final envelope states) without reading a clock or doing I/O; ``LiveFeed``
continues the same world past the history's end, chunk by chunk, for whatever ``now`` it is given.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from signwatch.simulate.cadence import send_times
from signwatch.simulate.incidents import INJECTORS, Scene, schedule
from signwatch.simulate.lifecycle import (
    EnvelopePlan,
    EnvelopeState,
    SimEvent,
    fold_states,
    plan_envelope,
    render,
)
from signwatch.simulate.streams import derive_id, stream
from signwatch.simulate.world import SimTenant, TenantWorld, build_world

__all__ = ["LiveFeed", "SimConfig", "SimEvent", "SimRun", "SimTenant", "demo_tenants", "generate"]

HOUR = timedelta(hours=1)

_DEMO_ZONES = ("America/New_York", "Europe/London", "Asia/Kolkata", "Europe/Berlin", "Australia/Sydney")
_DEMO_SLUGS = ("acme", "globex", "initech", "umbrella", "hooli")


@dataclass(frozen=True)
class SimConfig:
    """What to simulate: tenants, the UTC window [start, end), the seed and the volume knob.

    ``envelopes_per_user_per_day`` is the mean number of envelopes a user sends on a weekday (nights and
    weekends add a few per cent on top). With the defaults, three tenants of 40 users over 14 days give
    about 28,000 events.
    """

    tenants: tuple[SimTenant, ...]
    start: datetime
    end: datetime
    seed: int = 7
    envelopes_per_user_per_day: float = 5.0
    incidents: bool = True

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        object.__setattr__(self, "tenants", tuple(self.tenants))
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if not self.tenants:
            raise ValueError("at least one tenant is needed")
        if len({tenant.slug for tenant in self.tenants}) != len(self.tenants):
            raise ValueError("tenant slugs must be unique")
        if any(tenant.users < 1 for tenant in self.tenants):
            raise ValueError("every tenant needs at least one user")
        if self.envelopes_per_user_per_day < 0:
            raise ValueError("envelopes_per_user_per_day must not be negative")

    @classmethod
    def last_days(cls, tenants: Sequence[SimTenant], days: float, now: datetime, **options: Any) -> SimConfig:
        """A run covering the ``days`` before ``now`` (whole seconds), ready to continue live from ``now``."""
        end = now.astimezone(UTC).replace(microsecond=0)
        return cls(tenants=tuple(tenants), start=end - timedelta(days=days), end=end, **options)


@dataclass
class SimRun:
    """A generated history: events with ``start <= occurred_at < end`` in event-time order, the incident
    labels, each envelope's state at ``end``, and ``upcoming`` — the planned later events of envelopes
    still open at ``end``, which ``LiveFeed`` releases as time passes."""

    config: SimConfig
    events: list[SimEvent]
    labels: list[dict[str, Any]]
    envelopes: dict[str, EnvelopeState]
    upcoming: list[SimEvent] = field(default_factory=list)

    @property
    def tenants(self) -> dict[str, SimTenant]:
        """The run's tenants by slug."""
        return {tenant.slug: tenant for tenant in self.config.tenants}


def demo_tenants(count: int = 3, users: int = 40) -> tuple[SimTenant, ...]:
    """``count`` (at most 5) demo tenants in different time zones, with obviously fake webhook keys."""
    if not 1 <= count <= len(_DEMO_SLUGS):
        raise ValueError(f"between 1 and {len(_DEMO_SLUGS)} demo tenants")
    return tuple(
        SimTenant(slug=slug, api_key=f"demo-atlas-key-{slug}", timezone=zone, users=users)
        for slug, zone in zip(_DEMO_SLUGS[:count], _DEMO_ZONES, strict=False)
    )


def generate(config: SimConfig) -> SimRun:
    """The deterministic history of ``config``: same config, same events, ids and labels."""
    worlds = [build_world(tenant, config.seed) for tenant in config.tenants]
    plans = {
        world.tenant.slug: _baseline_plans(world, config, config.start, config.end, config.start) for world in worlds
    }
    labels: list[dict[str, Any]] = []
    if config.incidents:
        protected: set[str] = set()
        for kind, index, at in schedule(config.seed, worlds, config.start, config.end):
            world = worlds[index]
            scene = Scene(
                seed=config.seed,
                world=world,
                plans=plans[world.tenant.slug],
                run_start=config.start,
                run_end=config.end,
                rng=stream(config.seed, world.tenant.slug, "incident", kind),
                protected=protected,
            )
            labels.append(INJECTORS[kind](scene, at).to_label())
        labels.sort(key=lambda label: (label["start"], label["tenant"], label["kind"]))
    events = _sorted(event for tenant_plans in plans.values() for plan in tenant_plans for event in render(plan))
    history = [event for event in events if event.occurred_at < config.end]
    upcoming = [event for event in events if event.occurred_at >= config.end]
    return SimRun(config=config, events=history, labels=labels, envelopes=fold_states(history), upcoming=upcoming)


class LiveFeed:
    """Live traffic after a run's history: ``advance(now)`` returns the events that occurred since the
    previous call (first call: since ``config.end``), in event-time order.

    Deterministic given the seed and the times: the chunks concatenate to the same events whatever the
    call times, and envelopes still open at the end of the history carry on (no injected incidents live).
    """

    def __init__(self, run: SimRun) -> None:
        self._config = run.config
        self._worlds = [build_world(tenant, run.config.seed) for tenant in run.config.tenants]
        self._pending: list[tuple[datetime, str, SimEvent]] = [(e.occurred_at, e.id, e) for e in run.upcoming]
        heapq.heapify(self._pending)
        self._next_hour = _floor_hour(run.config.end)
        self.position = run.config.end
        """Events before this time have been returned."""

    def advance(self, now: datetime) -> list[SimEvent]:
        """Events with ``position <= occurred_at < now``; moves ``position`` to ``now``."""
        now = now.astimezone(UTC)
        while self._next_hour < now:
            for world in self._worlds:
                for plan in _baseline_plans(
                    world, self._config, self._next_hour, self._next_hour + HOUR, self._config.end
                ):
                    for event in render(plan):
                        heapq.heappush(self._pending, (event.occurred_at, event.id, event))
            self._next_hour += HOUR
        released: list[SimEvent] = []
        while self._pending and self._pending[0][0] < now:
            released.append(heapq.heappop(self._pending)[2])
        self.position = max(self.position, now)
        return released


def _baseline_plans(
    world: TenantWorld, config: SimConfig, start: datetime, end: datetime, not_before: datetime
) -> list[EnvelopePlan]:
    """Everyday envelopes of ``world`` sent in [start, end) and not before ``not_before``.

    Generated per UTC hour from a stream of its own, so any window yields the same envelopes.
    """
    slug = world.tenant.slug
    per_weekday = world.tenant.users * config.envelopes_per_user_per_day
    plans: list[EnvelopePlan] = []
    hour = _floor_hour(start)
    while hour < end:
        rng = stream(config.seed, slug, "hour", hour.isoformat())
        for index, sent_at in enumerate(send_times(rng, world.zone, hour, per_weekday)):
            sender = world.pick_sender(rng)
            signer = world.pick_signer(rng, sender)
            if start <= sent_at < end and sent_at >= not_before:
                envelope_id = derive_id("env", config.seed, slug, hour.isoformat(), index)
                plans.append(plan_envelope(envelope_id, slug, sender, signer, sent_at))
        hour += HOUR
    return plans


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _sorted(events: Iterable[SimEvent]) -> list[SimEvent]:
    return sorted(events, key=lambda event: (event.occurred_at, event.id))
