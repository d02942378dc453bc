"""Sources (design §2 sources/): DocuSign Monitor stream rows — parsed into `Event`, and events written back as rows.

A row is one item of `data` in `GET /api/v2.0/datasets/monitor/stream` (`{"data": [...], "endCursor": "…"}`).
`parse_monitor_row` reads one; `monitor_row` is its inverse, used by signwatch's Monitor-compatible stream, so
a consumer of DocuSign's stream (a SIEM app) can read signwatch's. Mapping tables: docs/docusign.md. Pure.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from signwatch.events import ENVELOPE_TYPES, Actor, Event, Geo, event_id, parse_time, rfc3339
from signwatch.sources.atlas import PayloadError, redact

FAMILY = "docusign"
SOURCE = "docusign-monitor"
DEFAULT_SITE = "SIGNWATCH"
_ENVELOPE_ACTIONS = frozenset(t.removeprefix("envelope.") for t in ENVELOPE_TYPES)
_FAILED = frozenset({"failed", "failure", "fail", "denied", "error"})
# (object, action) folded to lower-case letters and digits → type; see monitor_type for the general rules.
MONITOR_TYPES: dict[tuple[str, str], str] = {
    ("envelope", "purged"): "envelope.deleted",
    ("user", "login"): "auth.login",  # auth.failed when `result` says it failed
    ("user", "loginfailed"): "auth.failed",
    ("user", "logout"): "auth.logout",
    ("recipient", "authenticationfailed"): "auth.failed",
    ("alert", "fired"): "alert.fired",
    ("alert", "resolved"): "alert.resolved",
}
_PASCAL = {"autoresponded": "AutoResponded", "authenticationfailed": "AuthenticationFailed"}
# Row columns that become Event fields; every other column is kept in attributes under its own name.
_CONSUMED = frozenset(
    {
        "eventId",
        "timestamp",
        "userId",
        "userAgent",
        "ipAddress",
        "data",
        "latitude",
        "longitude",
        "city",
        "state",
        "country",
    }
)
_LOCATION = ("latitude", "longitude", "country", "state", "city")
# Columns of DocuSign's rows that signwatch has no value for, written as DocuSign writes an empty one.
_EMPTY_COLUMNS = ("integratorKey", "property", "field", "referencedUserId", "proxyStatus", "proxyType", "proxyLevel")


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip() or None


def _pascal(words: str) -> str:
    return _PASCAL.get(words) or "".join(w[:1].upper() + w[1:] for w in re.split(r"[._\-\s]+", words) if w)


def monitor_type(obj: str, action: str, result: str = "") -> str:
    """The event type of a Monitor (object, action[, result]); unknown pairs are `docusign.<object>.<action>`."""
    o, a = _fold(obj), _fold(action)
    if (o, a) == ("user", "login") and _fold(result) in _FAILED:
        return "auth.failed"
    known = MONITOR_TYPES.get((o, a))
    if known is not None:
        return known
    if o == "envelope" and a in _ENVELOPE_ACTIONS:
        return f"envelope.{a}"
    if o in ("recipient", "user", "auth") and a:
        return f"{o}.{a}"
    if o == "alert":  # DocuSign's own alerts name the alert in `action`
        return "alert.fired"
    return f"{FAMILY}.{o or 'unknown'}.{a or 'unknown'}"


def monitor_action(event: Event) -> tuple[str, str, str]:
    """(object, action, result) of an event's row: the row's own for Monitor events, else from its type."""
    a = event.attributes
    if event.source == SOURCE and isinstance(a.get("object"), str) and isinstance(a.get("action"), str):
        return a["object"], a["action"], str(a.get("result") or "")
    t = event.type
    if t == "auth.login":
        return "User", "Login", "Success"
    if t == "auth.failed":
        if a.get("sourceType") == "recipient-authenticationfailed":
            return "Recipient", "AuthenticationFailed", "Failed"
        return "User", "Login", "Failed"
    if t == "auth.logout":
        return "User", "Logout", ""
    prefix, _, rest = t.partition(".")
    if prefix in ("envelope", "recipient", "user", "auth", "alert"):
        return prefix.title(), _pascal(rest), ""
    obj, _, action = rest.partition(".")  # <family>.<object>.<action…> (kept unknown types)
    return (_pascal(obj), _pascal(action), "") if action else (_pascal(prefix), _pascal(obj), "")


def monitor_event_id(signwatch_id: str) -> str:
    """The GUID a signwatch event id is written as in `eventId` (`ev_` + 32 hex digits ↔ the same digits)."""
    digits = signwatch_id.removeprefix("ev_")
    if re.fullmatch(r"[0-9a-f]{32}", digits):
        return str(uuid.UUID(hex=digits))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"signwatch:{signwatch_id}"))


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # some readers of the stream see `data` as a JSON string
        try:
            value = json.loads(value)
        except ValueError:
            return {"raw": value}
    return dict(value) if isinstance(value, Mapping) else {}


def _location(row: Mapping[str, Any]) -> dict[str, Any]:
    nested = row.get("ipAddressLocation")
    source = nested if isinstance(nested, Mapping) else row
    return {k: source.get(k) for k in _LOCATION}


def parse_monitor_row(
    row: Mapping[str, Any],
    *,
    tenant: str,
    received_at: datetime,
    geo: Callable[[str], Geo] | None = None,
    delivery_id: str | None = None,
) -> Event:
    """Normalize one Monitor stream row. Raises PayloadError when it has no eventId or object/action.

    `geo`, when given, enriches the IP like the other sources (country, ASN, network); the row's own place
    fills what it leaves empty and stays in `attributes.ipAddressLocation`.
    """
    if not isinstance(row, Mapping):
        raise PayloadError("row", "the row is not a JSON object")
    source_id = _text(row.get("eventId"))
    if source_id is None:
        raise PayloadError("eventId", "no event id (eventId)")
    obj, action, result = (_text(row.get(k)) or "" for k in ("object", "action", "result"))
    if not obj and not action:
        raise PayloadError("object", "no object or action")
    etype = monitor_type(obj, action, result)
    attributes: dict[str, Any] = {"sourceEventId": source_id}
    raw_time = _text(row.get("timestamp"))
    try:
        occurred = parse_time(raw_time) if raw_time is not None else received_at
    except (ValueError, OverflowError, OSError) as exc:
        raise PayloadError("timestamp", f"unreadable time {str(raw_time)[:40]!r}") from exc
    if raw_time is None:
        attributes["occurredAtFrom"] = "receipt"

    data = _data(row.get("data"))
    envelope = next((t for t in (_text(data.get(k)) for k in ("EnvelopeId", "envelopeId", "EnvelopeID")) if t), "")
    email = next((t for t in (_text(data.get(k)) for k in ("UserEmail", "Email", "email")) if t), None)
    ip = _text(row.get("ipAddress"))
    place = _location(row)
    found = geo(ip) if geo is not None and ip else Geo()
    attributes.update(redact({k: v for k, v in row.items() if k not in _CONSUMED}))
    attributes["ipAddressLocation"] = place
    attributes["data"] = redact(data)
    if etype.startswith("alert."):
        ids = data.get("EventIds")
        attributes["eventIds"] = [event_id(tenant, FAMILY, str(i)) for i in ids] if isinstance(ids, list) else []
        if data.get("Severity") is not None:
            attributes["severity"] = data["Severity"]
        if etype == "alert.fired" and _fold(action) != "fired":
            attributes["alertName"] = action
    ua = _text(row.get("userAgent"))
    return Event(
        id=event_id(tenant, FAMILY, source_id),
        tenant=tenant,
        source=SOURCE,
        type=etype,
        occurred_at=occurred,
        envelope_id=envelope,
        actor=Actor(_text(row.get("userId")), email.lower() if email else None),
        ip_address=ip,
        geo=Geo(
            country=found.country or _text(place["country"]),
            asn=found.asn,
            network=found.network,
            city=found.city or _text(place["city"]),
        ),
        user_agent=ua,
        client_reference_id=_text(data.get("ClientReferenceId")),
        business_unit=_text(data.get("BusinessUnit")),
        attributes=attributes,
        delivery_id=delivery_id,
    )


def _alert_data(a: Mapping[str, Any]) -> dict[str, Any]:
    ids = [monitor_event_id(str(i)) for i in a.get("eventIds") or ()]
    data: dict[str, Any] = {"Severity": a.get("severity"), "EventIds": ids, "Count": str(len(ids))}
    for key in ("alertId", "ruleId", "ruleName", "groupKey", "mode"):
        if a.get(key) is not None:
            data[key[0].upper() + key[1:]] = a[key]
    return data


def monitor_row(event: Event, *, organization_id: str, site: str = DEFAULT_SITE) -> dict[str, Any]:
    """The event as a DocuSign Monitor stream row (same columns, empty strings where DocuSign writes them)."""
    a = event.attributes
    native = event.source == SOURCE
    obj, action, result = monitor_action(event)
    if native:
        place = dict(a["ipAddressLocation"]) if isinstance(a.get("ipAddressLocation"), Mapping) else {}
        data = dict(a["data"]) if isinstance(a.get("data"), Mapping) else {}
    else:
        place = {"latitude": None, "longitude": None, "country": "", "state": "", "city": ""}
        data = _alert_data(a) if obj == "Alert" else {}
    place = {k: place.get(k) for k in _LOCATION}
    place["country"] = place["country"] or event.geo.country or ""
    place["city"] = place["city"] or event.geo.city or ""
    for key, value in (
        ("EnvelopeId", event.envelope_id),
        ("UserEmail", event.actor.email),
        ("ClientReferenceId", event.client_reference_id),
        ("BusinessUnit", event.business_unit),
    ):
        if value:
            data.setdefault(key, value)
    row: dict[str, Any] = {
        "timestamp": rfc3339(event.occurred_at),
        "eventId": str(a.get("sourceEventId")) if native and a.get("sourceEventId") else monitor_event_id(event.id),
        "site": str(a.get("site") or site) if native else site,
        "accountId": event.tenant,
        "organizationId": organization_id,
        "userId": event.actor.id or "",
        "integratorKey": "",
        "userAgent": event.user_agent or "",
        "userAgentClientInfo": a.get("userAgentClientInfo") if native else None,
        "ipAddress": event.ip_address or "",
        "ipAddressLocation": place,
        "object": obj,
        "action": action,
        "property": "",
        "field": "",
        "result": result,
        "source": str(a.get("source") or "") if native else event.source,
        "referencedUserId": "",
        "proxyStatus": "",
        "proxyType": "",
        "proxyLevel": "",
        **{k: place[k] for k in ("latitude", "longitude", "city", "state", "country")},
        "data": data,
    }
    if native:
        for column in _EMPTY_COLUMNS:
            row[column] = a.get(column) if a.get(column) is not None else ""
    return row
