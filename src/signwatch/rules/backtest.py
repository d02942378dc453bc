"""Rules (design §7): backtests — the alerts a rule would have fired over a past range, by the live code.

`backtest` evaluates the rule with exactly the function the live engine uses (rules/evaluation.run) over
the whole range at once, so on the same stored data both yield the same alerts: same groups, same firing
and resolution minutes, same numbers.
"""

from __future__ import annotations

from datetime import datetime

from signwatch.events import to_us
from signwatch.rules.evaluation import rule_tenants, run, with_evidence
from signwatch.rules.spec import RuleSpec
from signwatch.store import Scope, Store
from signwatch.store.base import AlertRecord, RuleRecord

MINUTE_US = 60_000_000
MAX_DAYS = 400


class BadRange(ValueError):
    pass


def backtest(
    store: Store,
    rule: RuleRecord,
    spec: RuleSpec,
    start: datetime,
    end: datetime,
    scope: Scope,
    *,
    evidence: bool = True,
) -> list[AlertRecord]:
    """Alerts `spec` fires with event time in [start, end), for the rule's tenants the caller may see."""
    if end <= start:
        raise BadRange("from must be before to")
    if (end - start).days > MAX_DAYS:
        raise BadRange(f"a backtest covers at most {MAX_DAYS} days")
    first, last = to_us(start) // MINUTE_US, -(-to_us(end) // MINUTE_US)
    out: list[AlertRecord] = []
    for tenant in rule_tenants(rule, spec, store.list_tenants()):
        if not scope.allows(tenant.slug):
            continue
        for alert in run(store, rule.id, spec, tenant, first, last):
            out.append(with_evidence(store, spec, alert)[0] if evidence else alert)
    out.sort(key=lambda a: (a.fired_at, a.tenant, a.group_key))
    return out
