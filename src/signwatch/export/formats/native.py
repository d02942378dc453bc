"""Export (design §2 export/formats): the native event as NDJSON and CSV, and what every format says of it.

NDJSON is `Event.to_wire()` on one line. CSV is one RFC 4180 row of fixed columns, with cells that a
spreadsheet would run as a formula (`= + - @`, tab, CR) defused by a leading `'`. `severity`, `title`
and `describe` are the native event's severity (CEF's 0-10 scale) and human wording, shared by the SIEM
formats so they agree with each other.
"""

from __future__ import annotations

from typing import Any

import orjson

from signwatch.events import Event, rfc3339

CSV_COLUMNS = (
    "seq",
    "id",
    "tenant",
    "source",
    "type",
    "occurredAt",
    "ingestedAt",
    "envelopeId",
    "actorId",
    "actorEmail",
    "ipAddress",
    "country",
    "asn",
    "network",
    "city",
    "userAgent",
    "clientReferenceId",
    "businessUnit",
    "deliveryId",
    "attributes",
)
CSV_HEADER = ",".join(CSV_COLUMNS).encode()
# A cell starting with one of these is prefixed with `'` (OWASP "CSV injection"); `'` itself is included so
# that the guard is reversible: a cell read back that starts with `'` always had one added.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
_NEEDS_QUOTES = frozenset(',"\r\n')

ALERT_SEVERITY = {"low": 3, "medium": 5, "high": 8, "critical": 10}
NOTABLE = frozenset({"declined", "voided"})  # envelope outcomes a reviewer looks at first


def document(event: Event) -> dict[str, Any]:
    return event.to_wire()


def ndjson_record(event: Event) -> bytes:
    return orjson.dumps(event.to_wire())


def csv_row(event: Event) -> list[str]:
    """The CSV cells of an event, before quoting and before the formula guard (None → empty cell)."""
    values: tuple[Any, ...] = (
        event.seq,
        event.id,
        event.tenant,
        event.source,
        event.type,
        rfc3339(event.occurred_at),
        rfc3339(event.ingested_at) if event.ingested_at else None,
        event.envelope_id,
        event.actor.id,
        event.actor.email,
        event.ip_address,
        event.geo.country,
        event.geo.asn,
        event.geo.network,
        event.geo.city,
        event.user_agent,
        event.client_reference_id,
        event.business_unit,
        event.delivery_id,
        orjson.dumps(event.attributes, option=orjson.OPT_SORT_KEYS).decode(),
    )
    return ["" if v is None else str(v) for v in values]


def guard(cell: str) -> str:
    """Defuse spreadsheet formulas: a cell starting with a trigger gets a leading `'`."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def unguard(cell: str) -> str:
    """The cell as it was before `guard` (for readers that want the exact value back)."""
    return cell[1:] if cell.startswith("'") else cell


def quote(cell: str) -> str:
    """RFC 4180: a field with a comma, quote, CR or LF is enclosed in quotes, inner quotes doubled."""
    if _NEEDS_QUOTES.isdisjoint(cell):
        return cell
    return '"' + cell.replace('"', '""') + '"'


def csv_record(event: Event) -> bytes:
    row = csv_row(event)
    # seq is a number we wrote ourselves: never guarded (a guard only ever applies to text from outside).
    cells = [row[0], *(guard(cell) for cell in row[1:])]
    return ",".join(quote(cell) for cell in cells).encode()


def family(event: Event) -> str:
    """The vocabulary family of a type: `envelope`, `recipient`, `user`, `auth`, `alert`, or a source's name."""
    return event.type.partition(".")[0]


def verb(event: Event) -> str:
    """What happened, after the family: `signed` for envelope.signed, `login.failed` for auth.login.failed."""
    return event.type.partition(".")[2]


def failed(event: Event) -> bool:
    return any(word.startswith(("fail", "denied", "reject")) for word in verb(event).split("."))


def severity(event: Event) -> int:
    """0-10 (CEF's scale): alerts by their rule's severity; declined, voided and failed actions 5; else 3."""
    if family(event) == "alert":
        return ALERT_SEVERITY.get(str(event.attributes.get("severity")), 5)
    if verb(event) in NOTABLE or failed(event):
        return 5
    return 3


def title(event: Event) -> str:
    """A stable human name per type (CEF's Name): `Envelope signed`, `Alert fired: <rule name>`."""
    words = event.type.replace(".", " ").strip()
    name = words[:1].upper() + words[1:] if words else "Event"
    if family(event) == "alert" and event.attributes.get("ruleName"):
        return f"{name}: {event.attributes['ruleName']}"
    return name


def describe(event: Event) -> str:
    """One line for a person: what happened, by whom, on what."""
    if family(event) == "alert":
        group = event.attributes.get("groupKey")
        return title(event) + (f" ({group})" if group else "")
    text = event.type
    who = event.actor.email or event.actor.id
    if who:
        text += f" by {who}"
    if event.envelope_id:
        text += f" on envelope {event.envelope_id}"
    return text
