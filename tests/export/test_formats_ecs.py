"""ECS 9.4 export: every document valid against shared/ecs/ecs_flat-9.4.0.yml (fields, types, categorization)."""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
from datetime import datetime
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given, settings

from signwatch.events import Event, rfc3339
from signwatch.export.formats import ecs
from tests.export.test_formats_samples import SAMPLES, event, hostile_events
from tests.helpers import shared_dir

ECS_FLAT = shared_dir() / "ecs" / "ecs_flat-9.4.0.yml"
OWN = ("signwatch.", "labels.")  # the product's namespace, and ECS's own place for custom keywords
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TEXT = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text"}
LONG = (-(2**63), 2**63 - 1)


@functools.cache
def fields() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load(ECS_FLAT.read_text(), Loader=loader)
    return data


def flatten(doc: dict[str, Any], prefix: str = "", problems: list[str] | None = None) -> dict[str, Any]:
    """Dotted name → value; a dotted key in the document (rather than nesting) is a problem."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if "." in key and problems is not None:
            problems.append(f"{prefix}{key}: dotted key, ECS documents nest")
        name = f"{prefix}{key}"
        if name == "signwatch.attributes":
            out[name] = value  # the source's own data, as it came
        elif isinstance(value, dict) and fields().get(name, {}).get("type") not in ("flattened", "geo_point"):
            out |= flatten(value, f"{name}.", problems)
        else:
            out[name] = value
    return out


def problems(doc: dict[str, Any]) -> list[str]:
    """Every problem of the document as `field: reason`; empty when it is valid ECS 9.4."""
    found: list[str] = []
    flat = flatten(doc, problems=found)
    for name, value in flat.items():
        if name.startswith("labels."):
            if not isinstance(value, str):
                found.append(f"{name}: labels are keywords")
            continue
        if name.startswith(OWN):
            continue
        spec = fields().get(name)
        if spec is None:
            found.append(f"{name}: not an ECS field")
            continue
        many = "array" in spec.get("normalize", [])
        if isinstance(value, list) != many:
            found.append(f"{name}: {'expected' if many else 'unexpected'} array")
            continue
        for item in value if many else [value]:
            found += [f"{name}: {p}" for p in _typed(item, spec)]
    found += _categorization(flat)
    return found


def _typed(value: Any, spec: dict[str, Any]) -> list[str]:
    kind = spec["type"]
    if kind in TEXT:
        ok = isinstance(value, str)
    elif kind == "date":
        ok = isinstance(value, str) and bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value))
    elif kind == "ip":
        try:
            ok = isinstance(value, str) and bool(ipaddress.ip_address(value))
        except ValueError:
            ok = False
    elif kind in ("long", "integer"):
        ok = isinstance(value, int) and not isinstance(value, bool) and LONG[0] <= value <= LONG[1]
    elif kind in ("float", "double", "scaled_float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "geo_point":
        ok = isinstance(value, dict) and set(value) == {"lat", "lon"}
    else:  # object, flattened, nested
        ok = isinstance(value, dict | list)
    if not ok:
        return [f"{value!r} is not of type {kind}"]
    allowed = {v["name"] for v in spec.get("allowed_values") or []}
    if allowed and value not in allowed:
        return [f"{value!r} is not an allowed value"]
    return []


def _categorization(flat: dict[str, Any]) -> list[str]:
    """Each event.type must be one ECS expects with each event.category."""
    expected = {
        v["name"]: set(v.get("expected_event_types") or []) for v in fields()["event.category"]["allowed_values"]
    }
    out = []
    for category in flat.get("event.category") or []:
        for kind in flat.get("event.type") or []:
            if kind not in expected.get(category, set()):
                out.append(f"event.type: {kind!r} is not expected with event.category {category!r}")
    return out


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_is_a_valid_ecs_document(name: str) -> None:
    doc = orjson.loads(ecs.record(SAMPLES[name]))
    assert problems(doc) == []
    assert doc == ecs.document(SAMPLES[name])


@settings(max_examples=150, deadline=None)
@given(hostile_events())
def test_any_event_is_a_valid_ecs_document(e: Event) -> None:
    assert problems(orjson.loads(ecs.record(e))) == []


def test_no_ecs_field_lives_in_our_namespace() -> None:
    assert not [name for name in fields() if name.split(".")[0] == "signwatch"]


def test_fields_of_a_full_event() -> None:
    e = SAMPLES["envelope.viewed"]
    doc = ecs.document(e)
    assert e.ingested_at is not None
    assert doc["@timestamp"] == rfc3339(e.occurred_at) and doc["event"]["created"] == rfc3339(e.ingested_at)
    assert doc["event"]["ingested"] == rfc3339(e.ingested_at)
    assert doc["event"] | {"created": None, "ingested": None} == {
        "kind": "event",
        "category": ["web"],
        "type": ["access"],
        "outcome": "success",
        "action": "envelope.viewed",
        "id": e.id,
        "sequence": e.seq,
        "created": None,
        "ingested": None,
        "provider": "atlas",
        "module": "signwatch",
        "severity": 3,
    }
    assert doc["user"] == {"id": "usr_alice", "email": "alice@acme.example"}
    assert doc["source"] == {
        "address": "81.2.69.142",
        "ip": "81.2.69.142",
        "geo": {"country_iso_code": "GB", "city_name": "London"},
        "as": {"organization": {"name": "Andrews & Arnold Ltd"}},
    }
    assert doc["user_agent"] == {"original": e.user_agent}
    assert doc["labels"] == {"tenant": "acme", "client_reference_id": "CRM-1", "business_unit": "sales"}
    assert doc["signwatch"]["envelope_id"] == "env_9" and doc["signwatch"]["attributes"] == e.attributes


@pytest.mark.parametrize(
    ("name", "kind", "category", "types", "outcome"),
    [
        ("envelope.signed", "event", ["web"], ["info"], "success"),
        ("envelope.delivered", "event", ["web"], ["access"], "success"),
        ("auth.login", "event", ["authentication"], ["start"], "success"),
        ("auth.login.failed", "event", ["authentication"], ["start"], "failure"),
        ("auth.logout", "event", ["authentication"], ["end"], "success"),
        ("auth.mfa.challenge", "event", ["authentication"], ["info"], "unknown"),
        ("user.created", "event", ["iam"], ["user", "creation"], "success"),
        ("user.deleted", "event", ["iam"], ["user", "deletion"], "success"),
        ("user.permission.changed", "event", ["iam"], ["user", "info"], "success"),
        ("atlas.template.shared", "event", ["web"], ["info"], "success"),
        ("alert.fired", "alert", None, None, None),
    ],
)
def test_categorization(name: str, kind: str, category: Any, types: Any, outcome: Any) -> None:
    got = ecs.document(SAMPLES[name])["event"]
    assert (got["kind"], got.get("category"), got.get("type"), got.get("outcome")) == (kind, category, types, outcome)


def test_alert_names_its_rule() -> None:
    doc = ecs.document(SAMPLES["alert.fired"])
    assert doc["rule"] == {"id": "decline-spike", "name": "Decline spike"}
    assert doc["event"]["severity"] == 8 and doc["signwatch"]["alert_id"].startswith("al_")


def test_an_unparsable_address_stays_in_source_address_only() -> None:
    doc = ecs.document(SAMPLES["unparsable ip"])
    assert doc["source"] == {"address": "unknown"} and "ip" not in doc["related"]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("event.kind", "envelope", "'envelope' is not an allowed value"),
        ("event.category", ["web", "esign"], "'esign' is not an allowed value"),
        ("event.type", ["creation"], "'creation' is not expected with event.category 'web'"),
        ("event.category", "web", "expected array"),
        ("event.sequence", "7", "is not of type long"),
        ("source.ip", "unknown", "is not of type ip"),
        ("@timestamp", "20 Nov 2026", "is not of type date"),
        ("user.tenant", "acme", "user.tenant: not an ECS field"),
        ("labels.count", 3, "labels are keywords"),
    ],
)
def test_the_validator_refuses_what_ecs_refuses(path: str, value: Any, problem: str) -> None:
    doc = copy.deepcopy(ecs.document(SAMPLES["envelope.signed"]))
    *parents, last = path.split(".") if path != "@timestamp" else [path]
    here = doc
    for p in parents:
        here = here.setdefault(p, {})
    here[last] = value
    assert any(problem in p for p in problems(doc)), problems(doc)
    assert any("dotted key" in p for p in problems({"event.id": "x"}))


def test_a_missing_sequence_is_left_out_not_null() -> None:
    doc = ecs.document(event("envelope.sent", seq=None, ingested_at=None))
    assert "sequence" not in doc["event"] and "created" not in doc["event"] and "ingested" not in doc["event"]
    assert problems(doc) == []
