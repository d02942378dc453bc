"""Export (design §2 export/formats): OCSF 1.8.0 events of the event.

Envelope, recipient and unknown types are Web Resources Activity (6001) on the envelope; `auth.*` is
Authentication (3002) and `user.*` Account Change (3001), both about the acting person (without one they
fall back to Web Resources Activity, as the person is required there); `alert.*` is Detection Finding
(2004). The event's `id`, `seq`, tenant and envelope are `metadata.uid`, `.sequence`, `.tenant_uid` and
`.correlation_uid`; what OCSF has no attribute for is under `unmapped`. Tables: docs/formats.md.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any

import orjson

import signwatch
from signwatch.events import Event, parse_time, rfc3339, to_us
from signwatch.export.formats.native import NOTABLE, describe, failed, family, verb

VERSION = "1.8.0"
WEB, AUTH, ACCOUNT, FINDING = 6001, 3002, 3001, 2004
CLASSES = {  # class_uid → (class name, category_uid, category name)
    WEB: ("Web Resources Activity", 6, "Application Activity"),
    AUTH: ("Authentication", 3, "Identity & Access Management"),
    ACCOUNT: ("Account Change", 3, "Identity & Access Management"),
    FINDING: ("Detection Finding", 2, "Findings"),
}
ACTIVITY_NAMES = {
    WEB: {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 8: "Share"},
    AUTH: {1: "Logon", 2: "Logoff"},
    ACCOUNT: {1: "Create", 2: "Enable", 3: "Password Change", 4: "Password Reset", 5: "Disable", 6: "Delete"}
    | {9: "Lock", 12: "Unlock"},
    FINDING: {1: "Create", 2: "Update", 3: "Close"},
}
OTHER = 99
# Envelope (and recipient) verbs → Web Resources Activity; declined, expired and the rest are Other (99).
WEB_ACTIVITY = {
    "created": 1,
    "sent": 8,
    "delivered": 2,
    "viewed": 2,
    "signed": 3,
    "completed": 3,
    "voided": 4,
    "deleted": 4,
}
AUTH_ACTIVITY = {"login": 1, "logon": 1, "signin": 1, "logout": 2, "logoff": 2, "signout": 2}
ACCOUNT_ACTIVITY = {
    "created": 1,
    "invited": 1,
    "added": 1,
    "enabled": 2,
    "activated": 2,
    "reactivated": 2,
    "password.changed": 3,
    "password.reset": 4,
    "disabled": 5,
    "deactivated": 5,
    "suspended": 5,
    "deleted": 6,
    "removed": 6,
    "locked": 9,
    "unlocked": 12,
}
FINDING_ACTIVITY = {"fired": 1, "updated": 2, "resolved": 3}
FINDING_STATUS = {"fired": (1, "New"), "updated": (2, "In Progress"), "resolved": (4, "Resolved")}
SEVERITY = {"low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"), "critical": (5, "Critical")}
STATUS = {0: "Unknown", 1: "Success", 2: "Failure"}
# email_t's pattern in the 1.8.0 schema: an address that does not match goes in user.name only.
EMAIL = re.compile(r"^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")
PLATFORM = {"atlas": "atlas", "poll": "atlas", "docusign-connect": "docusign", "docusign-monitor": "docusign"}


def _ms(at: datetime) -> int:
    return int(to_us(at) // 1000)


def _prune(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and v != {} and v != []}


def user(event: Event) -> dict[str, Any] | None:
    """The acting person as an OCSF user (name or uid is required), or None when the event names nobody."""
    email, uid = event.actor.email, event.actor.id
    if not email and not uid:
        return None
    return _prune(
        {"uid": uid or None, "name": email or None, "email_addr": email if email and EMAIL.match(email) else None}
    )


def src_endpoint(event: Event) -> dict[str, Any] | None:
    """Where the person acted from; only with a valid IP address (the endpoint's identifying attribute)."""
    try:
        ip = str(ipaddress.ip_address((event.ip_address or "").strip()))
    except ValueError:
        return None
    geo = event.geo
    location = _prune({"country": geo.country, "city": geo.city})
    return _prune(
        {
            "ip": ip,
            "location": location or None,
            "autonomous_system": {"name": geo.asn} if geo.asn else None,
        }
    )


def classify(event: Event) -> tuple[int, int]:
    """(class_uid, activity_id) of an event."""
    kind, what = family(event), verb(event)
    if kind == "alert":
        return FINDING, FINDING_ACTIVITY.get(what, OTHER)
    if kind == "auth" and user(event) is not None:
        words = what.replace("log.in", "login").replace("sign.in", "signin").replace("log.out", "logout")
        words = words.replace("sign.out", "signout")
        return AUTH, next((AUTH_ACTIVITY[w] for w in words.split(".") if w in AUTH_ACTIVITY), OTHER)
    if kind == "user" and user(event) is not None:
        return ACCOUNT, ACCOUNT_ACTIVITY.get(what, OTHER)
    if kind in ("envelope", "recipient"):
        return WEB, WEB_ACTIVITY.get(what, OTHER)
    return WEB, OTHER


def document(event: Event) -> dict[str, Any]:
    class_uid, activity_id = classify(event)
    class_name, category_uid, category_name = CLASSES[class_uid]
    activity_name = ACTIVITY_NAMES[class_uid].get(activity_id, event.type)
    if class_uid == FINDING:
        severity_id, severity_name = SEVERITY.get(str(event.attributes.get("severity")), (0, "Unknown"))
    elif verb(event) in NOTABLE or failed(event):
        severity_id, severity_name = 2, "Low"
    else:
        severity_id, severity_name = 1, "Informational"
    out: dict[str, Any] = {
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": category_uid,
        "category_name": category_name,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {ACTIVITY_NAMES[class_uid].get(activity_id, 'Other')}",
        "severity_id": severity_id,
        "severity": severity_name,
        "time": _ms(event.occurred_at),
        "message": describe(event),
        "metadata": metadata(event, class_uid),
    }
    if class_uid == FINDING:
        out.update(finding(event))
    else:
        status_id = 2 if failed(event) else 0 if class_uid == AUTH and activity_id == OTHER else 1
        out.update({"status_id": status_id, "status": STATUS[status_id]})
        out.update(subject(event, class_uid))
        endpoint = src_endpoint(event)
        if endpoint is not None:
            out["src_endpoint"] = endpoint
        if event.user_agent:
            out["http_request"] = {"user_agent": event.user_agent}
    unmapped = _prune(
        {
            "clientReferenceId": event.client_reference_id,
            "businessUnit": event.business_unit,
            "deliveryId": event.delivery_id,
            "network": event.geo.network,
            "ipAddress": event.ip_address if event.ip_address and "src_endpoint" not in out else None,
            "attributes": event.attributes,
        }
    )
    if unmapped:
        out["unmapped"] = unmapped
    return out


def metadata(event: Event, class_uid: int) -> dict[str, Any]:
    correlation = event.attributes.get("alertId") if family(event) == "alert" else event.envelope_id
    meta: dict[str, Any] = {
        "version": VERSION,
        "product": {"name": "signwatch", "vendor_name": "signwatch", "version": signwatch.__version__},
        "uid": event.id,
        "sequence": event.seq,
        "tenant_uid": event.tenant,
        "correlation_uid": str(correlation) if correlation else None,
        "event_code": event.type,
        "log_provider": event.source,
        "original_time": rfc3339(event.occurred_at),
        "logged_time": _ms(event.ingested_at) if event.ingested_at else None,
    }
    if class_uid == WEB and user(event) is not None:
        meta["profiles"] = ["host"]  # `actor` belongs to the host profile in this class
    return _prune(meta)


def subject(event: Event, class_uid: int) -> dict[str, Any]:
    """The class's primary objects: the envelope (or the tenant's account) and the acting person."""
    person = user(event)
    if class_uid == AUTH:
        service = PLATFORM.get(event.source, event.source)
        return {"user": person, "service": {"name": service}}
    if class_uid == ACCOUNT:
        return {"user": person}
    if event.envelope_id:
        resource = {"uid": event.envelope_id, "type": "envelope"}
    else:  # nothing more specific to point at: the account (tenant) the activity happened in
        resource = {"uid": event.tenant, "type": "account"}
    out: dict[str, Any] = {"web_resources": [resource]}
    if person is not None:
        out["actor"] = {"user": person}
    return out


def finding(event: Event) -> dict[str, Any]:
    """Detection Finding parts of an `alert.*` event (attributes as `alerts.alert_event` writes them)."""
    attrs = event.attributes
    change = verb(event)
    status_id, status = FINDING_STATUS.get(change, (OTHER, "Other"))
    rule_id, rule_name = attrs.get("ruleId"), attrs.get("ruleName")
    analytic = _prune({"uid": _text(rule_id), "name": _text(rule_name), "type_id": 1, "type": "Rule"})
    info: dict[str, Any] = {
        "uid": _text(attrs.get("alertId")) or event.id,
        "title": _text(rule_name),
        "analytic": analytic if ("uid" in analytic or "name" in analytic) else None,
        "related_events": [{"uid": str(i)} for i in _list(attrs.get("eventIds")) if i not in (None, "")],
        "created_time": _time(attrs.get("firedAt")),
    }
    return {"status_id": status_id, "status": status, "finding_info": _prune(info)}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _time(value: Any) -> int | None:
    try:
        return _ms(parse_time(value))
    except (ValueError, TypeError, OverflowError):
        return None


def record(event: Event) -> bytes:
    return orjson.dumps(document(event))
