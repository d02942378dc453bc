"""Injected incidents: every kind is present once, and its label's window holds the incident's events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from signwatch.simulate import INCIDENT_KINDS, SimEvent, SimRun
from signwatch.simulate.cadence import is_business_hours
from signwatch.simulate.lifecycle import TERMINAL_EVENTS


def label_of(run: SimRun, kind: str) -> dict[str, Any]:
    (label,) = [label for label in run.labels if label["kind"] == kind]
    return label


def window(label: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(label["start"]), datetime.fromisoformat(label["end"])


def events_of(run: SimRun, envelope_ids: list[str], kind: str) -> list[SimEvent]:
    wanted = set(envelope_ids)
    return [event for event in run.events if event.envelope_id in wanted and event.type == kind]


def zone_of(run: SimRun, slug: str) -> ZoneInfo:
    return ZoneInfo(run.tenants[slug].timezone)


def test_each_kind_once_with_a_well_formed_label(run: SimRun) -> None:
    assert sorted(label["kind"] for label in run.labels) == sorted(INCIDENT_KINDS)
    for label in run.labels:
        assert set(label) <= {
            "kind",
            "tenant",
            "start",
            "end",
            "actor",
            "envelopeIds",
            "ipAddress",
            "description",
        }
        assert label["tenant"] in run.tenants
        assert label["start"].endswith("Z") and label["end"].endswith("Z")
        start, end = window(label)
        assert run.config.start <= start <= end <= run.config.end
        assert label["description"]
    assert {label["tenant"] for label in run.labels} == set(run.tenants)  # spread over all three tenants


def test_off_hours_burst(run: SimRun) -> None:
    label = label_of(run, "off_hours_burst")
    start, end = window(label)
    sent = events_of(run, label["envelopeIds"], "envelope.sent")
    assert len(sent) == len(label["envelopeIds"]) >= 60
    assert end - start <= timedelta(hours=1)
    assert all(start <= event.occurred_at <= end for event in sent)
    assert {event.payload["data"]["sender"]["email"] for event in sent} == {label["actor"]}
    zone = zone_of(run, label["tenant"])
    assert all(event.occurred_at.astimezone(zone).hour < 6 for event in sent)


def test_void_spike(run: SimRun) -> None:
    label = label_of(run, "void_spike")
    start, end = window(label)
    voided = events_of(run, label["envelopeIds"], "envelope.voided")
    assert len(voided) == len(label["envelopeIds"]) >= 30
    assert end - start <= timedelta(hours=2)
    assert all(start <= event.occurred_at <= end for event in voided)
    assert is_business_hours(start, zone_of(run, label["tenant"]))
    baseline = [event for event in run.events if event.type == "envelope.voided" and event.tenant == label["tenant"]]
    assert len(voided) > len(baseline) / 5  # a spike, not the everyday rate


def test_new_network(run: SimRun) -> None:
    label = label_of(run, "new_network")
    start, end = window(label)
    from_there = [event for event in run.events if event.payload["data"].get("ip_address") == label["ipAddress"]]
    assert len(from_there) >= 3
    assert all(start <= event.occurred_at <= end for event in from_there)
    assert {event.envelope_id for event in from_there} == set(label["envelopeIds"])
    for event in from_there:
        data = event.payload["data"]
        actor = data["sender"] if event.type in {"envelope.sent", "envelope.voided"} else data["signer"]
        assert actor["email"] == label["actor"]
    prefix = label["ipAddress"].rsplit(".", 1)[0] + "."
    assert not [
        event
        for event in run.events
        if event.payload["data"].get("ip_address", "").startswith(prefix) and event not in from_there
    ]


def test_stuck_envelopes(run: SimRun) -> None:
    label = label_of(run, "stuck_envelopes")
    start, end = window(label)
    sent = events_of(run, label["envelopeIds"], "envelope.sent")
    assert len(sent) == len(label["envelopeIds"]) >= 15
    assert all(start <= event.occurred_at <= end for event in sent)
    assert end - start <= timedelta(minutes=30)
    assert run.config.end - end >= timedelta(days=1)
    wanted = set(label["envelopeIds"])
    assert not [e for e in (*run.events, *run.upcoming) if e.envelope_id in wanted and e.type in TERMINAL_EVENTS]
    assert {run.envelopes[envelope_id].status for envelope_id in wanted} <= {"delivered", "viewed"}


def test_silent_feed(run: SimRun) -> None:
    label = label_of(run, "silent_feed")
    start, end = window(label)
    assert end - start >= timedelta(hours=4)
    assert is_business_hours(start, zone_of(run, label["tenant"]))
    tenant_events = [event for event in run.events if event.tenant == label["tenant"]]
    assert not [event for event in tenant_events if start <= event.occurred_at < end]
    # the same hours of the nearest earlier weekday are busy
    zone = zone_of(run, label["tenant"])
    shift = next(
        timedelta(days=days) for days in range(1, 5) if (start - timedelta(days=days)).astimezone(zone).weekday() < 5
    )
    assert start - shift >= run.config.start
    assert len([e for e in tenant_events if start - shift <= e.occurred_at < end - shift]) > 30


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incident_windows_hold_for_other_seeds(seed: int, run: SimRun) -> None:
    from signwatch.simulate import SimConfig, generate

    config = run.config
    other = generate(SimConfig(config.tenants, config.start, config.end, seed=seed))
    assert sorted(label["kind"] for label in other.labels) == sorted(INCIDENT_KINDS)
    for label in other.labels:
        start, end = window(label)
        ids = set(label.get("envelopeIds", ()))
        if label["kind"] == "silent_feed":
            assert not [e for e in other.events if e.tenant == label["tenant"] and start <= e.occurred_at < end]
        elif label["kind"] in {"off_hours_burst", "stuck_envelopes"}:
            assert all(start <= e.occurred_at <= end for e in events_of(other, sorted(ids), "envelope.sent"))
        elif label["kind"] == "void_spike":
            assert len(events_of(other, sorted(ids), "envelope.voided")) == len(ids)
            assert all(start <= e.occurred_at <= end for e in events_of(other, sorted(ids), "envelope.voided"))
        else:
            hits = [e for e in other.events if e.payload["data"].get("ip_address") == label["ipAddress"]]
            assert hits and all(start <= e.occurred_at <= end for e in hits)
