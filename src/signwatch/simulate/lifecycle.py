"""Simulator (design §2 simulate/): one envelope's life — planned events and the Atlas webhook bodies.

An envelope is sent, delivered to and viewed by its signer, then signed and completed (most), declined or
voided by its sender (a few per cent each), or left pending. A plan holds the whole future of an envelope;
the generator cuts it at the end of the history and live traffic releases the rest as time passes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from signwatch.simulate.streams import derive_id, stream
from signwatch.simulate.world import Person

SENT = "envelope.sent"
DELIVERED = "envelope.delivered"
VIEWED = "envelope.viewed"
SIGNED = "envelope.signed"
COMPLETED = "envelope.completed"
DECLINED = "envelope.declined"
VOIDED = "envelope.voided"
TERMINAL_EVENTS = frozenset({COMPLETED, DECLINED, VOIDED})
SENDER_ACTIONS = frozenset({SENT, VOIDED})
"""Events the envelope's sender performs (they carry the sender's address)."""
SIGNER_ACTIONS = frozenset({DELIVERED, VIEWED, SIGNED, DECLINED})
"""Events the signer performs (they carry ``data.signer`` and the signer's address). ``envelope.completed``
is neither: Atlas emits it itself, so it names the recipient but carries no address or browser."""

LIFECYCLE_HORIZON = timedelta(days=10)
"""No planned event falls later than this after its envelope was sent."""

OUTCOMES = ("completed", "declined", "voided", "pending")
_OUTCOME_WEIGHTS = (0.80, 0.04, 0.04, 0.12)

_SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "sales": (("Order Form - {company}", "CRM"), ("Master Services Agreement - {company}", "CRM"),
              ("Renewal Quote Q{quarter} - {company}", "CRM")),
    "procurement": (("Purchase Order PO-{number}", "PO"), ("Vendor Onboarding - {company}", "PO")),
    "hr": (("Offer Letter - {name}", "HR"), ("Employment Contract - {name}", "HR"),
           ("Remote Work Policy Acknowledgement", "HR")),
    "legal": (("Mutual NDA - {company}", "LGL"), ("Data Processing Agreement - {company}", "LGL")),
    "finance": (("Invoice Approval INV-{number}", "FIN"), ("Wire Transfer Authorization", "FIN")),
}  # fmt: skip
_VOID_REASONS = ("Sent to the wrong recipient", "Terms changed", "Duplicate envelope", "Deal cancelled")
_DECLINE_REASONS = ("Terms not acceptable", "Wrong contact", "Need legal review first")


@dataclass
class PlannedEvent:
    """One event of a plan: its type, time, and the acting person's address and browser (none for
    Atlas's own ``envelope.completed``)."""

    type: str
    at: datetime
    address: str | None
    user_agent: str | None


@dataclass
class EnvelopePlan:
    """An envelope and its whole planned lifecycle (incidents may edit ``events`` before rendering)."""

    envelope_id: str
    tenant: str
    sender: Person
    signer: Person
    subject: str
    business_unit: str
    client_reference_id: str
    events: list[PlannedEvent] = field(default_factory=list)

    @property
    def sent_at(self) -> datetime:
        return self.events[0].at

    def terminal_at(self) -> datetime | None:
        """When the envelope reaches a terminal state, if it ever does."""
        return next((event.at for event in self.events if event.type in TERMINAL_EVENTS), None)


@dataclass(frozen=True)
class SimEvent:
    """A simulated Atlas webhook delivery: its tenant, event time and JSON body."""

    tenant: str
    occurred_at: datetime
    payload: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.payload["id"])

    @property
    def type(self) -> str:
        return str(self.payload["event"])

    @property
    def envelope_id(self) -> str:
        return str(self.payload["envelope_id"])


@dataclass(frozen=True)
class EnvelopeState:
    """Where an envelope stands after the events seen so far."""

    envelope_id: str
    tenant: str
    status: str
    sent_at: datetime
    updated_at: datetime
    sender_email: str


