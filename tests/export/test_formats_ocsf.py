"""OCSF 1.8.0 export: every record valid against the compiled schema, classes and activities as documented."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings

import signwatch
from signwatch.events import Event, to_us
from signwatch.export.formats import ocsf
from tests.export.ocsf_validate import validate
from tests.export.test_formats_samples import SAMPLES, event, hostile_events


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_is_a_valid_ocsf_record(name: str) -> None:
    record = orjson.loads(ocsf.record(SAMPLES[name]))
    assert validate(record) == []
    assert record == ocsf.document(SAMPLES[name])


@settings(max_examples=150, deadline=None)
@given(hostile_events())
def test_any_event_is_a_valid_ocsf_record(e: Event) -> None:
    assert validate(orjson.loads(ocsf.record(e))) == []


@pytest.mark.parametrize(
    ("name", "class_uid", "activity_id"),
    [
        ("envelope.created", 6001, 1),
        ("envelope.sent", 6001, 8),
        ("envelope.delivered", 6001, 2),
        ("envelope.viewed", 6001, 2),
        ("envelope.signed", 6001, 3),
        ("envelope.completed", 6001, 3),
        ("envelope.declined", 6001, 99),
        ("envelope.voided", 6001, 4),
        ("envelope.expired", 6001, 99),
        ("envelope.deleted", 6001, 4),
        ("recipient.signed", 6001, 3),
        ("auth.login", 3002, 1),
        ("auth.login.failed", 3002, 1),
        ("auth.logout", 3002, 2),
        ("auth.mfa.challenge", 3002, 99),
        ("auth.login, nobody", 6001, 99),
        ("user.created", 3001, 1),
        ("user.deleted", 3001, 6),
        ("user.permission.changed", 3001, 99),
        ("user.created, nobody", 6001, 99),
        ("alert.fired", 2004, 1),
        ("alert.resolved", 2004, 3),
        ("atlas.template.shared", 6001, 99),
    ],
)
def test_class_and_activity(name: str, class_uid: int, activity_id: int) -> None:
    doc = ocsf.document(SAMPLES[name])
    assert (doc["class_uid"], doc["activity_id"], doc["type_uid"]) == (
        class_uid,
        activity_id,
        class_uid * 100 + activity_id,
    )
    if activity_id == 99:
        assert doc["activity_name"] == SAMPLES[name].type  # Other: the signwatch type says what happened


def test_metadata_carries_identity_order_tenant_and_envelope() -> None:
    e = SAMPLES["envelope.signed"]
    meta = ocsf.document(e)["metadata"]
    assert (meta["uid"], meta["sequence"], meta["tenant_uid"], meta["correlation_uid"]) == (
        e.id,
        e.seq,
        "acme",
        "env_9",
    )
    assert meta["version"] == "1.8.0"
    assert meta["product"] == {"name": "signwatch", "vendor_name": "signwatch", "version": signwatch.__version__}
    assert e.ingested_at is not None
    assert meta["logged_time"] == to_us(e.ingested_at) // 1000
    assert ocsf.document(e)["time"] == to_us(e.occurred_at) // 1000


def test_person_place_and_agent() -> None:
    doc = ocsf.document(SAMPLES["envelope.sent"])
    assert doc["actor"]["user"] == {
        "uid": "usr_alice",
        "name": "alice@acme.example",
        "email_addr": "alice@acme.example",
    }
    assert doc["src_endpoint"] == {
        "ip": "81.2.69.142",
        "location": {"country": "GB", "city": "London"},
        "autonomous_system": {"name": "Andrews & Arnold Ltd"},
    }
    assert doc["http_request"] == {"user_agent": SAMPLES["envelope.sent"].user_agent}
    assert doc["unmapped"]["clientReferenceId"] == "CRM-1"
    bad = ocsf.document(SAMPLES["email only, not an address"])["actor"]["user"]
    assert bad == {"name": "Bob Smith <bob@x>"}  # not an email_t: kept as the name only
    assert ocsf.document(SAMPLES["unparsable ip"])["unmapped"]["ipAddress"] == "unknown"
    assert "src_endpoint" not in ocsf.document(SAMPLES["bare"])


@pytest.mark.parametrize(("severity", "severity_id"), [("low", 2), ("medium", 3), ("high", 4), ("critical", 5)])
def test_alert_is_a_detection_finding(severity: str, severity_id: int) -> None:
    e = SAMPLES["alert.fired"]
    e = replace(e, attributes={**e.attributes, "severity": severity})
    doc = ocsf.document(e)
    assert doc["severity_id"] == severity_id
    info = doc["finding_info"]
    assert info["uid"] == e.attributes["alertId"] and info["title"] == "Decline spike"
    assert info["related_events"] == [{"uid": "ev_a"}, {"uid": "ev_b"}]
    assert info["analytic"] == {"uid": "decline-spike", "name": "Decline spike", "type_id": 1, "type": "Rule"}
    assert doc["metadata"]["correlation_uid"] == e.attributes["alertId"]
    assert (doc["status_id"], ocsf.document(SAMPLES["alert.resolved"])["status_id"]) == (1, 4)


def test_normal_events_are_informational_and_declines_low() -> None:
    assert ocsf.document(SAMPLES["envelope.signed"])["severity_id"] == 1
    assert ocsf.document(SAMPLES["envelope.declined"])["severity_id"] == 2
    failed = ocsf.document(SAMPLES["auth.login.failed"])
    assert (failed["status_id"], failed["severity_id"]) == (2, 2)


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def change(doc: dict[str, Any]) -> None:
        for p in parents:
            doc = doc[p][0] if isinstance(doc[p], list) else doc[p]
        del doc[last]

    return change


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def change(doc: dict[str, Any]) -> None:
        for p in parents:
            doc = doc[p][0] if isinstance(doc[p], list) else doc[p]
        doc[last] = value

    return change


@pytest.mark.parametrize(
    ("sample", "change", "problem"),
    [
        ("envelope.sent", _drop("web_resources"), "web_resources: required attribute missing"),
        ("envelope.sent", _drop("metadata.product"), "metadata.product: required attribute missing"),
        ("envelope.sent", _set("activity_id", 42), "activity_id: 42 is not one of"),
        ("envelope.sent", _set("type_uid", 600101), "type_uid: 600101 is not class_uid"),
        ("envelope.sent", _set("category_uid", 3), "category_uid: 3"),
        ("envelope.sent", _set("time", 1795183391), "time: 1795183391 is not epoch milliseconds"),
        ("envelope.sent", _set("metadata.sequence", "7"), "metadata.sequence: '7' is not integer_t"),
        ("envelope.sent", _set("metadata.tenant", "acme"), "metadata.tenant: no such attribute"),
        ("envelope.sent", _drop("metadata.profiles"), "actor: belongs to profile 'host'"),
        ("envelope.sent", _set("activity_name", "Sent"), "its sibling activity_name is 'Sent'"),
        ("envelope.sent", _set("src_endpoint.ip", "81.2.69.999"), "src_endpoint.ip: '81.2.69.999'"),
        ("envelope.sent", _set("actor.user", {"email_addr": "a@b.example"}), "needs at least one of ['name', 'uid']"),
        ("envelope.sent", _set("actor.user.email_addr", "not mail"), "does not match email_t"),
        ("envelope.sent", _set("src_endpoint.location", {}), "needs at least one of ['city', 'country'"),
        ("auth.login", _drop("service"), "needs at least one of ['service', 'dst_endpoint']"),
        ("auth.login", _drop("user"), "user: required attribute missing"),
        ("alert.fired", _drop("finding_info.uid"), "finding_info.uid: required attribute missing"),
        ("alert.fired", _drop("finding_info.analytic.type_id"), "analytic.type_id: required attribute missing"),
        ("alert.fired", _set("web_resources", []), "web_resources: no such attribute"),
    ],
)
def test_the_validator_refuses_what_the_schema_refuses(
    sample: str, change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    doc = copy.deepcopy(ocsf.document(SAMPLES[sample]))
    change(doc)
    assert any(problem in p for p in validate(doc)), validate(doc)


def test_a_missing_sequence_is_left_out_not_null() -> None:
    doc = ocsf.document(event("envelope.sent", seq=None, ingested_at=None))
    assert "sequence" not in doc["metadata"] and "logged_time" not in doc["metadata"]
    assert validate(doc) == []
