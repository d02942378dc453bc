"""Native export (NDJSON, CSV) and the format registry; every format's record carries the event's id and seq."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import cefp
import orjson
import pytest
from hypothesis import given, settings

import signwatch
from signwatch.events import Event
from signwatch.export.formats import FORMATS, Format, get_format
from signwatch.export.formats.native import CSV_COLUMNS, csv_row, unguard
from tests.export.test_formats_samples import DOC_ALERT, DOC_EVENT, SAMPLES, event, hostile_events


def read_csv(*records: bytes) -> list[dict[str, str]]:
    """Header and rows, joined as an export file joins them, read by the csv module."""
    text = b"\n".join([FORMATS["csv"].header or b"", *records]).decode()
    return list(csv.DictReader(io.StringIO(text, newline=""), strict=True))


def test_the_registry() -> None:
    assert list(FORMATS) == ["json", "ndjson", "csv", "ocsf", "ecs", "cef"]
    assert all(isinstance(f, Format) and f.name == name for name, f in FORMATS.items())
    assert get_format("cef") is FORMATS["cef"]
    assert [n for n, f in FORMATS.items() if f.header is not None] == ["csv"]
    assert [n for n, f in FORMATS.items() if f.document is None] == ["csv", "cef"]
    assert FORMATS["csv"].content_type.startswith("text/csv")
    assert FORMATS["cef"].content_type.startswith("text/plain")
    assert FORMATS["ndjson"].content_type == "application/x-ndjson"


@pytest.mark.parametrize("bad", ["xml", "", "CSV", "ndjson "])
def test_unknown_format_is_a_one_line_value_error_naming_the_known_ones(bad: str) -> None:
    with pytest.raises(ValueError) as err:
        get_format(bad)
    message = str(err.value)
    assert "\n" not in message and all(name in message for name in FORMATS)


def ids_and_seq(name: str, record: bytes) -> tuple[Any, Any]:
    """The id and seq a receiver reads from a record of each format."""
    if name in ("json", "ndjson"):
        wire = orjson.loads(record)
        return wire["id"], wire["seq"]
    if name == "csv":
        row = read_csv(record)[0]
        return unguard(row["id"]), int(row["seq"])
    if name == "ocsf":
        meta = orjson.loads(record)["metadata"]
        return meta["uid"], meta["sequence"]
    if name == "ecs":
        fields = orjson.loads(record)["event"]
        return fields["id"], fields["sequence"]
    ext = cefp.parse(record.decode())["extension"]
    assert ext["cn1Label"] == "seq"
    return ext["externalId"], int(ext["cn1"])


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_every_record_carries_id_and_seq_on_one_line(fmt: str, sample: str) -> None:
    e = SAMPLES[sample]
    record = FORMATS[fmt].record(e)
    assert isinstance(record, bytes) and not record.endswith((b"\n", b"\r"))
    if fmt != "csv":  # a CSV row may hold quoted line breaks (RFC 4180); the samples have none
        assert b"\n" not in record
    assert ids_and_seq(fmt, record) == (e.id, e.seq)


@settings(max_examples=100, deadline=None)
@given(hostile_events())
def test_every_format_carries_id_and_seq_of_any_event(e: Event) -> None:
    for name, fmt in FORMATS.items():
        assert ids_and_seq(name, fmt.record(e)) == (e.id, e.seq), name


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_ndjson_is_the_wire_event(sample: str) -> None:
    e = SAMPLES[sample]
    assert orjson.loads(FORMATS["ndjson"].record(e)) == orjson.loads(orjson.dumps(e.to_wire()))
    assert FORMATS["json"].record(e) == FORMATS["ndjson"].record(e)
    assert FORMATS["json"].document is not None and FORMATS["json"].document(e) == e.to_wire()


def test_csv_columns() -> None:
    e = SAMPLES["envelope.signed"]
    (row,) = read_csv(FORMATS["csv"].record(e))
    assert list(row) == list(CSV_COLUMNS)
    assert row["seq"] == str(e.seq) and row["type"] == "envelope.signed" and row["asn"] == "Andrews & Arnold Ltd"
    assert orjson.loads(row["attributes"]) == e.attributes
    bare = read_csv(FORMATS["csv"].record(SAMPLES["bare"]))[0]
    assert bare["actorEmail"] == bare["ipAddress"] == "" and bare["attributes"] == "{}"


@settings(max_examples=300, deadline=None)
@given(hostile_events())
def test_csv_round_trips_hostile_values(e: Event) -> None:
    (row,) = read_csv(FORMATS["csv"].record(e))
    assert [row["seq"], *(unguard(row[c]) for c in CSV_COLUMNS[1:])] == csv_row(e)
    for column, cell in row.items():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), column


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1-555", "'+1-555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("'quoted", "''quoted"),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_formula_injection_guard(value: str, cell: str) -> None:
    row = read_csv(FORMATS["csv"].record(event(user_agent=value, business_unit=value)))[0]
    assert row["userAgent"] == row["businessUnit"] == cell
    assert unguard(cell) == value


def test_seq_is_never_guarded() -> None:
    assert FORMATS["csv"].record(event(seq=7)).startswith(b"7,")


def test_the_docs_show_real_output() -> None:
    """docs/formats.md's examples are what the code writes for DOC_EVENT and DOC_ALERT (up to the version)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    shown = re.search(r"for signwatch (\S+?)\)", text)
    assert shown is not None

    def as_shown(record: bytes, pretty: bool = False) -> str:
        line = json.dumps(orjson.loads(record), indent=2, ensure_ascii=False) if pretty else record.decode()
        return line.replace(signwatch.__version__, shown.group(1))

    for e in (DOC_EVENT, DOC_ALERT):
        for name in ("ocsf", "ecs"):
            assert as_shown(FORMATS[name].record(e), pretty=True) in text, name
        assert as_shown(FORMATS["cef"].record(e)) in text
    for name in ("ndjson", "csv"):
        assert as_shown(FORMATS[name].record(DOC_EVENT)) in text, name
    assert (FORMATS["csv"].header or b"").decode() in text
