"""Sources (design §2 sources/): DocuSign Connect — HMAC verification and the JSON SIM parser into `Event`.

Accepted (docs/docusign.md): Connect's JSON SIM message `{"event": "envelope-sent", "apiVersion", "uri",
"retryCount", "configurationId", "generatedDateTime", "data": {"accountId", "userId", "envelopeId",
"recipientId"?, "envelopeSummary"?: {...}}}`. Names are mapped by `CONNECT_TYPES`; other names are kept as
`docusign.<name>` (dots for dashes), never refused. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from signwatch.events import Actor, Event, Geo, event_id, parse_time, rfc3339
from signwatch.sources.atlas import REDACTED, PayloadError, redact

FAMILY = "docusign"
SOURCE = "docusign-connect"
MAX_SIGNATURES = 100  # DocuSign sends X-DocuSign-Signature-1 … -N, one per active Connect key, N <= 100
_SIGNATURE_HEADER = re.compile(r"x-docusign-signature-([1-9][0-9]{0,2})", re.IGNORECASE)

CONNECT_TYPES: dict[str, str] = {
    "envelope-created": "envelope.created",
    "envelope-sent": "envelope.sent",
    "envelope-delivered": "envelope.delivered",
    "envelope-completed": "envelope.completed",
    "envelope-declined": "envelope.declined",
    "envelope-voided": "envelope.voided",
    "envelope-deleted": "envelope.deleted",
    "envelope-purge": "envelope.deleted",
    "recipient-sent": "recipient.sent",
    "recipient-delivered": "recipient.delivered",
    "recipient-completed": "recipient.completed",
    "recipient-declined": "recipient.declined",
    "recipient-autoresponded": "recipient.autoresponded",
    # A recipient failed the access code / ID check: an authentication failure, so auth rules see it.
    "recipient-authenticationfailed": "auth.failed",
}
RECIPIENT_KINDS = (
    "signers",
    "carbonCopies",
    "certifiedDeliveries",
    "agents",
    "editors",
    "intermediaries",
    "inPersonSigners",
    "witnesses",
    "notaries",
    "seals",
)
_IP_KEYS = ("ipAddress", "recipientIPAddress", "recipientIpAddress", "clientIPAddress")
# Never kept in attributes: document bytes (large) and recipients' tabs (form values, often personal data).
_DROPPED = frozenset({"pdfbytes", "documentbase64", "tabs"})
_SECRET = frozenset({"accesscode"})  # besides atlas.redact's secret-looking names


def sign_connect(body: bytes, key: str) -> str:
    """The `X-DocuSign-Signature-N` value for `body` under `key`: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def verify_connect(body: bytes, headers: Mapping[str, str], keys: Sequence[str]) -> bool:
    """True when any `X-DocuSign-Signature-N` header (name in any case) is the HMAC of `body` under any key.

    Every (key, header) pair is compared in constant time and none is skipped, so the time taken does not
    tell which one matched.
    """
    given: list[bytes] = []
    for name, value in headers.items():
        match = _SIGNATURE_HEADER.fullmatch(name.strip())
        if match is None or int(match.group(1)) > MAX_SIGNATURES or not value:
            continue
        try:
            given.append(base64.b64decode(value.strip(), validate=True))
        except (binascii.Error, ValueError):
            continue
    ok = False
    for key in keys:
        expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
        for signature in given:
            ok |= hmac.compare_digest(expected, signature)
    return ok


def connect_type(name: str) -> str:
    """The event type of a Connect event name; unknown names are kept as `docusign.<name>`."""
    name = name.strip().lower()
    known = CONNECT_TYPES.get(name)
    if known is not None:
        return known
    return FAMILY + "." + (re.sub(r"[^a-z0-9]+", ".", name).strip(".") or "unknown")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _person(value: Any) -> Actor | None:
    m = _map(value)
    uid, email = _text(m.get("userId")), _text(m.get("email"))
    return Actor(uid, email.lower() if email else None) if uid or email else None


def find_recipient(summary: Mapping[str, Any], recipient_id: str) -> Mapping[str, Any] | None:
    """The recipient of `envelopeSummary.recipients` (any kind) with that `recipientId` or `recipientIdGuid`."""
    recipients = _map(summary.get("recipients"))
    for kind in RECIPIENT_KINDS:
        people = recipients.get(kind)
        for person in people if isinstance(people, list) else ():
            if isinstance(person, Mapping) and recipient_id in (
                _text(person.get("recipientId")),
                _text(person.get("recipientIdGuid")),
            ):
                return person
    return None


