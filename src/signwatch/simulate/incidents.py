"""Simulator (design §2 simulate/): labelled incidents injected into the traffic, for the rules to catch.

Five kinds, each matching a rule kind of design §7: ``off_hours_burst`` (threshold), ``void_spike``
(ratio), ``new_network``, ``stuck_envelopes`` (stuck) and ``silent_feed`` (flatline). Each kind lands on
one tenant (rotating over tenants) on its own local day within the run, and yields a label saying what
happened, to whom and when — the answer key for detection tests, backtests and the demo.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from signwatch.simulate.lifecycle import (
    VOIDED,
    EnvelopePlan,
    actor_of,
    plan_envelope,
    rfc3339,
    void_plan,
)
from signwatch.simulate.networks import unusual_address
from signwatch.simulate.streams import derive_id, stream
from signwatch.simulate.world import DESKTOP_AGENTS, Person, TenantWorld

INCIDENT_KINDS = ("off_hours_burst", "void_spike", "new_network", "stuck_envelopes", "silent_feed")


@dataclass(frozen=True)
class Incident:
    """What an injected incident did: the label a detector is scored against."""

    kind: str
    tenant: str
    start: datetime
    end: datetime
    description: str
    actor: str | None = None
    envelope_ids: tuple[str, ...] = ()
    ip_address: str | None = None

    def to_label(self) -> dict[str, Any]:
        """The label record: ``{"kind", "tenant", "start", "end", "actor"?, "envelopeIds"?, ...}``."""
        label: dict[str, Any] = {
            "kind": self.kind,
            "tenant": self.tenant,
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
        }
        if self.actor is not None:
            label["actor"] = self.actor
        if self.envelope_ids:
            label["envelopeIds"] = list(self.envelope_ids)
        if self.ip_address is not None:
            label["ipAddress"] = self.ip_address
        label["description"] = self.description
        return label


@dataclass
class Scene:
    """Where an incident happens: the tenant's world and plans (edited in place), and the run's window."""

    seed: int
    world: TenantWorld
    plans: list[EnvelopePlan]
    run_start: datetime
    run_end: datetime
    rng: random.Random
    protected: set[str] = field(default_factory=set)
    """Envelopes another incident's label names: later incidents leave them alone."""

    def new_plan(self, kind: str, index: int, **kwargs: Any) -> EnvelopePlan:
        """A new envelope made by incident ``kind`` (its id derived from the kind and ``index``)."""
        envelope_id = derive_id("env", self.seed, self.world.tenant.slug, kind, index)
        plan = plan_envelope(envelope_id, self.world.tenant.slug, **kwargs)
        self.plans.append(plan)
        self.protected.add(envelope_id)
        return plan


@dataclass(frozen=True)
class _Placement:
    """When a kind may happen: local start hours, whether only on weekdays, how long, what must follow."""

    hours: tuple[float, float]
    weekdays_only: bool
    duration: timedelta
    tail: timedelta


_PLACEMENTS: dict[str, _Placement] = {
    "off_hours_burst": _Placement((1.0, 3.5), False, timedelta(hours=1), timedelta(hours=1)),
    "void_spike": _Placement((10.0, 14.0), True, timedelta(hours=2), timedelta(hours=1)),
    "new_network": _Placement((9.0, 13.0), True, timedelta(hours=4), timedelta(hours=1)),
    "stuck_envelopes": _Placement((9.0, 14.0), True, timedelta(minutes=30), timedelta(days=2)),
    "silent_feed": _Placement((9.0, 11.0), True, timedelta(hours=6), timedelta(hours=1)),
}