def plan_envelope(
    envelope_id: str,
    tenant: str,
    sender: Person,
    signer: Person,
    sent_at: datetime,
    *,
    outcome: str | None = None,
    sender_address: str | None = None,
) -> EnvelopePlan:
    """Plan an envelope's lifecycle from ``sent_at``; the random outcome can be forced with ``outcome``."""
    rng = stream("lifecycle", envelope_id)
    unit = sender.business_unit or "sales"
    template, reference_prefix = rng.choice(_SUBJECTS.get(unit, _SUBJECTS["sales"]))
    company = signer.email.split("@")[1].split(".")[0].replace("-", " ").title()
    subject = template.format(
        company=company, name=signer.name, quarter=rng.randint(1, 4), number=rng.randint(10000, 99999)
    )
    plan = EnvelopePlan(
        envelope_id=envelope_id,
        tenant=tenant,
        sender=sender,
        signer=signer,
        subject=subject,
        business_unit=unit,
        client_reference_id=f"{reference_prefix}-{rng.randint(10000, 99999)}",
    )
    if outcome is None:
        outcome = rng.choices(OUTCOMES, weights=_OUTCOME_WEIGHTS)[0]
    sender_at = sender_address or sender.address(rng)
    signer_at = signer.address(rng)

    def add(kind: str, at: datetime) -> datetime:
        if kind in SENDER_ACTIONS:
            plan.events.append(PlannedEvent(kind, at, sender_at, sender.user_agent))
        elif kind in SIGNER_ACTIONS:
            plan.events.append(PlannedEvent(kind, at, signer_at, signer.user_agent))
        else:
            plan.events.append(PlannedEvent(kind, at, None, None))
        return at

    at = add(SENT, sent_at)
    at = add(DELIVERED, at + _delay(rng, median=90, sigma=0.8, low=5, high=1800))
    if outcome == "pending" and rng.random() < 0.4:
        return plan
    viewed = at + _delay(rng, median=2.5 * 3600, sigma=1.3, low=60, high=5 * 86400)
    if outcome == "voided":
        void_at = sent_at + _delay(rng, median=86400, sigma=1.0, low=600, high=9 * 86400)
        if viewed < void_at:
            add(VIEWED, viewed)
        add(VOIDED, max(void_at, plan.events[-1].at + timedelta(seconds=1)))
        return plan
    at = add(VIEWED, viewed)
    if outcome == "completed":
        at = add(SIGNED, at + _delay(rng, median=480, sigma=1.2, low=20, high=2 * 86400))
        add(COMPLETED, at + timedelta(seconds=rng.randint(1, 30)))
    elif outcome == "declined":
        add(DECLINED, at + _delay(rng, median=1800, sigma=1.2, low=30, high=2 * 86400))
    return plan


def actor_of(plan: EnvelopePlan, event: PlannedEvent) -> Person | None:
    """Who performs ``event``: the sender, the signer, or nobody (Atlas itself)."""
    if event.type in SENDER_ACTIONS:
        return plan.sender
    return plan.signer if event.type in SIGNER_ACTIONS else None


def void_plan(plan: EnvelopePlan, at: datetime, address: str | None = None) -> None:
    """Void ``plan`` at ``at`` (by its sender; at least a second after sending): later events are dropped."""
    at = max(at, plan.sent_at + timedelta(seconds=1))
    kept = [event for event in plan.events if event.at < at]
    rng = stream("void", plan.envelope_id)
    address = address or plan.sender.address(rng)
    kept.append(PlannedEvent(VOIDED, at, address, plan.sender.user_agent))
    plan.events = kept


def render(plan: EnvelopePlan) -> list[SimEvent]:
    """The Atlas webhook deliveries of a plan, one per planned event."""
    rng = stream("render", plan.envelope_id)
    sender = {"user_id": plan.sender.user_id, "email": plan.sender.email}
    metadata = {"client_reference_id": plan.client_reference_id, "business_unit": plan.business_unit}
    events: list[SimEvent] = []
    for event in plan.events:
        data: dict[str, Any] = {"sender": dict(sender)}
        if event.type not in SENDER_ACTIONS:
            data["recipient"] = {"email": plan.signer.email, "name": plan.signer.name}
        if event.type in SIGNER_ACTIONS:
            signer: dict[str, str] = {"email": plan.signer.email}
            if plan.signer.user_id:
                signer = {"user_id": plan.signer.user_id, **signer}
            data["signer"] = signer
        if event.address is not None:
            data["ip_address"] = event.address
        if event.user_agent is not None:
            data["user_agent"] = event.user_agent
        data["subject"] = plan.subject
        data["metadata"] = dict(metadata)
        if event.type == VOIDED:
            data["void_reason"] = rng.choice(_VOID_REASONS)
        elif event.type == DECLINED:
            data["decline_reason"] = rng.choice(_DECLINE_REASONS)
        payload = {
            "id": derive_id("evt", plan.envelope_id, event.type),
            "event": event.type,
            "created_at": rfc3339(event.at),
            "envelope_id": plan.envelope_id,
            "data": data,
        }
        events.append(SimEvent(tenant=plan.tenant, occurred_at=event.at, payload=payload))
    return events


def fold_states(events: Iterable[SimEvent]) -> dict[str, EnvelopeState]:
    """Each envelope's state after ``events`` (in occurred order), keyed by envelope id."""
    first: dict[str, SimEvent] = {}
    last: dict[str, SimEvent] = {}
    for event in events:
        first.setdefault(event.envelope_id, event)
        last[event.envelope_id] = event
    return {
        envelope_id: EnvelopeState(
            envelope_id=envelope_id,
            tenant=event.tenant,
            status=status_of(event.type),
            sent_at=first[envelope_id].occurred_at,
            updated_at=event.occurred_at,
            sender_email=str(event.payload["data"]["sender"]["email"]),
        )
        for envelope_id, event in last.items()
    }


def status_of(event_type: str) -> str:
    """The envelope status an event leaves behind: ``envelope.signed`` → ``signed``."""
    return event_type.removeprefix("envelope.")


def rfc3339(moment: datetime) -> str:
    """UTC RFC 3339 with ``Z`` and whole seconds, as on the Atlas wire."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _delay(rng: random.Random, *, median: float, sigma: float, low: float, high: float) -> timedelta:
    seconds = rng.lognormvariate(0.0, sigma) * median
    return timedelta(seconds=round(min(max(seconds, low), high)))
