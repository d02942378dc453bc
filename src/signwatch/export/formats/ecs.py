"""Export (design §2 export/formats): Elastic Common Schema 9.4 documents of the event (nested JSON).

Every field outside `labels.*` and the product's own `signwatch.*` namespace is an ECS field with a value
of its type; `event.category`/`event.type` use allowed values in the pairings ECS expects. `event.id` and
`event.sequence` carry the event's id and seq; `event.created` and `event.ingested` are when signwatch
ingested it (a receiving Elastic pipeline may overwrite `event.ingested` with its own time). Tables: docs/formats.md.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import orjson

import signwatch
from signwatch.events import Event, rfc3339
from signwatch.export.formats.native import describe, failed, family, severity, verb
from signwatch.export.formats.ocsf import ACCOUNT_ACTIVITY, AUTH_ACTIVITY

ECS_VERSION = "9.4.0"
ACCESS = frozenset({"delivered", "viewed"})  # envelope/recipient verbs that are a read of the envelope


def _prune(value: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values and, recursively, objects left empty."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict) and key != "attributes":
            item = _prune(item)
        if item is None or item == {} or item == [] or item == "":
            continue
        out[key] = item
    return out


def categorize(event: Event) -> dict[str, Any]:
    """event.kind, .category, .type and .outcome (alerts are kind `alert` and name no category)."""
    kind, what = family(event), verb(event)
    if kind == "alert":
        return {"kind": "alert"}
    words = what.split(".")
    outcome = "failure" if failed(event) else "success"
    if kind == "auth":
        logon = next((AUTH_ACTIVITY[w] for w in words if w in AUTH_ACTIVITY), None)
        types = {1: ["start"], 2: ["end"]}.get(logon or 0, ["info"])
        if logon is None and outcome == "success":
            outcome = "unknown"
        return {"kind": "event", "category": ["authentication"], "type": types, "outcome": outcome}
    if kind == "user":
        change = ACCOUNT_ACTIVITY.get(what)
        second = "creation" if change == 1 else "deletion" if change == 6 else "change" if change else "info"
        return {"kind": "event", "category": ["iam"], "type": ["user", second], "outcome": outcome}
    types = ["access"] if kind in ("envelope", "recipient") and what in ACCESS else ["info"]
    return {"kind": "event", "category": ["web"], "type": types, "outcome": outcome}


def source(event: Event) -> dict[str, Any]:
    address = (event.ip_address or "").strip()
    try:
        ip: str | None = str(ipaddress.ip_address(address))
    except ValueError:
        ip = None
    geo = event.geo
    return {
        "address": address or None,
        "ip": ip,
        "geo": {"country_iso_code": geo.country, "city_name": geo.city},
        "as": {"organization": {"name": geo.asn}},
    }


def document(event: Event) -> dict[str, Any]:
    event_fields: dict[str, Any] = {
        **categorize(event),
        "action": event.type,
        "id": event.id,
        "sequence": event.seq,
        "created": rfc3339(event.ingested_at) if event.ingested_at else None,
        "ingested": rfc3339(event.ingested_at) if event.ingested_at else None,
        "provider": event.source,
        "module": "signwatch",
        "severity": severity(event),
    }
    src = source(event)
    people = list(dict.fromkeys(p for p in (event.actor.id, event.actor.email) if p))
    doc: dict[str, Any] = {
        "@timestamp": rfc3339(event.occurred_at),
        "ecs": {"version": ECS_VERSION},
        "message": describe(event),
        "event": event_fields,
        "observer": {"vendor": "signwatch", "product": "signwatch", "version": signwatch.__version__},
        "user": {"id": event.actor.id, "email": event.actor.email},
        "source": src,
        "user_agent": {"original": event.user_agent},
        "related": {"user": people, "ip": [src["ip"]] if src["ip"] else []},
        "labels": {
            "tenant": event.tenant,
            "client_reference_id": event.client_reference_id,
            "business_unit": event.business_unit,
        },
        "signwatch": {
            "envelope_id": event.envelope_id or None,
            "source": event.source,
            "delivery_id": event.delivery_id,
            "network": event.geo.network,
            "attributes": event.attributes,
        },
    }
    if family(event) == "alert":
        attrs = event.attributes
        doc["rule"] = {
            "id": _text(attrs.get("ruleId")),
            "name": _text(attrs.get("ruleName")),
        }
        doc["signwatch"]["alert_id"] = _text(attrs.get("alertId"))
    return _prune(doc)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def record(event: Event) -> bytes:
    return orjson.dumps(document(event))