def schedule(
    seed: int, worlds: Sequence[TenantWorld], start: datetime, end: datetime
) -> list[tuple[str, int, datetime]]:
    """(kind, tenant index, start time) for each incident that fits the run, in application order.

    Kinds rotate over tenants; a tenant's incidents fall on different local days, in the later part of the
    run when it is long enough (so detectors have a baseline), else anywhere that fits.
    """
    rng = stream(seed, "incidents", "schedule")
    offset = rng.randrange(len(worlds))
    used_days: dict[int, set[date]] = {}
    timetable: list[tuple[str, int, datetime]] = []
    for number, kind in enumerate(INCIDENT_KINDS):
        index = (number + offset) % len(worlds)
        taken = used_days.setdefault(index, set())
        for strict, distinct in ((True, True), (False, True), (False, False)):
            candidates = _candidates(_PLACEMENTS[kind], worlds[index].zone, start, end, strict, rng)
            candidates = [(day, moment) for day, moment in candidates if not (distinct and day in taken)]
            if candidates:
                day, moment = rng.choice(candidates)
                taken.add(day)
                timetable.append((kind, index, moment.replace(second=rng.randrange(60))))
                break
    timetable.sort(key=lambda item: item[0] == "silent_feed")  # silence last: it shifts what others placed
    return timetable


def _candidates(
    placement: _Placement, zone: ZoneInfo, start: datetime, end: datetime, strict: bool, rng: random.Random
) -> list[tuple[date, datetime]]:
    """(local day, UTC start) pairs where ``placement`` fits in the run. Strict: in the last 60 % of the
    run, on a weekday if the kind needs one, with its tail still inside the run."""
    earliest = start + (end - start) * 0.4 if strict else start
    latest = end - placement.duration - (placement.tail if strict else timedelta(0))
    found: list[tuple[date, datetime]] = []
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    while datetime.combine(day, time(0), zone) <= latest:
        hour = rng.uniform(*placement.hours)
        moment = datetime.combine(day, time(int(hour), int(hour % 1 * 60)), zone).astimezone(UTC)
        weekday_ok = day.weekday() < 5 or not (strict and placement.weekdays_only)
        if earliest <= moment <= latest and weekday_ok:
            found.append((day, moment))
        day += timedelta(days=1)
    return found


def off_hours_burst(scene: Scene, at: datetime) -> Incident:
    """One user sends 60-90 envelopes within the hour, at night on the tenant's clock."""
    rng = scene.rng
    sender = scene.world.pick_sender(rng)
    count = rng.randint(60, 90)
    times = sorted(at + timedelta(seconds=rng.randrange(50 * 60)) for _ in range(count))
    plans = [
        scene.new_plan("off_hours_burst", i, sender=sender, signer=scene.world.pick_signer(rng, sender), sent_at=moment)
        for i, moment in enumerate(times)
    ]
    return _sender_batch(
        "off_hours_burst",
        scene,
        sender,
        plans,
        f"{sender.email} sent {count} envelopes within an hour at "
        f"{times[0].astimezone(scene.world.zone):%H:%M} local time",
    )


def void_spike(scene: Scene, at: datetime) -> Incident:
    """The tenant voids 30-50 open envelopes within one to two hours (each voided by its sender)."""
    rng = scene.rng
    length = timedelta(minutes=rng.randint(60, 110))
    target = rng.randint(30, 50)
    open_plans = [
        plan
        for plan in scene.plans
        if plan.envelope_id not in scene.protected
        and at - timedelta(days=9) <= plan.sent_at < at
        and ((done := plan.terminal_at()) is None or done > at + length)
    ]
    chosen = rng.sample(open_plans, min(target, len(open_plans)))
    for i in range(target - len(chosen)):
        sender = scene.world.pick_sender(rng)
        sent_at = max(scene.run_start, at - timedelta(minutes=rng.randint(30, 180)))
        chosen.append(
            scene.new_plan(
                "void_spike",
                i,
                sender=sender,
                signer=scene.world.pick_signer(rng, sender),
                sent_at=sent_at,
                outcome="pending",
            )
        )
    scene.protected.update(plan.envelope_id for plan in chosen)
    times = sorted(at + timedelta(seconds=rng.randrange(int(length.total_seconds()))) for _ in chosen)
    for plan, moment in zip(chosen, times, strict=True):
        void_plan(plan, moment)
    voids = [event.at for plan in chosen for event in plan.events if event.type == VOIDED]
    return Incident(
        kind="void_spike",
        tenant=scene.world.tenant.slug,
        start=min(voids),
        end=max(voids),
        envelope_ids=tuple(sorted(plan.envelope_id for plan in chosen)),
        description=f"{len(chosen)} envelopes voided within {round(length.total_seconds() / 60)} minutes",
    )


