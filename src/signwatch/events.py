"""The normalized event of every source (DESIGN.md §3), its type vocabulary and the envelope state machine."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ENVELOPE_TYPES = (
    "envelope.created",
    "envelope.sent",
    "envelope.delivered",
    "envelope.viewed",
    "envelope.signed",
    "envelope.completed",
    "envelope.declined",
    "envelope.voided",
    "envelope.expired",
    "envelope.deleted",
)
KNOWN_PREFIXES = ("envelope.", "recipient.", "user.", "auth.", "alert.")
SOURCES = ("atlas", "poll", "docusign-connect", "docusign-monitor")

# Envelope status a lifecycle event moves to; events not listed leave the status as it is.
STATUS_OF_TYPE = {t: t.removeprefix("envelope.") for t in ENVELOPE_TYPES}
TERMINAL_STATUSES = frozenset({"signed", "completed", "declined", "voided", "expired", "deleted"})
# Forward order of non-terminal statuses: an event that arrives late never moves an envelope backwards.
_RANK = {"created": 0, "sent": 1, "delivered": 2, "viewed": 3}
# Lifecycle events whose actor is the envelope's sender.
_SENDER_TYPES = frozenset({"envelope.sent", "envelope.created", "envelope.voided"})
# Transitions that happen once per envelope: the poller's observation of one is the same event as the hook's.
ONCE_PER_ENVELOPE = frozenset(
    {
        "envelope.created",
        "envelope.sent",
        "envelope.completed",
        "envelope.declined",
        "envelope.voided",
        "envelope.expired",
        "envelope.deleted",
        "envelope.signed",
    }
)


@dataclass(frozen=True, slots=True)
class Actor:
    id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Geo:
    country: str | None = None
    asn: str | None = None
    network: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One normalized event. `seq` and `ingested_at` are set by the store when it is appended."""

    id: str
    tenant: str
    source: str
    type: str
    occurred_at: datetime
    envelope_id: str
    actor: Actor = field(default_factory=Actor)
    ip_address: str | None = None
    geo: Geo = field(default_factory=Geo)
    user_agent: str | None = None
    client_reference_id: str | None = None
    business_unit: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    delivery_id: str | None = None
    seq: int | None = None
    ingested_at: datetime | None = None

    def to_wire(self) -> dict[str, Any]:
        """The event as the API shows it: camelCase, RFC 3339 UTC times with Z."""
        return {
            "id": self.id,
            "seq": self.seq,
            "tenant": self.tenant,
            "source": self.source,
            "type": self.type,
            "occurredAt": rfc3339(self.occurred_at),
            "ingestedAt": rfc3339(self.ingested_at) if self.ingested_at else None,
            "envelopeId": self.envelope_id,
            "actor": {"id": self.actor.id, "email": self.actor.email},
            "ipAddress": self.ip_address,
            "geo": {
                "country": self.geo.country,
                "asn": self.geo.asn,
                "network": self.geo.network,
                "city": self.geo.city,
            },
            "userAgent": self.user_agent,
            "clientReferenceId": self.client_reference_id,
            "businessUnit": self.business_unit,
            "attributes": self.attributes,
            "deliveryId": self.delivery_id,
        }


def event_id(tenant: str, family: str, source_event_id: str) -> str:
    """Stable event id from tenant, source family and the source's own event id (DESIGN.md §3)."""
    digest = hashlib.sha256(f"{tenant}\x1f{family}\x1f{source_event_id}".encode()).hexdigest()
    return f"ev_{digest[:32]}"


def transition_id(tenant: str, family: str, envelope_id: str, event_type: str) -> str:
    """Id of a once-per-envelope transition seen without a source event id (the poller's view of it)."""
    return event_id(tenant, family, f"transition\x1f{envelope_id}\x1f{event_type}")


def normalize_type(raw: str, family: str) -> str:
    """Map a source type name onto the vocabulary; unknown names are kept as `<family>.<name>`."""
    name = raw.strip().lower().replace("_", ".").replace("-", ".")
    if name.startswith(KNOWN_PREFIXES) and not name.startswith("alert."):  # alert.* is signwatch's own
        return name
    if f"envelope.{name}" in STATUS_OF_TYPE:
        return f"envelope.{name}"
    return f"{family}.{name}"


@dataclass(frozen=True, slots=True)
class EnvelopeState:
    """What the store keeps per envelope for SLA rules: status and the times it reached milestones."""

    tenant: str
    envelope_id: str
    status: str
    sent_at: datetime | None = None
    completed_at: datetime | None = None
    last_event_at: datetime | None = None
    sender_id: str | None = None
    sender_email: str | None = None
    business_unit: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


def advance(state: EnvelopeState | None, event: Event) -> EnvelopeState | None:
    """The envelope state after `event`, or None when the event is not about an envelope's lifecycle.

    Order-tolerant: a late event fills in milestones but never moves a terminal envelope back, and a
    non-terminal status only moves forward.
    """
    new_status = STATUS_OF_TYPE.get(event.type)
    if state is None:
        if new_status is None:
            return None
        # The general case below, from an empty state at `new_status`, in one construction (bulk writes).
        at = event.occurred_at
        sender_is_actor = event.type in _SENDER_TYPES
        return EnvelopeState(
            event.tenant,
            event.envelope_id,
            new_status,
            at if event.type == "envelope.sent" else None,
            at if new_status in TERMINAL_STATUSES else None,
            at,
            event.actor.id if sender_is_actor else None,
            event.actor.email if sender_is_actor else None,
            event.business_unit,
        )
    status = state.status
    moves_forward = new_status in TERMINAL_STATUSES or _RANK.get(new_status or "", -1) >= _RANK.get(status, 0)
    if new_status is not None and status not in TERMINAL_STATUSES and moves_forward:
        status = new_status
    at = event.occurred_at
    sent_at = state.sent_at
    if event.type == "envelope.sent" and (sent_at is None or at < sent_at):
        sent_at = at
    completed_at = state.completed_at
    if new_status in TERMINAL_STATUSES and status == new_status and completed_at is None:
        completed_at = at
    last = state.last_event_at if state.last_event_at and state.last_event_at > at else at
    sender_is_actor = event.type in _SENDER_TYPES
    return EnvelopeState(
        tenant=state.tenant,
        envelope_id=state.envelope_id,
        status=status,
        sent_at=sent_at,
        completed_at=completed_at,
        last_event_at=last,
        sender_id=state.sender_id or (event.actor.id if sender_is_actor else None),
        sender_email=state.sender_email or (event.actor.email if sender_is_actor else None),
        business_unit=state.business_unit or event.business_unit,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(at: datetime) -> str:
    """UTC RFC 3339 with Z and millisecond precision at most as given (microseconds trimmed when zero)."""
    at = at.astimezone(UTC)
    text = at.replace(tzinfo=None).isoformat()  # YYYY-MM-DDTHH:MM:SS[.ffffff]: cheaper than strftime
    if at.microsecond:
        return text.rstrip("0") + "Z"
    return text + "Z"


def parse_time(value: Any) -> datetime:
    """Parse an RFC 3339 / ISO 8601 time or epoch seconds/milliseconds into an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a time")
    text = value.strip()
    if text.isdigit():
        return parse_time(int(text))
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(at: datetime) -> int:
    """Microseconds since the epoch: how the store keeps times (sortable and identical on both backends)."""
    return (at - _EPOCH) // _US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
