"""CEF export: records read back by real CEF parsers (cefp, pycef), hostile values survive, no line breaks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cefp
import orjson
import pycef
import pytest
from hypothesis import given, settings

import signwatch
from signwatch.events import Event, to_us
from signwatch.export.formats import cef
from signwatch.export.formats.native import title
from tests.export.test_formats_samples import SAMPLES, event, hostile_events


def parse(record: bytes) -> dict[str, Any]:
    """A CEF record read by cefp (a state-machine parser that undoes the spec's escapes)."""
    assert b"\n" not in record and b"\r" not in record
    parsed: dict[str, Any] = cefp.parse(record.decode())
    return parsed


def one_line(text: str | None) -> str | None:
    """What a header field becomes: line breaks are not allowed there and turn into spaces."""
    return None if text is None else text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_reads_back(name: str) -> None:
    e = SAMPLES[name]
    got = parse(cef.record(e))
    assert got["version"] == "0"
    assert got["device"] == {
        "vendor": "signwatch",
        "product": "signwatch",
        "version": signwatch.__version__,
        "event_class_id": e.type,
    }
    assert 0 <= int(got["severity"]) <= 10
    ext = got["extension"]
    assert (ext["externalId"], ext["cn1"], ext["cn1Label"]) == (e.id, str(e.seq), "seq")
    assert (ext["cs1"], ext["cs1Label"]) == (e.tenant, "tenant")
    assert ext["rt"] == str(to_us(e.occurred_at) // 1000)
    if e.attributes:
        assert orjson.loads(ext["msg"]) == e.attributes


@pytest.mark.parametrize("name", list(SAMPLES))
def test_pycef_reads_the_labelled_fields(name: str) -> None:
    """pycef, the parser most Python tooling uses, maps custom fields by their labels."""
    e = SAMPLES[name]
    got = pycef.parse(cef.record(e).decode())
    assert got is not None
    assert (got["DeviceVendor"], got["DeviceEventClassID"], got["externalId"]) == ("signwatch", e.type, e.id)
    assert (got["seq"], got["tenant"]) == (str(e.seq), e.tenant)
    if e.envelope_id:
        assert got["envelopeId"] == e.envelope_id


def test_a_full_event() -> None:
    e = SAMPLES["envelope.declined"]
    ext = parse(cef.record(e))["extension"]
    assert e.ingested_at is not None
    assert ext == {
        "rt": str(to_us(e.occurred_at) // 1000),
        "externalId": e.id,
        "cn1": str(e.seq),
        "cn1Label": "seq",
        "deviceCustomDate1": str(to_us(e.ingested_at) // 1000),
        "deviceCustomDate1Label": "ingestedAt",
        "cat": "envelope",
        "act": "declined",
        "deviceFacility": "atlas",
        "suid": "usr_alice",
        "suser": "alice@acme.example",
        "src": "81.2.69.142",
        "requestClientApplication": e.user_agent,
        "cs1": "acme",
        "cs1Label": "tenant",
        "cs2": "env_9",
        "cs2Label": "envelopeId",
        "cs3": "CRM-1",
        "cs3Label": "clientReferenceId",
        "cs4": "sales",
        "cs4Label": "businessUnit",
        "cs5": "GB",
        "cs5Label": "country",
        "cs6": "Andrews & Arnold Ltd",
        "cs6Label": "asn",
        "flexString1": "London",
        "flexString1Label": "city",
        "flexString2": "81.2.69.0/24",
        "flexString2Label": "network",
        "msg": orjson.dumps(e.attributes, option=orjson.OPT_SORT_KEYS).decode(),
    }


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("envelope.signed", 3),
        ("envelope.declined", 5),
        ("envelope.voided", 5),
        ("auth.login.failed", 5),
        ("alert.resolved", 3),
        ("alert.fired, medium", 5),
        ("alert.fired", 8),
        ("alert.fired, critical", 10),
    ],
)
def test_severity(name: str, severity: int) -> None:
    assert parse(cef.record(SAMPLES[name]))["severity"] == str(severity)


def test_alert_values_and_name() -> None:
    got = parse(cef.record(SAMPLES["alert.fired"]))
    assert got["name"] == "Alert fired: Decline spike"
    ext = got["extension"]
    assert (ext["cfp1"], ext["cfp2"], ext["cfp3"]) == ("12.0", "5.0", "1.5")
    assert orjson.loads(ext["msg"])["alertId"].startswith("al_")


def test_ipv6_goes_to_c6a2() -> None:
    ext = parse(cef.record(SAMPLES["ipv6"]))["extension"]
    assert (ext["c6a2"], ext["c6a2Label"]) == ("2001:db8::1", "Source IPv6 Address") and "src" not in ext
    assert "src" not in parse(cef.record(SAMPLES["unparsable ip"]))["extension"]


def test_escaping_follows_the_spec() -> None:
    assert cef.escape_header("a|b\\c=d") == "a\\|b\\\\c=d"
    assert cef.escape_value("a=b\\c|d\r\ne") == "a\\=b\\\\c|d\\r\\ne"
    record = cef.record(event("envelope.x|y\\z", user_agent="UA\\ with=eq\nline", tenant="a b=c"))
    assert b"|envelope.x\\|y\\\\z|Envelope x\\|y\\\\z|" in record
    assert b" requestClientApplication=UA\\\\ with\\=eq\\nline " in record and b" cs1=a b\\=c " in record


@settings(max_examples=300, deadline=None)
@given(hostile_events())
def test_hostile_values_round_trip(e: Event) -> None:
    got = parse(cef.record(e))
    assert got["device"]["event_class_id"] == one_line(e.type)
    assert got["name"] == one_line(title(e))
    ext = got["extension"]
    assert ext["externalId"] == e.id and ext["cn1"] == str(e.seq) and ext["cs1"] == e.tenant
    expected = {
        "suser": e.actor.email,
        "suid": e.actor.id,
        "requestClientApplication": e.user_agent,
        "cs2": e.envelope_id,
        "cs3": e.client_reference_id,
        "cs4": e.business_unit,
        "cs5": e.geo.country,
        "cs6": e.geo.asn,
        "flexString1": e.geo.city,
        "flexString2": e.geo.network,
    }
    assert {k: ext.get(k) for k in expected} == {k: v or None for k, v in expected.items()}
    assert orjson.loads(ext["msg"]) == e.attributes if e.attributes else "msg" not in ext


def test_alert_numbers_that_are_not_finite_are_left_out() -> None:
    e = SAMPLES["alert.fired"]
    odd = replace(e, attributes={**e.attributes, "value": float("nan"), "threshold": float("inf"), "expected": "1.5"})
    ext = parse(cef.record(odd))["extension"]
    assert not {"cfp1", "cfp2", "cfp3"} & set(ext)