def new_network(scene: Scene, at: datetime) -> Incident:
    """A user suddenly acts from an address in a country and network the tenant never used."""
    rng = scene.rng
    user = rng.choice(scene.world.busiest(5))
    country, address = unusual_address(rng)
    agent = rng.choice([agent for agent in DESKTOP_AGENTS if agent != user.user_agent])
    until = at + timedelta(minutes=rng.randint(120, 240))
    for i in range(rng.randint(3, 6)):
        moment = at + (until - at) * (i / 6) + timedelta(seconds=rng.randrange(600))
        scene.new_plan(
            "new_network",
            i,
            sender=user,
            signer=scene.world.pick_signer(rng, user),
            sent_at=moment,
            sender_address=address,
            outcome=rng.choice(("completed", "pending")),
        )
    touched: list[str] = []
    moments: list[datetime] = []
    for plan in scene.plans:
        for event in plan.events:
            acting = actor_of(plan, event)
            if acting is not None and acting.user_id == user.user_id and at <= event.at <= until:
                event.address, event.user_agent = address, agent
                touched.append(plan.envelope_id)
                moments.append(event.at)
    return Incident(
        kind="new_network",
        tenant=scene.world.tenant.slug,
        start=min(moments),
        end=max(moments),
        actor=user.email,
        envelope_ids=tuple(sorted(set(touched))),
        ip_address=address,
        description=f"{user.email} (usually {user.country}) acts from {address} in {country}",
    )


def stuck_envelopes(scene: Scene, at: datetime) -> Incident:
    """A batch of 15-30 envelopes sent together that are delivered, perhaps viewed, and never complete."""
    rng = scene.rng
    sender = scene.world.pick_sender(rng)
    count = rng.randint(15, 30)
    times = sorted(at + timedelta(seconds=rng.randrange(20 * 60)) for _ in range(count))
    plans = [
        scene.new_plan(
            "stuck_envelopes",
            i,
            sender=sender,
            signer=scene.world.pick_signer(rng, sender),
            sent_at=moment,
            outcome="pending",
        )
        for i, moment in enumerate(times)
    ]
    return _sender_batch(
        "stuck_envelopes", scene, sender, plans, f"{count} envelopes sent by {sender.email} are never signed"
    )


def silent_feed(scene: Scene, at: datetime) -> Incident:
    """The tenant's feed goes quiet for 4-6 business hours: nothing is sent, later steps wait it out."""
    rng = scene.rng
    until = at + timedelta(minutes=rng.randint(240, 360))
    scene.plans[:] = [
        plan for plan in scene.plans if plan.envelope_id in scene.protected or not at <= plan.sent_at < until
    ]
    for plan in scene.plans:
        _postpone(plan, at, until, rng)
    hours = (until - at).total_seconds() / 3600
    return Incident(
        kind="silent_feed",
        tenant=scene.world.tenant.slug,
        start=at,
        end=until,
        description=f"no traffic from {scene.world.tenant.slug} for {hours:.1f} business hours",
    )


def _sender_batch(kind: str, scene: Scene, sender: Person, plans: list[EnvelopePlan], description: str) -> Incident:
    """The label of a batch of envelopes one sender sent: from the first send to the last."""
    sent = [plan.sent_at for plan in plans]
    return Incident(
        kind=kind,
        tenant=scene.world.tenant.slug,
        start=min(sent),
        end=max(sent),
        actor=sender.email,
        envelope_ids=tuple(plan.envelope_id for plan in plans),
        description=description,
    )


def _postpone(plan: EnvelopePlan, start: datetime, end: datetime, rng: random.Random) -> None:
    """Move events inside [start, end) to just after ``end``; later events move only to stay in order."""
    previous: datetime | None = None
    for event in plan.events:
        if start <= event.at < end:
            event.at = end + timedelta(seconds=rng.randint(1, 1800))
        if previous is not None and event.at <= previous:
            event.at = previous + timedelta(seconds=rng.randint(1, 120))
        previous = event.at


INJECTORS: dict[str, Callable[[Scene, datetime], Incident]] = {
    "off_hours_burst": off_hours_burst,
    "void_spike": void_spike,
    "new_network": new_network,
    "stuck_envelopes": stuck_envelopes,
    "silent_feed": silent_feed,
}
