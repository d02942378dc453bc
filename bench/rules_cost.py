"""Rules engine cost: evaluation per ingested event, alert latency through `serve`, and backtests over 1M events.

1. Evaluation cost. Simulated Atlas traffic (3 demo tenants, default volume) is stored for 8 days and the
   engine folds it (no rules yet). On copies of that database, the next day of events is then streamed in
   live-like batches (a commit of `batch` events, then one `RuleEngine.cycle()`, as `serve` cycles after each
   group commit) with 0 rules (fold only) and with 50 active rules (the 6 default-pack rules x 8 with varied
   parameters, groupBy and schedules, plus 2 anomaly rules); batches of 20 and of 500 events. Reported: cycle
   time per streamed event (µs), split into reading the log, folding it into rollups, evaluating (loading
   rule inputs, computing, reading the kept alerts, attaching evidence) and writing the alert changes.
2. Alert latency. A real `signwatch serve` (SQLite unless --db) with 8 days of folded history, the 50 rules
   and one probe rule (`envelope.voided` >= 1 per actor in 1 minute, no cooldown) takes a steady background
   load of signed webhooks (event time = now) while probes, each a void by a new actor, are sent; a poller
   reads the store's `alerts` table every 3 ms. Latency = probe's 2xx answer -> its alert row visible.
3. Backtests. About 1M events over 30 days (3 tenants, users and volume scaled) are stored and folded by the
   engine (large pages); then each default-pack rule is backtested over the 30 days, without and with evidence.

Everything but the server runs in this process, on a fresh database per part (temp dir for SQLite; with
--db postgresql://.../NAME, databases NAME_rc_* are created, ANALYZEd after bulk loads, and dropped).
--quick shrinks every part for a smoke run (< 1 min); --profile DIR writes cProfile stats of the 50-rule
streams and of the backtests; --parts 1,3 runs only some parts; --keep DIR keeps the databases and serve.log.

    .venv/bin/python bench/rules_cost.py [--quick] [--db URL] [--out FILE] [--parts 1,2,3] [--profile DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import os
import platform
import pstats
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy import create_engine, select, text

import signwatch.rules.inputs
import signwatch.rules.live
from signwatch.crypto import SecretBox
from signwatch.events import Event, rfc3339, utcnow
from signwatch.geo import GeoResolver
from signwatch.rules.backtest import backtest
from signwatch.rules.catalog import create
from signwatch.rules.defaults import PACK, install_defaults
from signwatch.rules.evaluation import run as evaluation_run
from signwatch.rules.live import EngineSettings, RuleEngine
from signwatch.rules.spec import parse_rule
from signwatch.simulate import SimConfig, SimEvent, SimTenant, demo_tenants, generate
from signwatch.sources.atlas import parse_event
from signwatch.sources.signatures import sign
from signwatch.store import Scope, SqlStore, WriteItem, open_store
from signwatch.store import schema as t
from signwatch.store.base import AlertFilter
from signwatch.store.sql import normalize_url
from signwatch.tenants import add_tenant

SIGNWATCH = str(Path(sys.executable).with_name("signwatch"))
SECRET_KEY = "rules-cost-bench-passphrase"
T0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: part 1 streams the day after T0, part 3 ends at T0
SEED = 7
PROBE_RULE = {
    "name": "probe",
    "condition": "envelope.voided",
    "threshold": 1,
    "windowMinutes": 1,
    "groupBy": "actor",
    "cooldownMinutes": 0,
    "mode": "active",
}
LIFECYCLE = ("envelope.sent", "envelope.delivered", "envelope.viewed", "envelope.signed", "envelope.completed")
SIGNER_STEPS = frozenset(LIFECYCLE[1:4])
IPS = ("81.2.69.142", "185.86.151.11", "52.95.110.1", "94.130.10.5", "2a02:8106:1::1")
UNITS = ("sales", "legal", "hr", "procurement")
BUCKETS = ("read", "fold", "evaluate", "load", "compute", "kept", "evidence", "write")


@dataclass(frozen=True)
class Plan:
    """How big each part is (full run or --quick)."""

    history_days: float = 8.0
    stream_days: float = 1.0
    batches: tuple[int, ...] = (20, 500)
    serve_history_days: float = 8.0
    load_rate: float = 50.0
    probes: int = 300
    probe_rate: float = 4.0
    warmup_s: float = 10.0
    backtest_days: int = 30
    backtest_users: int = 300
    backtest_volume: float = 11.5  # envelopes per user per weekday: 3 x 300 users x 11.5 ~ 1M events in 30 days


QUICK = Plan(
    history_days=2.0,
    stream_days=0.15,
    serve_history_days=1.0,
    load_rate=20.0,
    probes=30,
    probe_rate=5.0,
    warmup_s=2.0,
    backtest_users=12,
    backtest_volume=5.0,
)


# -- databases ---------------------------------------------------------------------------------------------
class Databases:
    """Fresh databases per part: SQLite files in the work directory, or PostgreSQL databases NAME_rc_*."""

    def __init__(self, base: str, workdir: Path) -> None:
        self.base = base
        self.workdir = workdir
        self.created: list[str] = []

    @property
    def kind(self) -> str:
        return "postgresql" if self.base.startswith("postgresql") else "sqlite"

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / f'{name}.db'}"
        parts = urlsplit(self.base)
        return urlunsplit(parts._replace(path=f"/{self._pg_name(name)}"))

    def fresh(self, name: str) -> str:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                (self.workdir / f"{name}.db{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self._pg_name(name)}"', f'CREATE DATABASE "{self._pg_name(name)}"')
            self.created.append(self._pg_name(name))
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        """A copy of database `source` (closed by the caller) as `name`."""
        if self.kind == "sqlite":
            self.fresh(name)
            src = sqlite3.connect(self.workdir / f"{source}.db")
            dst = sqlite3.connect(self.workdir / f"{name}.db")
            with contextlib.closing(src), contextlib.closing(dst):
                src.backup(dst)
            return self.url(name)
        target, template = self._pg_name(name), self._pg_name(source)
        self._admin(f'DROP DATABASE IF EXISTS "{target}"', f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
        self.created.append(target)
        return self.url(name)

    def drop_all(self) -> None:
        if self.kind == "postgresql" and self.created:
            self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in reversed(self.created)))

    def _pg_name(self, name: str) -> str:
        return f"{urlsplit(self.base).path.lstrip('/') or 'signwatch'}_rc_{name}"

    def _admin(self, *statements: str) -> None:
        parts = urlsplit(self.base)
        admin = create_engine(normalize_url(urlunsplit(parts._replace(path="/postgres"))), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            admin.dispose()


def add_tenants(store: SqlStore, tenants: Sequence[SimTenant]) -> None:
    box = SecretBox.from_passphrase(SECRET_KEY)
    for tenant in tenants:
        add_tenant(store, box, tenant.slug, tenant.api_key, tenant.timezone)


def store_events(store: SqlStore, events: Sequence[SimEvent], geo: GeoResolver, chunk: int = 5000) -> int:
    """Parse simulated deliveries as the webhook receiver does and append them, `chunk` per transaction."""
    stored, analyzed = 0, 5000
    for k in range(0, len(events), chunk):
        parsed = [as_event(e, geo) for e in events[k : k + chunk]]
        stored += sum(o == "stored" for o in store.write_batch([WriteItem(None, e) for e in parsed]))
        if stored >= 2 * analyzed:
            analyze(store)
            analyzed = stored
    analyze(store)
    return stored


def analyze(store: SqlStore) -> None:
    """PostgreSQL only: refresh planner statistics, as autovacuum would as tables grow (the PostgreSQL this
    bench was written on runs with autovacuum off; never-analyzed tables there get plans that slow a bulk load
    down to ~100 events/s). SQLite is left as signwatch leaves it."""
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def as_event(e: SimEvent, geo: GeoResolver) -> Event:
    return parse_event(e.payload, tenant=e.tenant, received_at=e.occurred_at, geo=geo.lookup)


def catch_up(store: SqlStore, page: int = 5000) -> tuple[int, float]:
    """Run engine cycles until the log is folded; returns (events folded, seconds)."""
    engine = RuleEngine(store, EngineSettings(page=page))
    folded = 0
    started = time.perf_counter()
    while (n := engine.cycle().folded) > 0:
        folded += n
    took = time.perf_counter() - started
    analyze(store)
    return folded, took


# -- the 50 rules ------------------------------------------------------------------------------------------
GROUPS = {
    "ratio": ("tenant", "businessUnit", "actor", "country"),
    "stuck": ("actor", "tenant", "businessUnit"),
    "threshold": ("actor", "tenant", "businessUnit", "country"),
    "new_network": ("actor", "tenant"),
    "flatline": ("tenant", "businessUnit", "country"),
}
WINDOWS = (60, 30, 120, 15, 60, 240, 45, 90)
SCHEDULES: tuple[dict[str, Any], ...] = ({}, {"offHoursOnly": True}, {"businessHoursOnly": True})
SCHEDULED = ("threshold", "ratio", "flatline")  # the kinds a schedule applies to


def fifty_rules() -> list[dict[str, Any]]:
    """The default pack x 8 (variant 0 as shipped), plus 2 anomaly rules; all active."""
    out: list[dict[str, Any]] = []
    for i in range(8):
        for base in PACK:
            rule = {**base, "name": f"{base['name']} #{i}", "mode": "active"}
            if i:
                kind = str(base["kind"])
                rule["groupBy"] = GROUPS[kind][i % len(GROUPS[kind])]
                rule["windowMinutes"] = WINDOWS[i]
                if kind in SCHEDULED:
                    rule["schedule"] = SCHEDULES[i % 3]
                rule.update(_tuned(kind, i))
            out.append(rule)
    out.append(
        {
            "name": "Send volume anomaly",
            "kind": "anomaly",
            "condition": "envelope.sent",
            "groupBy": "businessUnit",
            "minHistoryDays": 3,
            "mode": "active",
        }
    )
    out.append(
        {
            "name": "Completion anomaly",
            "kind": "anomaly",
            "condition": "envelope.completed",
            "baselineDays": 14,
            "minHistoryDays": 3,
            "sensitivity": 0.95,
            "mode": "active",
        }
    )
    return out


def _tuned(kind: str, i: int) -> dict[str, Any]:
    if kind == "ratio":
        return {"factor": (2, 3, 4)[i % 3], "baselineDays": (3, 7, 14)[i % 3], "minCount": (4, 8, 12)[i % 3]}
    if kind == "stuck":
        return {"slaMinutes": (720, 1440, 2880)[i % 3], "threshold": (5, 15, 30)[i % 3]}
    if kind == "threshold":
        return {"threshold": (10, 20, 40, 80)[i % 4]}
    if kind == "new_network":
        return {
            "network": ("prefix", "asn")[i % 2],
            "newTo": ("group", "tenant")[i % 2],
            "lookbackDays": (14, 30)[i % 2],
        }
    return {"minExpected": (5, 10, 20)[i % 3], "baselineDays": (14, 28)[i % 2], "minHistoryDays": 3}


def install(store: SqlStore, bodies: Sequence[dict[str, Any]], now: datetime) -> list[str]:
    return [create(store, body, Scope.all(), "rules-cost", now)[0].id for body in bodies]


# -- part 1: evaluation cost per event ---------------------------------------------------------------------
class Meter:
    """Seconds spent in named steps of `RuleEngine.cycle`, by wrapping the functions it calls."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.kinds: defaultdict[str, float] = defaultdict(float)  # evaluation.run (load + compute) by rule kind
        self.runs: Counter[str] = Counter()

    def by_kind(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(store: Any, rule_id: str, spec: Any, *args: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(store, rule_id, spec, *args)
            finally:
                self.kinds[spec.kind] += time.perf_counter() - started
                self.runs[spec.kind] += 1

        return wrapper

    def timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        return wrapper

    @contextlib.contextmanager
    def attached(self, store: SqlStore, engine: RuleEngine) -> Iterator[None]:
        targets: list[tuple[object, str, str]] = [
            (store, "read_events", "read"),
            (store, "apply_rollups", "fold"),
            (engine, "evaluate", "evaluate"),
            (signwatch.rules.inputs, "load", "load"),
            (store, "alerts_of_rule", "kept"),
            (signwatch.rules.live, "with_evidence", "evidence"),
            (store, "apply_alert_changes", "write"),
        ]
        with contextlib.ExitStack() as stack:
            for obj, name, label in targets:
                stack.enter_context(mock.patch.object(obj, name, self.timed(label, getattr(obj, name))))
            stack.enter_context(mock.patch.object(signwatch.rules.live, "run", self.by_kind(evaluation_run)))
            yield

    def split(self) -> dict[str, float]:
        s = self.seconds
        return {**{k: s[k] for k in BUCKETS}, "compute": s["evaluate"] - s["load"] - s["kept"] - s["evidence"]}


@dataclass
class StreamResult:
    rules: int
    batch: int
    events: int
    cycles: int
    seconds: float
    split: dict[str, float]
    alerts: int
    max_cycle_ms: float
    kinds: dict[str, tuple[int, float]]  # kind -> (evaluations, seconds in load + compute)

    def us(self, seconds: float) -> float:
        return seconds / max(self.events, 1) * 1e6


@dataclass
class EvalResult:
    history_events: int
    history_fold_s: float
    stream_events: int
    stream_minutes: float  # event time the stream covers
    batches: tuple[int, ...]
    runs: list[StreamResult] = field(default_factory=list)


def stream(url: str, events: Sequence[Event], batch: int, rules: int, profile: Path | None) -> StreamResult:
    store = open_store(url)
    try:
        if rules:
            install(store, fifty_rules()[:rules], utcnow())
        engine = RuleEngine(store)
        meter = Meter()
        total, cycles, longest = 0.0, 0, 0.0
        profiler = cProfile.Profile() if profile else None
        with meter.attached(store, engine):
            for k in range(0, len(events), batch):
                store.write_batch([WriteItem(None, e) for e in events[k : k + batch]])
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                engine.cycle()
                if profiler:
                    profiler.disable()
                took = time.perf_counter() - started
                total, cycles, longest = total + took, cycles + 1, max(longest, took)
        if profiler and profile:
            profiler.dump_stats(profile / f"stream-{rules}rules-batch{batch}.pstats")
        alerts = len(store.list_alerts(Scope.all(), AlertFilter(), 0, 1_000_000)[0])
        kinds = {k: (meter.runs[k], meter.kinds[k]) for k in meter.kinds}
        return StreamResult(rules, batch, len(events), cycles, total, meter.split(), alerts, longest * 1000, kinds)
    finally:
        store.close()


def evaluation_cost(plan: Plan, dbs: Databases, profile: Path | None, say: Callable[[str], None]) -> EvalResult:
    tenants = demo_tenants(3)
    start = T0 - timedelta(days=plan.history_days)
    run = generate(SimConfig(tenants, start, T0 + timedelta(days=plan.stream_days), seed=SEED))
    history = [e for e in run.events if e.occurred_at < T0]
    geo = GeoResolver()
    upcoming = [as_event(e, geo) for e in run.events if e.occurred_at >= T0]
    store = open_store(dbs.fresh("history"))
    try:
        store.upgrade()
        add_tenants(store, tenants)
        store_events(store, history, geo)
        folded, fold_s = catch_up(store)
    finally:
        store.close()
    result = EvalResult(folded, fold_s, len(upcoming), plan.stream_days * 1440, plan.batches)
    say(f"part 1: {folded} history events folded in {fold_s:.1f} s; streaming {len(upcoming)} events")
    for rules in (0, 50):
        for batch in plan.batches:
            url = dbs.copy("history", f"stream_{rules}_{batch}")
            r = stream(url, upcoming, batch, rules, profile if rules else None)
            result.runs.append(r)
            say(f"  {rules} rules, batch {batch}: {r.us(r.seconds):.0f} µs/event over {r.cycles} cycles")
    return result


# -- part 2: alert latency through `serve` -----------------------------------------------------------------
@dataclass
class LatencyResult:
    probes: int
    seen: int
    latencies_ms: list[float]
    load_sent: int
    load_seconds: float
    statuses: dict[str, int]
    alerts_open: int
    history_events: int
    unseen: list[str]

    def q(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1.0) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def server(url: str, workdir: Path) -> Iterator[str]:
    """`signwatch serve` on a free port in a process group of its own; SIGINT, then SIGKILL, on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNWATCH_")}
    env.update(SIGNWATCH_DB=url, SIGNWATCH_SECRET_KEY=SECRET_KEY)
    log = workdir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [SIGNWATCH, "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not healthy(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"signwatch serve did not start; see {log}")
            time.sleep(0.1)
        yield base
    finally:
        for sig, grace in ((signal.SIGINT, 15.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
                break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers left behind by a parent that did exit


def delivery(event: str, n: str, tenant: str, sender: str, signer: str | None = None) -> bytes:
    body: dict[str, Any] = {
        "id": f"evt_rc_{n}",
        "event": event,
        "created_at": rfc3339(utcnow()),
        "envelope_id": f"env_rc_{n.split('.')[0]}",
        "data": {
            "sender": {"user_id": f"usr_{sender.split('@')[0]}", "email": sender},
            "ip_address": IPS[zlib.crc32(sender.encode()) % len(IPS)],
            "user_agent": "Mozilla/5.0",
            "metadata": {
                "client_reference_id": f"CRM-{n}",
                "business_unit": UNITS[zlib.crc32(n.encode()) % len(UNITS)],
            },
        },
    }
    if signer:
        body["data"]["signer"] = {"email": signer}
    return orjson.dumps(body)


def post(client: httpx.Client, base: str, tenant: SimTenant, raw: bytes) -> int:
    headers = {"X-Atlas-Signature": sign(raw, tenant.api_key), "Content-Type": "application/json"}
    try:
        return client.post(f"{base}/webhooks/atlas/{tenant.slug}", content=raw, headers=headers).status_code
    except httpx.HTTPError:
        return 0


def background(
    base: str, tenants: Sequence[SimTenant], rate: float, lane: int, stop: threading.Event, statuses: Counter[str]
) -> None:
    """One lane of the steady load: envelope lifecycles (never a void) by 400 senders a tenant, at `rate`/s."""
    interval, due = 1.0 / rate, time.perf_counter()
    with httpx.Client(timeout=10.0) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            due += interval
            envelope, step = divmod(n, len(LIFECYCLE))
            tenant = tenants[envelope % len(tenants)]
            sender = f"user{(envelope * 7 + lane) % 400}@{tenant.slug}.bench"
            kind = LIFECYCLE[step]
            signer = f"client{envelope % 50}@customer.example" if kind in SIGNER_STEPS else None
            status = post(
                client, base, tenant, delivery(kind, f"{lane}x{envelope}.{step}", tenant.slug, sender, signer)
            )
            statuses[str(status)] += 1
            time.sleep(max(0.0, due - time.perf_counter()))


def alert_latency(plan: Plan, dbs: Databases, workdir: Path, say: Callable[[str], None]) -> LatencyResult:
    tenants = demo_tenants(3)
    url = dbs.fresh("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNWATCH_")}
    env.update(SIGNWATCH_DB=url, SIGNWATCH_SECRET_KEY=SECRET_KEY)
    for tn in tenants:
        add = [SIGNWATCH, "tenants", "add", tn.slug, "--api-key", tn.api_key, "--timezone", tn.timezone]
        subprocess.run(add, env=env, cwd=workdir, check=True, capture_output=True, timeout=120)
    store = open_store(url)
    try:
        run = generate(SimConfig.last_days(tenants, plan.serve_history_days, utcnow(), seed=SEED))
        store_events(store, run.events, GeoResolver())
        history, _ = catch_up(store)
        install(store, fifty_rules(), utcnow())
        probe_rule = install(store, [PROBE_RULE], utcnow())[0]
    finally:
        store.close()
    say(f"part 2: {history} history events folded; starting signwatch serve with 51 rules")
    reader = open_store(url)
    stop, done = threading.Event(), threading.Event()
    statuses: Counter[str] = Counter()
    acked: dict[str, float] = {}
    seen: dict[str, float] = {}
    probe_status: Counter[str] = Counter()

    def poll() -> None:
        c, last = t.alerts.c, 0
        query = select(c.seq, c.group_key).where(c.rule_id == probe_rule)
        while not done.is_set():
            with reader.engine.connect() as conn:
                rows = conn.execute(query.where(c.seq > last)).all()
            now = time.perf_counter()
            for seq, key in rows:
                seen.setdefault(key, now)
                last = max(last, seq)
            time.sleep(0.003)

    def probe_all(base: str) -> None:
        with httpx.Client(timeout=10.0) as client:
            for i in range(plan.probes):
                tenant = tenants[i % len(tenants)]
                actor = f"probe{i}.{os.getpid()}@probe.example"
                status = post(
                    client, base, tenant, delivery("envelope.voided", f"p{os.getpid()}x{i}", tenant.slug, actor)
                )
                if 200 <= status < 300:
                    acked[actor] = time.perf_counter()
                probe_status[str(status)] += 1
                gap = 1.0 / plan.probe_rate
                time.sleep(gap * (0.5 + (i * 0.618) % 1.0))  # jitter, so probes land anywhere in a cycle

    try:
        with server(url, workdir) as base:
            lanes = 4
            threads = [
                threading.Thread(
                    target=background, args=(base, tenants, plan.load_rate / lanes, lane, stop, statuses), daemon=True
                )
                for lane in range(lanes)
            ]
            load_started = time.perf_counter()
            for th in threads:
                th.start()
            time.sleep(plan.warmup_s)
            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            probe_all(base)
            deadline = time.perf_counter() + 15
            while len(seen) < len(acked) and time.perf_counter() < deadline:
                time.sleep(0.05)
            stop.set()
            for th in threads:
                th.join(timeout=15)
            load_s = time.perf_counter() - load_started
            done.set()
            poller.join(timeout=5)
        with reader.engine.connect() as conn:
            open_alerts = conn.execute(select(t.alerts.c.seq).where(t.alerts.c.state == "open")).all()
    finally:
        done.set()
        reader.close()
    latencies = [max(0.0, seen[a] - at) * 1000 for a, at in acked.items() if a in seen]
    unseen = sorted(a for a in acked if a not in seen)
    statuses.update({f"probe {k}": v for k, v in probe_status.items()})
    return LatencyResult(
        plan.probes,
        len(latencies),
        latencies,
        sum(statuses.values()) - plan.probes,
        load_s,
        dict(statuses),
        len(open_alerts),
        history,
        unseen,
    )


# -- part 3: backtests over ~1M events ---------------------------------------------------------------------
@dataclass
class BacktestResult:
    events: int
    generate_s: float
    ingest_s: float
    fold_s: float
    rows: list[tuple[str, str, int, float, float]]  # rule, kind, alerts, seconds without / with evidence


def backtests(plan: Plan, dbs: Databases, profile: Path | None, say: Callable[[str], None]) -> BacktestResult:
    tenants = demo_tenants(3, users=plan.backtest_users)
    start = T0 - timedelta(days=plan.backtest_days)
    started = time.perf_counter()
    run = generate(SimConfig(tenants, start, T0, seed=SEED, envelopes_per_user_per_day=plan.backtest_volume))
    generate_s = time.perf_counter() - started
    say(f"part 3: generated {len(run.events)} events in {generate_s:.0f} s")
    store = open_store(dbs.fresh("backtest"))
    try:
        store.upgrade()
        add_tenants(store, tenants)
        started = time.perf_counter()
        stored = store_events(store, run.events, GeoResolver())
        ingest_s = time.perf_counter() - started
        del run
        folded, fold_s = catch_up(store, page=50_000)
        say(f"  stored in {ingest_s:.0f} s, folded {folded} in {fold_s:.0f} s")
        install_defaults(store, tenant=None, active=False, now=T0)
        rows: list[tuple[str, str, int, float, float]] = []
        profiler = cProfile.Profile() if profile else None
        order = [str(body["name"]) for body in PACK]
        for rule in sorted(store.list_rules(), key=lambda r: order.index(r.name)):
            spec = parse_rule(rule.spec)
            took = []
            for evidence in (False, True):
                began = time.perf_counter()
                if profiler:
                    profiler.enable()
                alerts = backtest(store, rule, spec, start, T0, Scope.all(), evidence=evidence)
                if profiler:
                    profiler.disable()
                took.append(time.perf_counter() - began)
            rows.append((rule.name, spec.kind, len(alerts), took[0], took[1]))
            say(f"  {rule.name}: {took[0]:.2f} s / {took[1]:.2f} s with evidence, {len(alerts)} alerts")
        if profiler and profile:
            profiler.dump_stats(profile / "backtests.pstats")
        return BacktestResult(stored, generate_s, ingest_s, fold_s, rows)
    finally:
        store.close()


# -- report ------------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return {
        "nproc": nproc or str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "revision": head.stdout.strip() or "unknown",
    }


def section(
    ev: EvalResult | None,
    lat: LatencyResult | None,
    bt: BacktestResult | None,
    info: dict[str, str],
    db: str,
    command: str,
    runtime: float,
    quick: bool,
) -> str:
    lines = ["## Rules engine cost", ""]
    lines.append(
        f"Machine: {info['nproc']} CPUs (`nproc`), {info['cpu']}; Python {info['python']}, SQLite "
        f"{info['sqlite']}; database: {db}; code: {info['revision']} plus the working tree's changes; "
        f"1-min load average {info['load']} (other work on the machine competes for the CPUs)."
    )
    lines += ["", f"Command: `{command}` ({'quick smoke run' if quick else 'full run'}, {runtime:.0f} s in all)", ""]
    if ev is not None:
        per_batch = ev.stream_minutes / max(ev.stream_events, 1)
        lines += [
            f"### Evaluation cost per ingested event ({ev.stream_events} events streamed after "
            f"{ev.history_events} events of history folded in {ev.history_fold_s:.1f} s)",
            "",
            "| rules | batch | cycles | µs/event | read | fold | evaluate | = load | + compute | + kept alerts "
            "| + evidence | write alerts | ms/cycle (max) | alerts |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in ev.runs:
            us = {k: f"{r.us(v):.0f}" for k, v in r.split.items()}
            per_cycle = r.seconds / max(r.cycles, 1) * 1000
            lines.append(
                f"| {r.rules} | {r.batch} | {r.cycles} | **{r.us(r.seconds):.0f}** | {us['read']} | {us['fold']} | "
                f"{us['evaluate']} | {us['load']} | {us['compute']} | {us['kept']} | {us['evidence']} | "
                f"{us['write']} | {per_cycle:.1f} ({r.max_cycle_ms:.0f}) | {r.alerts} |"
            )
        lines += [
            "",
            "Columns from read to write alerts are µs per event too; evaluate = load (rule inputs from the store) + "
            "compute (the kinds, reconciling, and reading rules, tenants and silences) + kept alerts (each rule's "
            "recent alerts) + evidence. At this volume a batch "
            f"of 20 events spans ~{20 * per_batch:.0f} min of event time, so the frontier moves on every cycle "
            "and every rule is evaluated for every tenant.",
            "",
        ]
        busiest = next((r for r in ev.runs if r.rules and r.batch == min(ev.batches)), None)
        if busiest is not None:
            lines += [f"Load + compute by rule kind ({busiest.rules} rules, batch {busiest.batch}):", ""]
            lines += ["| kind | evaluations | ms each | share of evaluate |", "|---|---:|---:|---:|"]
            whole = max(busiest.split["evaluate"], 1e-9)
            for kind, (n, sec) in sorted(busiest.kinds.items(), key=lambda kv: -kv[1][1]):
                lines.append(f"| {kind} | {n} | {sec / max(n, 1) * 1000:.2f} | {sec / whole:.0%} |")
            lines.append("")
    if lat is not None:
        ok = lat.seen and lat.q(0.99) < 1000
        rate = lat.load_sent / max(lat.load_seconds, 1e-9)
        lines += ["### Alert latency: webhook 2xx -> alert row (`signwatch serve`, 51 rules)", ""]
        lines.append("| probes | alerts seen | p50 ms | p90 ms | p99 ms | max ms | goal p99 < 1 s |")
        lines.append("|---:|---:|---:|---:|---:|---:|:---|")
        lines.append(
            f"| {lat.probes} | {lat.seen} | {lat.q(0.5):.0f} | {lat.q(0.9):.0f} | {lat.q(0.99):.0f} | "
            f"{max(lat.latencies_ms, default=float('nan')):.0f} | {'met' if ok else 'MISSED'} |"
        )
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(lat.statuses.items()))
        lines += [
            "",
            f"Background load {rate:.0f} webhooks/s achieved ({statuses}); {lat.history_events} events "
            f"of history folded before start; {lat.alerts_open} alerts open at the end."
            + (f" Probes never seen: {', '.join(lat.unseen[:5])}." if lat.unseen else ""),
            "",
        ]
    if bt is not None:
        lines += [f"### Backtest of one rule over 30 days of {bt.events:,} events", ""]
        lines.append(
            f"Generated in {bt.generate_s:.0f} s, stored in {bt.ingest_s:.0f} s "
            f"({bt.events / max(bt.ingest_s, 1e-9):,.0f} events/s), folded by the engine in "
            f"{bt.fold_s:.0f} s ({bt.events / max(bt.fold_s, 1e-9):,.0f} events/s)."
        )
        lines += [
            "",
            "| rule | kind | alerts | s (no evidence) | s (evidence) | goal < 5 s |",
            "|---|---|---:|---:|---:|:---|",
        ]
        for name, kind, alerts, plain, with_evidence in bt.rows:
            verdict = "met" if max(plain, with_evidence) < 5 else "MISSED"
            lines.append(f"| {name} | {kind} | {alerts} | {plain:.2f} | {with_evidence:.2f} | {verdict} |")
        lines.append("")
    return "\n".join(lines)


def profile_top(path: Path, top: int = 25) -> str:
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Shrink every part for a smoke run (< 1 min).")
    parser.add_argument("--db", default="sqlite", help="sqlite (temp dir) or postgresql://user@host:port/NAME")
    parser.add_argument("--out", type=Path, help="Also write the markdown section to this file.")
    parser.add_argument("--parts", default="1,2,3", help="Which parts to run (default 1,2,3).")
    parser.add_argument("--profile", type=Path, help="Write cProfile stats (50-rule streams, backtests) here.")
    parser.add_argument("--keep", type=Path, help="Keep the work directory (databases, serve.log) here.")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    parts = {p.strip() for p in args.parts.split(",")}
    command = shlex.join(["python", "bench/rules_cost.py", *(argv if argv is not None else sys.argv[1:])])
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            workdir = args.keep
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rules-cost-")))
        dbs = Databases(args.db, workdir)
        stack.callback(dbs.drop_all)
        ev = evaluation_cost(plan, dbs, args.profile, say) if "1" in parts else None
        lat = alert_latency(plan, dbs, workdir, say) if "2" in parts else None
        bt = backtests(plan, dbs, args.profile, say) if "3" in parts else None
    db = "SQLite (temp dir)" if dbs.kind == "sqlite" else "PostgreSQL"
    info = {**machine(), "load": f"{load_before:.1f} at start, {os.getloadavg()[0]:.1f} at the end"}
    report = section(ev, lat, bt, info, db, command, time.perf_counter() - started, args.quick)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    if args.profile:
        for stats in sorted(args.profile.glob("*.pstats")):
            say(f"--- {stats.name}\n{profile_top(stats)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