def custom_fields(summary: Mapping[str, Any]) -> dict[str, str]:
    """Envelope custom fields (text and list) by name folded to lower-case letters and digits."""
    fields = _map(summary.get("customFields"))
    out: dict[str, str] = {}
    for kind in ("textCustomFields", "listCustomFields"):
        items = fields.get(kind)
        for f in items if isinstance(items, list) else ():
            name, value = _text(_map(f).get("name")), _text(_map(f).get("value"))
            if name and value:
                out.setdefault(re.sub(r"[^a-z0-9]", "", name.lower()), value)
    return out


def _prune(value: Any) -> Any:
    """A copy without document bytes and tabs, and with access codes redacted."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in _SECRET else _prune(v)
            for k, v in value.items()
            if str(k).lower() not in _DROPPED
        }
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def parse_connect(
    payload: Any,
    *,
    tenant: str,
    received_at: datetime,
    geo: Callable[[str], Geo],
    delivery_id: str | None = None,
) -> Event:
    """Normalize one Connect JSON SIM message. Raises PayloadError when it has no event name or envelope id."""
    if not isinstance(payload, Mapping):
        raise PayloadError("body", "the body is not a JSON object")
    data = _map(payload.get("data"))
    summary = _map(data.get("envelopeSummary")) or _map(payload.get("envelopeSummary"))
    raw_type = payload.get("event")
    if not isinstance(raw_type, str) or not raw_type.strip():
        raise PayloadError("event", "no event name (event)")
    name = raw_type.strip().lower()
    etype = connect_type(name)
    envelope = _text(data.get("envelopeId")) or _text(summary.get("envelopeId")) or _text(payload.get("envelopeId"))
    if envelope is None:
        raise PayloadError("envelopeId", "no envelope id (data.envelopeId)")

    attributes: dict[str, Any] = {"sourceType": name}
    raw_time = _text(payload.get("generatedDateTime"))
    try:
        occurred = parse_time(raw_time) if raw_time is not None else received_at
    except (ValueError, OverflowError, OSError) as exc:
        raise PayloadError("generatedDateTime", f"unreadable time {str(raw_time)[:40]!r}") from exc
    if raw_time is None:
        attributes["occurredAtFrom"] = "receipt"

    recipient_id = _text(data.get("recipientId"))
    recipient = find_recipient(summary, recipient_id) if recipient_id else None
    sender = _person(summary.get("sender"))
    by_recipient = name.startswith("recipient-")
    if by_recipient:
        actor = _person(recipient) or Actor()
        at = _map(recipient)
    else:
        actor = sender or Actor(_text(data.get("userId")))
        at = _map(summary.get("sender"))
    ip = next((t for t in (_text(at.get(k)) for k in _IP_KEYS) if t), None)

    src_id = _text(payload.get("eventId")) or _text(data.get("eventId"))
    if src_id is not None:
        attributes["sourceEventId"] = src_id
    else:  # Connect has no event id: the message's own identity, identical on every retry of it
        src_id = "\x1f".join((envelope, name, raw_time or rfc3339(occurred), recipient_id or ""))
    extra = {k: v for k, v in payload.items() if k not in ("event", "eventId", "data", "envelopeSummary")}
    extra.update({k: v for k, v in data.items() if k not in ("envelopeId", "eventId", "envelopeSummary")})
    if summary:
        extra["envelopeSummary"] = _prune(summary)
    attributes.update(redact(extra))
    if by_recipient and sender is not None:
        attributes["sender"] = {"id": sender.id, "email": sender.email}
    fields = custom_fields(summary)
    return Event(
        id=event_id(tenant, FAMILY, src_id),
        tenant=tenant,
        source=SOURCE,
        type=etype,
        occurred_at=occurred,
        envelope_id=envelope,
        actor=actor,
        ip_address=ip,
        geo=geo(ip) if ip else Geo(),
        client_reference_id=fields.get("clientreferenceid"),
        business_unit=fields.get("businessunit"),
        attributes=attributes,
        delivery_id=delivery_id,
    )
