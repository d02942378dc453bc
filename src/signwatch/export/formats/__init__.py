"""Export (design §2 export/formats): how an exported event is written — one pure function per format.

A format turns one `Event` into one record: a single line without its newline (a CSV row may hold line
breaks inside quoted cells, as RFC 4180 allows). Every record carries the event's `id` and `seq`, so a
receiver can drop duplicates and notice gaps. Mappings and examples: docs/formats.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from signwatch.events import Event
from signwatch.export.formats import cef, ecs, native, ocsf


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    record: Callable[[Event], bytes]
    header: bytes | None = None
    document: Callable[[Event], dict[str, Any]] | None = None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        # "json" records are NDJSON lines too: a file of them is NDJSON; the page API answers a JSON body.
        Format("json", "application/x-ndjson", native.ndjson_record, document=native.document),
        Format("ndjson", "application/x-ndjson", native.ndjson_record, document=native.document),
        Format("csv", "text/csv; charset=utf-8", native.csv_record, header=native.CSV_HEADER),
        Format("ocsf", "application/x-ndjson", ocsf.record, document=ocsf.document),
        Format("ecs", "application/x-ndjson", ecs.record, document=ecs.document),
        Format("cef", "text/plain; charset=utf-8", cef.record),
    )
}


def get_format(name: str) -> Format:
    """The format called `name`; ValueError naming the known ones otherwise."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}") from None
