"""Detection quality of the default rule pack on the simulator's labelled incidents, and the engine's cost.

Generates N days x 3 tenants of simulated Atlas traffic (with the five incident kinds, and again without any),
stores it, installs the default pack, and evaluates it two ways with the same engine code: the live engine
following the event log page by page (as `serve` does for back-dated history), and a backtest of every rule
over the whole run. Reports recall, precision and false alerts per tenant, and whether live and backtest
agree alert for alert.

Usage: python bench/detection.py [--days 30] [--seeds 7,8,9] [--db sqlite|postgresql] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signwatch.crypto import SecretBox
from signwatch.events import Event, parse_time
from signwatch.geo import GeoResolver
from signwatch.rules.backtest import backtest
from signwatch.rules.defaults import install_defaults
from signwatch.rules.live import EngineSettings, RuleEngine
from signwatch.rules.spec import parse_rule
from signwatch.simulate import SimConfig, demo_tenants, generate
from signwatch.sources.atlas import parse_event
from signwatch.store import Scope, SqlStore, WriteItem, open_store
from signwatch.store.base import AlertFilter, AlertRecord
from signwatch.tenants import add_tenant

END = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; the run covers the days before it
# Which rule of the pack answers which incident kind, and how late after the label's end it may fire.
ANSWERS = {
    "off_hours_burst": ("Off-hours send burst", timedelta(hours=1)),
    "void_spike": ("Void-rate spike", timedelta(hours=1)),
    "new_network": ("New network per user", timedelta(hours=1)),
    "stuck_envelopes": ("Envelopes pending past SLA", timedelta(days=1, hours=2)),
    "silent_feed": ("Feed silent", timedelta(hours=1)),
}


@dataclass
class Score:
    labels: int = 0
    detected: int = 0
    alerts: int = 0
    true_alerts: int = 0
    false_by_tenant: Counter[str] | None = None

    @property
    def recall(self) -> float:
        return self.detected / self.labels if self.labels else 1.0

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0


def load(store: SqlStore, days: int, seed: int, incidents: bool) -> tuple[list[dict[str, Any]], int]:
    tenants = demo_tenants(3)
    run = generate(SimConfig(tenants, END - timedelta(days=days), END, seed=seed, incidents=incidents))
    box = SecretBox.from_passphrase("bench")
    for t in tenants:
        add_tenant(store, box, t.slug, t.api_key, t.timezone)
    geo = GeoResolver()
    events: list[Event] = [
        parse_event(e.payload, tenant=e.tenant, received_at=e.occurred_at, geo=geo.lookup) for e in run.events
    ]
    for k in range(0, len(events), 5000):
        store.write_batch([WriteItem(None, e) for e in events[k : k + 5000]])
    return run.labels, len(events)


def run_live(store: SqlStore) -> tuple[list[AlertRecord], float, int]:
    """Follow the log as `serve` does; the clock sits at the run's end (so the stream drives time)."""
    engine = RuleEngine(store, EngineSettings(page=2000), clock=lambda: END + timedelta(minutes=3))
    started = time.perf_counter()
    cycles = 0
    while True:
        report = engine.cycle()
        cycles += 1
        if report.folded == 0:
            break
    engine.cycle()  # one tick at the end: time-driven rules catch up to the frontier
    elapsed = time.perf_counter() - started
    alerts, _ = store.list_alerts(Scope.all(), AlertFilter(), 0, 100_000)
    return alerts, elapsed, cycles


def run_backtest(store: SqlStore, start: datetime) -> tuple[list[AlertRecord], float]:
    out: list[AlertRecord] = []
    started = time.perf_counter()
    for rule in store.list_rules():
        spec = parse_rule(rule.spec)
        out.extend(backtest(store, rule, spec, start, END, Scope.all(), evidence=False))
    return out, time.perf_counter() - started


def score(alerts: list[AlertRecord], labels: list[dict[str, Any]]) -> Score:
    s = Score(labels=len(labels), alerts=len(alerts), false_by_tenant=Counter())
    hit_labels: set[int] = set()
    for a in alerts:
        matched = _same_envelopes(a, labels)
        for i, label in enumerate(labels):
            rule, slack = ANSWERS[label["kind"]]
            start, end = parse_time(label["start"]), parse_time(label["end"])
            if a.rule_name != rule or a.tenant != label["tenant"]:
                continue
            if not start - timedelta(minutes=5) <= a.fired_at <= end + slack:
                continue
            if label.get("actor") and a.group_key not in (label["actor"], label["tenant"]):
                continue
            matched = True
            hit_labels.add(i)
        if matched:
            s.true_alerts += 1
        else:
            assert s.false_by_tenant is not None
            s.false_by_tenant[a.tenant] += 1
    s.detected = len(hit_labels)
    return s


def _same_envelopes(a: AlertRecord, labels: list[dict[str, Any]]) -> bool:
    """Whether the alert's evidence names envelopes of a labelled incident of its tenant (a true alert about
    that incident, even from another rule: the stuck rule on a night burst's unsigned envelopes)."""
    named = set(a.details.get("evidence", {}).get("envelopeIds", []))
    return any(label["tenant"] == a.tenant and named & set(label.get("envelopeIds", [])) for label in labels)


def missed(alerts: list[AlertRecord], labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [label for label in labels if score(alerts, [label]).detected == 0]


def key(a: AlertRecord) -> tuple[str, str, str, str, str]:
    return (a.rule_name, a.tenant, a.group_key, a.fired_at.isoformat(), str(a.resolved_at))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seeds", default="7")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="Keep the databases in this directory")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for incidents in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                where = args.keep or Path(tmp)
                where.mkdir(parents=True, exist_ok=True)
                store = open_store(f"sqlite:///{where / f'detection-{seed}-{incidents}.db'}")
                store.upgrade()
                labels, n = load(store, args.days, seed, incidents)
                install_defaults(store, tenant=None, active=False, now=END - timedelta(days=args.days))
                live, live_s, cycles = run_live(store)
                back, back_s = run_backtest(store, END - timedelta(days=args.days))
                live_keys, back_keys = {key(a) for a in live}, {key(a) for a in back}
                sc = score(live, labels)
                row = {
                    "seed": seed,
                    "incidents": incidents,
                    "events": n,
                    "labels": sc.labels,
                    "detected": sc.detected,
                    "alerts": sc.alerts,
                    "recall": round(sc.recall, 3),
                    "precision": round(sc.precision, 3),
                    "falseByTenant": dict(sc.false_by_tenant or {}),
                    "liveSeconds": round(live_s, 2),
                    "liveCycles": cycles,
                    "backtestSeconds": round(back_s, 2),
                    "liveEqualsBacktest": live_keys == back_keys,
                    "onlyLive": sorted(live_keys - back_keys)[:5],
                    "onlyBacktest": sorted(back_keys - live_keys)[:5],
                    "missed": [(m["kind"], m["tenant"], m["start"], m["end"]) for m in missed(live, labels)],
                    "falseAlerts": [
                        (a.rule_name, a.tenant, a.group_key, a.fired_at.isoformat(), a.details.get("explanation"))
                        for a in live
                        if key(a) in {key(b) for b in live} and not _true(a, labels)
                    ][:10],
                }
                results.append(row)
                print(json.dumps(row, default=str))
                store.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def _true(a: AlertRecord, labels: list[dict[str, Any]]) -> bool:
    return score([a], labels).true_alerts == 1


if __name__ == "__main__":
    main()
