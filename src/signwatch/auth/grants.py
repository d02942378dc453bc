"""What a person may do, decided by their identity-provider groups (`signwatch groups map`).

A group mapping grants scopes on a set of tenants (or all). A token or session holds one scope set on one
tenant set, so a person in several mapped groups gets, for the tenants asked for (by default every tenant
any of their groups covers), exactly the scopes that are granted on *all* of those tenants: never more than
some group grants on a tenant. A person whose groups map nothing gets no grant at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from signwatch.auth.tokens import SCOPES
from signwatch.store import GroupMapping
from signwatch.store.identity_sql import group_key

SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Grant:
    scopes: frozenset[str]
    tenants: frozenset[str] | None  # None: every tenant


def grant_for(
    mappings: Iterable[GroupMapping], groups: Iterable[str], tenants: frozenset[str] | None = None
) -> Grant | None:
    """The grant of a member of `groups` for `tenants` (None: every tenant their groups cover), or None when
    no group is mapped or no scope covers those tenants."""
    keys = {group_key(g) for g in groups}
    matched = [m for m in mappings if group_key(m.group_name) in keys]
    if not matched:
        return None
    if tenants is None:
        tenants = None if any(m.tenants is None for m in matched) else _union(matched)
    granting = {s: [m for m in matched if s in m.scopes or "admin" in m.scopes] for s in SCOPES}
    scopes = frozenset(s for s in SCOPES if _covers(granting[s], tenants))
    return Grant(scopes, tenants) if scopes else None


def _covers(mappings: list[GroupMapping], tenants: frozenset[str] | None) -> bool:
    if not mappings:
        return False
    if any(m.tenants is None for m in mappings):
        return True
    if tenants is None:
        return False
    return tenants <= _union(mappings)


def _union(mappings: list[GroupMapping]) -> frozenset[str]:
    return frozenset().union(*(m.tenants or () for m in mappings))


def subscribed(mappings: Iterable[GroupMapping], tenant: str, severity: str) -> bool:
    """Whether some mapped group receives alerts of `tenant` at `severity`."""
    met = thresholds_met(severity)
    return any(
        m.alert_severity in met and (m.tenants is None or tenant in m.tenants) for m in mappings if m.alert_severity
    )


def thresholds_met(severity: str) -> frozenset[str]:
    """The mapped minimum severities an alert of `severity` meets (`high` → low, medium, high)."""
    if severity not in SEVERITIES:
        return frozenset()
    return frozenset(SEVERITIES[: SEVERITIES.index(severity) + 1])


def parse_severity_floor(text: str) -> str:
    """`severity>=high`, `severity≥high`, `>=high` or `high` → `high`; anything else raises ValueError."""
    value = text.strip().lower().replace("≥", ">=").replace(" ", "")
    value = value.removeprefix("severity").removeprefix(">=")
    if value not in SEVERITIES:
        raise ValueError(f"--alerts {text!r}: expected severity>=LEVEL with LEVEL one of {', '.join(SEVERITIES)}")
    return value
