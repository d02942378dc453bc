"""Rules (design §7): the rule catalogue — create, change and list rules within a caller's tenants.

A rule covers its `tenant`, or else every tenant its author may see (kept with the rule as `tenants`), and
only callers who see all of those tenants see the rule: a rule never reveals another tenant's name.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from signwatch.events import rfc3339
from signwatch.rules.spec import RuleError, RuleSpec, parse_rule
from signwatch.store import Scope, Store
from signwatch.store.base import RuleRecord


class ForeignTenant(Exception):
    """The rule names a tenant the caller may not see."""


def visible(rule: RuleRecord, scope: Scope) -> bool:
    return scope.sees(None, rule.tenants)


def check_tenant(store: Store, spec: RuleSpec, scope: Scope) -> None:
    if spec.tenant is None:
        return
    if not scope.allows(spec.tenant):
        raise ForeignTenant(spec.tenant)
    if store.get_tenant(spec.tenant) is None:
        raise RuleError([("tenant", f"tenant: unknown tenant {spec.tenant!r}")])


def create(store: Store, body: Any, scope: Scope, by: str | None, now: datetime) -> tuple[RuleRecord, RuleSpec]:
    spec = parse_rule(body)
    check_tenant(store, spec, scope)
    record = RuleRecord(
        id="rl_" + secrets.token_hex(10),
        name=spec.name,
        tenants=frozenset({spec.tenant}) if spec.tenant else scope.tenants,
        spec=spec.wire(),
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    store.put_rule(record)
    return record, spec


def change(
    store: Store, rule: RuleRecord, body: Any, scope: Scope, now: datetime, *, merge: bool
) -> tuple[RuleRecord, RuleSpec]:
    """Replace (PUT) or merge-patch (PATCH, RFC 7396) a rule's body."""
    if merge:
        if not isinstance(body, dict):
            raise RuleError([("", "a rule patch is a JSON object")])
        body = _merge_patch(dict(rule.spec), body)
    spec = parse_rule(body)
    check_tenant(store, spec, scope)
    tenants = frozenset({spec.tenant}) if spec.tenant else (rule.tenants if merge else scope.tenants)
    updated = replace(rule, name=spec.name, tenants=tenants, spec=spec.wire(), updated_at=now)
    store.put_rule(updated)
    return updated, spec


def close_alerts(store: Store, rule_id: str, by: str, note: str, now: datetime) -> int:
    """Resolve a deleted or disabled rule's open alerts (nothing would ever clear them otherwise)."""
    from signwatch.alerts import alert_event

    open_alerts = store.open_alerts_of_rule(rule_id)
    for alert in open_alerts:
        store.annotate_alert(alert.id, "resolved", by, note, now, alert_event(alert, "resolved", now))
    return len(open_alerts)


def wire(rule: RuleRecord) -> dict[str, Any]:
    return {
        "id": rule.id,
        **rule.spec,
        "createdAt": rfc3339(rule.created_at),
        "updatedAt": rfc3339(rule.updated_at),
        "createdBy": rule.created_by,
    }


def _merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = _merge_patch(dict(target[key]), value)
        else:
            target[key] = value
    return target
