"""Export (design §2 export/formats): ArcSight Common Event Format (CEF:0) records of the event.

`CEF:0|signwatch|signwatch|<version>|<event type>|<name>|<severity>|<extension>`. Header fields escape `\\`
and `|` (line breaks become spaces: a header is one line); extension values escape `\\` and `=` and write
CR/LF as `\\r`/`\\n`, so a record never spans lines. Extension keys come from the CEF dictionary; the
custom slots carry their labels; `msg` holds the attributes as JSON. See docs/formats.md for the table.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime
from typing import Any

import orjson

import signwatch
from signwatch.events import Event, to_us
from signwatch.export.formats.native import family, severity, title, verb

VENDOR = "signwatch"
PRODUCT = "signwatch"


def escape_header(value: str) -> str:
    text = value.replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def escape_value(value: str) -> str:
    text = value.replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _ms(at: datetime) -> int:
    return int(to_us(at) // 1000)


def _number(value: Any) -> str | None:
    """A float field's value as CEF writes it, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return repr(number) if math.isfinite(number) else None


def extension(event: Event) -> list[tuple[str, str]]:
    """The extension's (key, value) pairs in a fixed order; absent values are left out."""
    pairs: list[tuple[str, str | None]] = [
        ("rt", str(_ms(event.occurred_at))),
        ("externalId", event.id),
        ("cn1", None if event.seq is None else str(event.seq)),
        ("cn1Label", None if event.seq is None else "seq"),
        ("deviceCustomDate1", None if event.ingested_at is None else str(_ms(event.ingested_at))),
        ("deviceCustomDate1Label", None if event.ingested_at is None else "ingestedAt"),
        ("cat", family(event)),
        ("act", verb(event) or None),
        ("deviceFacility", event.source),
        ("suid", event.actor.id),
        ("suser", event.actor.email),
    ]
    pairs += _address(event.ip_address)
    pairs += [
        ("requestClientApplication", event.user_agent),
        ("cs1", event.tenant),
        ("cs1Label", "tenant"),
    ]
    pairs += _labelled("cs2", "envelopeId", event.envelope_id or None)
    pairs += _labelled("cs3", "clientReferenceId", event.client_reference_id)
    pairs += _labelled("cs4", "businessUnit", event.business_unit)
    pairs += _labelled("cs5", "country", event.geo.country)
    pairs += _labelled("cs6", "asn", event.geo.asn)
    pairs += _labelled("flexString1", "city", event.geo.city)
    pairs += _labelled("flexString2", "network", event.geo.network)
    if event.type.startswith("alert."):
        pairs += _labelled("cfp1", "value", _number(event.attributes.get("value")))
        pairs += _labelled("cfp2", "threshold", _number(event.attributes.get("threshold")))
        pairs += _labelled("cfp3", "expected", _number(event.attributes.get("expected")))
    if event.attributes:
        pairs.append(("msg", orjson.dumps(event.attributes, option=orjson.OPT_SORT_KEYS).decode()))
    return [(k, v) for k, v in pairs if v is not None and v != ""]


def _labelled(key: str, label: str, value: str | None) -> list[tuple[str, str | None]]:
    if value is None or value == "":
        return []
    return [(key, value), (f"{key}Label", label)]


def _address(ip: str | None) -> list[tuple[str, str | None]]:
    """IPv4 in `src`; IPv6 in `c6a2` labelled as ArcSight does; anything unparsable is left out."""
    if not ip:
        return []
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return []
    if addr.version == 4:
        return [("src", str(addr))]
    return [("c6a2", str(addr)), ("c6a2Label", "Source IPv6 Address")]


def record(event: Event) -> bytes:
    header = [
        "CEF:0",
        escape_header(VENDOR),
        escape_header(PRODUCT),
        escape_header(signwatch.__version__),
        escape_header(event.type),
        escape_header(title(event)),
        str(severity(event)),
    ]
    ext = " ".join(f"{key}={escape_value(value)}" for key, value in extension(event))
    return ("|".join(header) + "|" + ext).encode()
