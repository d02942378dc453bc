"""Rule validation: the documented body is accepted with defaults; every invalid field is named."""

from __future__ import annotations

import pytest

from signwatch.rules.spec import RuleError, parse_rule

EXAMPLE = {"name": "Off-hours send spike", "condition": "envelope_sent", "threshold": 50, "windowMinutes": 60}


def test_the_issue_example_gets_defaults() -> None:
    body = parse_rule(EXAMPLE).wire()
    assert body["kind"] == "threshold" and body["condition"] == "envelope.sent"
    assert body["threshold"] == 50 and body["windowMinutes"] == 60
    assert body["mode"] == "shadow" and body["enabled"] is True and body["severity"] == "medium"
    assert body["groupBy"] == "tenant" and body["cooldownMinutes"] == 60 and body["recipients"] == []


def test_a_stored_body_validates_again_unchanged() -> None:
    for body in (
        EXAMPLE,
        {"name": "v", "kind": "ratio", "condition": "envelope.voided", "denominator": "envelope.sent"},
        {"name": "s", "kind": "stuck", "slaMinutes": 90},
        {"name": "n", "kind": "new_network", "network": "asn", "newTo": "tenant"},
        {"name": "a", "kind": "anomaly", "condition": "envelope.signed", "groupBy": "businessUnit"},
        {"name": "f", "kind": "flatline", "schedule": {"businessHoursOnly": True, "timezone": "Asia/Kolkata"}},
    ):
        wire = parse_rule(body).wire()
        assert parse_rule({**wire, "id": "rl_x", "createdAt": "2026-01-01T00:00:00Z"}).wire() == wire


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "bogus"}, "kind"),
        ({"name": "x", "condition": "envelope_teleported", "threshold": 1}, "condition"),
        ({"name": "x", "threshold": -1}, "threshold"),
        ({"name": "x", "threshold": 5, "windowMinutes": 0}, "windowMinutes"),
        ({"name": "x", "threshold": 5, "windowMinutes": -5}, "windowMinutes"),
        (
            {"name": "x", "threshold": 5, "schedule": {"offHoursOnly": True, "timezone": "Mars/Olympus"}},
            "schedule.timezone",
        ),
        ({"name": "x", "kind": "ratio", "condition": "envelope.voided"}, "denominator"),
        ({"name": "x", "threshold": 3, "slaMinutes": 5}, "slaMinutes"),
        ({"name": "x", "threshold": 3, "thresold": 4}, "thresold"),
        ({"name": "x", "threshold": 3, "severity": "urgent"}, "severity"),
        ({"name": "x", "threshold": 3, "recipients": ["not a recipient"]}, "recipients"),
        ({"name": "x", "threshold": 3, "filter": {"colour": "red"}}, "filter"),
        ({"name": "", "threshold": 3}, "name"),
        ({"threshold": 3}, "name"),
        ({"name": "x", "kind": "new_network", "groupBy": "country"}, "groupBy"),
        ({"name": "x", "kind": "threshold"}, "threshold"),
    ],
)
def test_invalid_rules_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(body)
    fields = [f for f, _ in caught.value.problems]
    assert field in fields, caught.value.problems
    assert all(message for _, message in caught.value.problems)
