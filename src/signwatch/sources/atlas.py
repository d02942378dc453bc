"""Atlas webhooks: the tolerant payload parser that turns one delivery into a normalized `Event`.

Accepted (docs/atlas.md): `{"id", "event", "created_at", "envelope_id", "data": {...}}`, with any field also
at the top level or inside `data`; `type`/`event_type` for `event`, `occurred_at`/`timestamp`/`time` for
`created_at`. Unknown event types are kept as `atlas.<name>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from signwatch.events import Actor, Event, Geo, event_id, normalize_type, parse_time, rfc3339

FAMILY = "atlas"
TYPE_KEYS = ("event", "type", "event_type", "eventType")
TIME_KEYS = ("created_at", "occurred_at", "timestamp", "time", "occurredAt", "createdAt")
ID_KEYS = ("id", "event_id", "eventId")
ENVELOPE_KEYS = ("envelope_id", "envelopeId")
SIGNER_TYPES = frozenset(
    {"envelope.delivered", "envelope.viewed", "envelope.signed", "envelope.declined", "recipient.signed"}
)
_KNOWN_DATA = frozenset(
    {
        "sender",
        "signer",
        "recipient",
        "ip_address",
        "ipAddress",
        "user_agent",
        "userAgent",
        "metadata",
        *TYPE_KEYS,
        *TIME_KEYS,
        *ID_KEYS,
        *ENVELOPE_KEYS,
    }
)
_SECRET = re.compile(r"(secret|password|passwd|token|api[_-]?key|authorization|credential)", re.I)
REDACTED = "[redacted]"


class PayloadError(ValueError):
    """The payload lacks what an event needs; `field` names it (answered 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _is_map(value: Any) -> bool:
    """A JSON object: a dict (what orjson gives) by one cheap check, any other Mapping by the general one."""
    return type(value) is dict or isinstance(value, Mapping)


# What parse_event looks up, each the first non-empty value of its keys in order, at the top level, then in `data`.
_LOOKUPS = (
    TYPE_KEYS,
    ENVELOPE_KEYS,
    TIME_KEYS,
    ("metadata",),
    ("sender",),
    ("signer",),
    ("recipient",),
    ("ip_address", "ipAddress", "ip"),
    ("user_agent", "userAgent"),
    ID_KEYS,
)
_SLOT = {key: (slot, rank) for slot, keys in enumerate(_LOOKUPS) for rank, key in enumerate(keys)}


def _lookup(maps: tuple[Mapping[str, Any], ...]) -> list[Any]:
    """Every lookup of `_LOOKUPS` in one pass over each map's items (not a `get` per key and map): the value
    of the first map that has any of its keys non-empty, of the earliest such key."""
    found: list[Any] = [None] * len(_LOOKUPS)
    for m in maps:
        best: dict[int, tuple[int, Any]] = {}
        for k, v in m.items():
            at = _SLOT.get(k)
            if at is None or v is None or v == "":
                continue
            slot, rank = at
            if found[slot] is None and (slot not in best or rank < best[slot][0]):
                best[slot] = (rank, v)
        for slot, (_, v) in best.items():
            found[slot] = v
    return found


def _person(value: Any) -> Actor | None:
    if _is_map(value):
        uid = value.get("user_id") or value.get("userId") or value.get("id")
        email = value.get("email")
        if uid or email:
            return Actor(str(uid) if uid else None, str(email).lower() if email else None)
    return None


def redact(value: Any) -> Any:
    """A copy of `value` with the values of secret-looking keys replaced."""
    if _is_map(value):
        return {k: (REDACTED if _SECRET.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def parse_event(
    payload: Any,
    *,
    tenant: str,
    received_at: datetime,
    geo: Callable[[str], Geo],
    source: str = "atlas",
    delivery_id: str | None = None,
) -> Event:
    """Normalize one Atlas payload. Raises PayloadError when it has no event type or envelope id."""
    if not _is_map(payload):
        raise PayloadError("body", "the body is not a JSON object")
    data = payload.get("data")
    data = data if _is_map(data) else {}
    raw_type, envelope, raw_time, metadata, sender, signer, recipient, ip, ua, src_id = _lookup(
        (payload, data) if data else (payload,)
    )
    if not isinstance(raw_type, str) or not raw_type.strip():
        raise PayloadError("event", "no event type (event/type)")
    etype = normalize_type(raw_type, FAMILY)
    if envelope is None and _is_map(data.get("envelope")):
        envelope = data["envelope"].get("id")
    not_scalar = type(envelope) is not str and isinstance(envelope, Mapping | list)
    if envelope is None or not_scalar or not str(envelope).strip():
        raise PayloadError("envelope_id", "no envelope id (envelope_id)")
    envelope = str(envelope)

    attributes: dict[str, Any] = {}
    try:
        occurred = parse_time(raw_time) if raw_time is not None else received_at
    except (ValueError, OverflowError, OSError) as exc:
        raise PayloadError("created_at", f"unreadable time {str(raw_time)[:40]!r}") from exc
    if raw_time is None:
        attributes["occurredAtFrom"] = "receipt"

    metadata = metadata if _is_map(metadata) else {}
    sender = _person(sender)
    signer = _person(signer) or _person(recipient)
    actor = (signer if etype in SIGNER_TYPES else None) or sender or signer or Actor()
    ip = str(ip).strip() if ip is not None else None

    if src_id is not None:
        attributes["sourceEventId"] = str(src_id)
    else:
        src_id = f"{envelope}\x1f{etype}\x1f{rfc3339(occurred)}"
    extra = {k: v for k, v in data.items() if k not in _KNOWN_DATA}
    extra.update({k: v for k, v in payload.items() if k not in _KNOWN_DATA and k != "data"})
    if extra:
        attributes.update(redact(extra))
    other_meta = {k: v for k, v in metadata.items() if k not in ("client_reference_id", "business_unit")}
    if other_meta:
        attributes["metadata"] = redact(other_meta)
    if sender is not None and actor is not sender:
        attributes["sender"] = {"id": sender.id, "email": sender.email}
    if raw_type != etype:
        attributes.setdefault("sourceType", raw_type)
    bu = metadata.get("business_unit") or metadata.get("businessUnit")
    ref = metadata.get("client_reference_id") or metadata.get("clientReferenceId")
    return Event(
        id=event_id(tenant, FAMILY, str(src_id)),
        tenant=tenant,
        source=source,
        type=etype,
        occurred_at=occurred,
        envelope_id=envelope,
        actor=actor,
        ip_address=ip or None,
        geo=geo(ip) if ip else Geo(),
        user_agent=str(ua) if ua else None,
        client_reference_id=str(ref) if ref else None,
        business_unit=str(bu) if bu else None,
        attributes=attributes,
        delivery_id=delivery_id,
    )
