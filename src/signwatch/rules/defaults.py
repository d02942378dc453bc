"""Rules (design §7): the default rule pack — what `signwatch rules install-defaults` installs.

Six rules, each tuned on the simulator's labelled incidents over 30 days x 3 tenants (bench/detection.py)
and each with a runbook in docs/runbooks/ that its alerts link to. Installed in shadow mode unless asked
otherwise. Installing again adds what is missing and leaves the rules already there as they are (matched by
name and tenant), so local tuning survives; `--active` then promotes them from shadow to active.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from signwatch.rules.catalog import create
from signwatch.rules.spec import parse_rule
from signwatch.store import Scope, Store
from signwatch.store.base import RuleRecord

RUNBOOKS = "docs/runbooks"

PACK: tuple[dict[str, Any], ...] = (
    {
        "name": "Void-rate spike",
        "kind": "ratio",
        "condition": "envelope.voided",
        "denominator": "envelope.sent",
        "windowMinutes": 60,
        "factor": 3,
        "baselineDays": 7,
        "minCount": 8,
        "severity": "high",
        "runbook": f"{RUNBOOKS}/void-rate-spike.md",
    },
    {
        "name": "Decline-rate spike",
        "kind": "ratio",
        "condition": "envelope.declined",
        "denominator": "envelope.sent",
        "windowMinutes": 60,
        "factor": 3,
        "baselineDays": 7,
        "minCount": 8,
        "severity": "medium",
        "runbook": f"{RUNBOOKS}/decline-rate-spike.md",
    },
    {
        "name": "Envelopes pending past SLA",
        "kind": "stuck",
        "condition": "envelope.sent",
        "groupBy": "actor",
        "slaMinutes": 1440,
        "windowMinutes": 60,
        "threshold": 15,
        "severity": "medium",
        "runbook": f"{RUNBOOKS}/envelopes-pending-past-sla.md",
    },
    {
        "name": "Off-hours send burst",
        "kind": "threshold",
        "condition": "envelope.sent",
        "groupBy": "actor",
        "windowMinutes": 60,
        "threshold": 20,
        "schedule": {"offHoursOnly": True},
        "severity": "high",
        "runbook": f"{RUNBOOKS}/off-hours-send-burst.md",
    },
    {
        "name": "New network per user",
        "kind": "new_network",
        "groupBy": "actor",
        "network": "asn",
        "newTo": "tenant",
        "lookbackDays": 30,
        "minHistoryDays": 7,
        "windowMinutes": 60,
        "severity": "medium",
        "runbook": f"{RUNBOOKS}/new-network-per-user.md",
    },
    {
        "name": "Feed silent",
        "kind": "flatline",
        "condition": "*",
        "windowMinutes": 60,
        "minExpected": 20,
        "baselineDays": 28,
        "minHistoryDays": 7,
        "severity": "high",
        "runbook": f"{RUNBOOKS}/feed-silent.md",
    },
)

# The simulator's incident kinds and the default rule meant to catch each (demo summary, bench/detection.py).
DEFAULT_FOR = {
    "off_hours_burst": "Off-hours send burst",
    "void_spike": "Void-rate spike",
    "new_network": "New network per user",
    "stuck_envelopes": "Envelopes pending past SLA",
    "silent_feed": "Feed silent",
}


def install_defaults(
    store: Store, *, tenant: str | None, active: bool, now: datetime, by: str = "install-defaults"
) -> list[tuple[RuleRecord, str]]:
    """Install the pack; returns each rule with what happened to it: `installed`, `kept` (already there: your
    tuning, recipients and mode stay as they are) or `activated` (already there, switched to active)."""
    existing = {(r.spec.get("name"), r.spec.get("tenant")): r for r in store.list_rules()}
    out: list[tuple[RuleRecord, str]] = []
    for body in PACK:
        body = {**body, "mode": "active" if active else "shadow", "tenant": tenant}
        kept = existing.get((body["name"], tenant))
        if kept is None:
            record, _ = create(store, body, Scope.all(), by, now)
            out.append((record, "installed"))
        elif active and kept.spec.get("mode") != "active":
            spec = parse_rule({**kept.spec, "mode": "active"})
            record = replace(kept, spec=spec.wire(), updated_at=now)
            store.put_rule(record)
            out.append((record, "activated"))
        else:
            out.append((kept, "kept"))
    return out
