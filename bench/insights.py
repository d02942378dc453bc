"""Dashboard data: how long each insight page's data takes over HTTP on millions of events.

1. **Load.** N synthetic events (default 5,000,000) over the 400 days before 2026-11-24, in event-time order,
   are appended with `Store.write_batch` (the bulk path: events and envelope states) in chunks of 5,000 and
   folded with `Store.apply_rollups` (the rules engine's fold: per-minute rollups and sightings, and the
   dashboard's tables) in chunks of 50,000; then the engine's positions are set to the end of the log, so the
   server has nothing left to fold. The world: three tenants (Berlin, New York, Tokyo) with 1,000, 800 and 600
   users in five business units and four times as many outside signers; envelopes sent mostly in local business
   hours, then delivered, viewed, and signed and completed (80 %), declined (4 %), voided (4 %) or left pending;
   half of them after a login. Users work from an office network of their tenant or their home network, now and
   then from one of three travel networks; outside signers from their own network or (a third) from six of 2,000
   mobile carrier /24s; about 13,000 /24 networks in 30 countries. Geo is set by the generator (no lookup).
2. **Serve.** `signwatch serve` (granian) on the store, a `monitor:read` token for every tenant; each of the
   four endpoints is called for the windows 24h, 7d, 30d and 365d ending at 2026-11-24 (`range=...&to=...`),
   `--runs` times (default 7) after a warm-up call: the median, best and worst wall time at the client, and the
   server's CPU time per call (not inflated by other processes); the user page is the busiest sender's.
3. **Fold cost.** `apply_rollups` per event on fresh stores, the first `--fold-sample` events of the world
   committed and folded 20 and 500 at a time (as the live engine after each commit), without and with the
   dashboard's tables.

`--db PATH` keeps the SQLite file: a later run with the same PATH and N skips the load (~40 min for 5M).

    .venv/bin/python bench/insights.py                       # 5,000,000 events
    .venv/bin/python bench/insights.py --events 200000 --runs 3 --db /tmp/insights.db --out /tmp/insights.md
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx

from signwatch.auth.tokens import create_token
from signwatch.crypto import load_box
from signwatch.events import Actor, Event, Geo, event_id
from signwatch.store import Scope, SqlStore, WriteItem, open_store
from signwatch.tenants import add_tenant

ROOT = Path(__file__).resolve().parent.parent
SIGNWATCH = str(Path(sys.executable).with_name("signwatch"))
SECRET_KEY = "bench-insights-passphrase"
SECTION = "## Dashboard data (`bench/insights.py`)"
END = datetime(2026, 11, 24, tzinfo=UTC)
DAYS = 400
WRITE_CHUNK, FOLD_CHUNK = 5_000, 50_000
TENANTS = (("acme", "Europe/Berlin", 1, "DE", 1000), ("globex", "America/New_York", -5, "US", 800),
           ("initech", "Asia/Tokyo", 9, "JP", 600))  # fmt: skip
UNITS = ("sales", "procurement", "hr", "legal", "finance")
COUNTRIES = ("DE", "US", "JP", "GB", "FR", "NL", "IN", "BR", "AU", "CA", "SG", "ES", "IT", "SE", "PL", "CH", "AT",
             "BE", "DK", "NO", "FI", "IE", "PT", "MX", "AR", "ZA", "KR", "CN", "AE", "IL")  # fmt: skip
ASNS = ("Telekom", "Vodafone", "Orange", "Comcast", "Verizon", "NTT", "SoftBank", "BT", "Telia", "Swisscom")
WINDOWS = ("24h", "7d", "30d", "365d")
GOAL_MS = 300.0


class World:
    """People and their networks, deterministic for a seed. Networks: 24 offices (8 per tenant), 2,000 mobile
    carrier /24s, 11,000 others (homes, outside signers' offices, travel)."""

    def __init__(self, seed: int = 7) -> None:
        rng = self.rng = random.Random(seed)
        self.nets: list[tuple[str, Geo]] = []  # (/24 as "a.b.c", geo)
        used: set[str] = set()
        while len(self.nets) < 13_000:
            i = len(self.nets)
            country = TENANTS[i % 3][3] if i < 24 else rng.choice(COUNTRIES)
            base = f"{rng.randrange(11, 223)}.{rng.randrange(256)}.{rng.randrange(256)}"
            if base not in used:
                used.add(base)
                self.nets.append((base, Geo(country, f"{rng.choice(ASNS)} {country}", f"{base}.0/24")))
        mobile, other = range(24, 2024), range(2024, 13_000)
        self.tenants = []
        for t, (slug, _zone, offset, _home, users) in enumerate(TENANTS):
            offices = [i for i in range(24) if i % 3 == t]
            people = []
            for u in range(users):
                home = rng.choice(other) if rng.random() < 0.4 else None
                travel = rng.sample(other, 3)
                people.append((f"user{u}@{slug}.example", f"usr_{slug}_{u}", UNITS[u % 5], rng.choice(offices), home,
                               travel, rng.lognormvariate(0.0, 0.8)))  # fmt: skip
            outside = [  # a third on mobile networks, each on a few of its carriers' /24s
                (
                    f"signer{c}@customer{c % 97}.example",
                    rng.sample(mobile, 6) if rng.random() < 0.35 else [rng.choice(other)],
                )
                for c in range(users * 4)
            ]
            cum, total = [], 0.0
            for p in people:
                total += p[6]
                cum.append(total)
            self.tenants.append((slug, offset, people, cum, outside))

    def address(self, net: int) -> tuple[str, Geo]:
        base, geo = self.nets[net]
        return f"{base}.{self.rng.randrange(1, 255)}", geo

    def envelope(self, number: int, day: datetime) -> list[Event]:
        """One envelope sent on `day`: its events, some of them on later days."""
        rng = self.rng
        slug, offset, people, cum, outside = self.tenants[rng.choices((0, 1, 2), (5, 3, 2))[0]]
        email, uid, unit, office, home, travel, _ = rng.choices(people, cum_weights=cum)[0]
        local = rng.uniform(8, 18) if day.weekday() < 5 and rng.random() < 0.9 else rng.uniform(0, 24)
        sent = day + timedelta(hours=local - offset)
        roll = rng.random()
        sender_net = rng.choice(travel) if roll < 0.02 else home if home is not None and roll < 0.27 else office
        s_email, s_nets = rng.choice(outside)
        if rng.random() < 0.15:  # a colleague countersigns
            peer = rng.choice(people)
            s_email, s_nets = peer[0], [peer[3]]
        signer_net = rng.choice(s_nets)
        steps: list[tuple[str, timedelta, str, int | None]] = []
        if rng.random() < 0.5:
            steps.append(("auth.login", timedelta(minutes=-rng.uniform(1, 30)), email, sender_net))
        steps.append(("envelope.sent", timedelta(0), email, sender_net))
        steps.append(("envelope.delivered", timedelta(minutes=rng.uniform(0.1, 3)), s_email, signer_net))
        viewed = timedelta(hours=rng.expovariate(1 / 3))
        steps.append(("envelope.viewed", viewed, s_email, signer_net))
        outcome, done = rng.random(), viewed + timedelta(minutes=rng.uniform(2, 60))
        if outcome < 0.80:
            steps.append(("envelope.signed", done, s_email, signer_net))
            steps.append(("envelope.completed", done + timedelta(seconds=30), email, None))
        elif outcome < 0.84:
            steps.append(("envelope.declined", done, s_email, signer_net))
        elif outcome < 0.88:
            steps.append(("envelope.voided", done, email, sender_net))
        out = []
        for step, (etype, delay, who, net) in enumerate(steps):
            ip, geo = self.address(net) if net is not None else (None, Geo())
            out.append(Event(
                id=event_id(slug, "atlas", f"b-{number}-{step}"),
                tenant=slug,
                source="atlas",
                type=etype,
                occurred_at=sent + delay,
                envelope_id=f"env-{number:09d}" if etype.startswith("envelope.") else "",
                actor=Actor(uid if who == email else None, who),
                ip_address=ip,
                geo=geo,
                user_agent="Mozilla/5.0",
                business_unit=unit,
                attributes={"subject": f"Agreement #{number % 9973}"},
            ))  # fmt: skip
        return out

    def events(self, n: int) -> Iterator[Event]:
        """About `n` events over the DAYS before END, in event-time order (as a live feed delivers them)."""
        per_day = max(1, round(n / DAYS / 4.9))  # events per envelope: 4.9 on average
        start, number = END - timedelta(days=DAYS), 0
        pending: list[tuple[datetime, str, Event]] = []
        for d in range(DAYS + 1):
            day = start + timedelta(days=d)
            if d < DAYS:
                for _ in range(per_day):
                    number += 1
                    for e in self.envelope(number, day):
                        heapq.heappush(pending, (e.occurred_at, e.id, e))
            while pending and (d == DAYS or pending[0][0] < day):
                e = heapq.heappop(pending)[2]
                if e.occurred_at < END:
                    yield e


def load(store: SqlStore, n: int) -> dict[str, float]:
    """Append and fold n events; returns seconds spent writing, folding, and in the dashboard's share of it."""
    box = load_box(SECRET_KEY, store.url)
    for slug, zone, *_ in TENANTS:
        add_tenant(store, box, slug, f"bench-key-{slug}-0123456789", zone)
    spent = {"write": 0.0, "fold": 0.0, "insights": 0.0}
    timed = store._apply_insights

    def insights_timed(conn: object, events: object) -> None:
        started = time.perf_counter()
        timed(conn, events)  # type: ignore[arg-type]
        spent["insights"] += time.perf_counter() - started

    store._apply_insights = insights_timed  # type: ignore[method-assign]
    pending: list[Event] = []
    done = 0
    for chunk in _chunks(itertools.islice(World().events(n), n), WRITE_CHUNK):
        started = time.perf_counter()
        outcomes = store.write_batch([WriteItem(None, e) for e in chunk])
        spent["write"] += time.perf_counter() - started
        assert outcomes.count("stored") == len(chunk), "duplicate event ids in the generated world"
        pending.extend(chunk)
        done += len(chunk)
        if len(pending) >= FOLD_CHUNK or done >= n:
            started = time.perf_counter()
            store.apply_rollups(pending, [("engine.rollups", str(store.log_end()))], 0)
            spent["fold"] += time.perf_counter() - started
            pending = []
        if done % 500_000 < WRITE_CHUNK:
            print(f"  {done:,} events: write {spent['write']:.0f} s, fold {spent['fold']:.0f} s", flush=True)
    end = str(store.log_end())
    for name in ("engine.rollups", "engine.evaluated"):
        store.set_position(name, end)
    store.set_position("engine.stream", str(int(END.timestamp()) // 60))
    spent["events"] = done
    store.set_meta_default("bench.insights.events", str(n))
    store.set_meta_default("bench.insights.load", json.dumps(spent))
    return spent


def fold_cost(events: int, batch: int, dashboard: bool) -> float:
    """µs per event of `apply_rollups` on a fresh store, `events` events of the 5M world (its first days, in
    event-time order) committed and folded `batch` at a time, as the live engine does after each commit; with
    the dashboard's share switched off when `dashboard` is false."""
    with tempfile.TemporaryDirectory(prefix="sw-fold-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'fold.db'}")
        store.upgrade()
        box = load_box(SECRET_KEY, store.url)
        for slug, zone, *_ in TENANTS:
            add_tenant(store, box, slug, f"bench-key-{slug}-0123456789", zone)
        if not dashboard:
            store._apply_insights = lambda conn, events: None  # type: ignore[method-assign]
        spent = 0.0
        for chunk in _chunks(itertools.islice(World().events(5_000_000), events), batch):
            store.write_batch([WriteItem(None, e) for e in chunk])
            started = time.perf_counter()
            store.apply_rollups(chunk, [("engine.rollups", str(store.log_end()))], 0)
            spent += time.perf_counter() - started
        store.close()
    return spent / events * 1e6


def _chunks(events: Iterator[Event], size: int) -> Iterator[list[Event]]:
    chunk: list[Event] = []
    for e in events:
        chunk.append(e)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(url: str, workdir: Path) -> Iterator[tuple[str, int]]:
    """`signwatch serve` in a process group of its own, stopped with SIGINT (then SIGKILL) at the end."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNWATCH_")}
    env |= {"SIGNWATCH_DB": url, "SIGNWATCH_SECRET_KEY": SECRET_KEY, "SIGNWATCH_RETENTION_EVENTS_DAYS": "3650"}
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen([SIGNWATCH, "serve", "--port", str(port)], env=env, cwd=workdir, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"signwatch serve did not start; see {workdir / 'serve.log'}")
            time.sleep(0.2)
        time.sleep(3.0)  # let the engine's first cycle pass
        yield base, proc.pid
    finally:
        for sig, grace in ((signal.SIGINT, 15.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


def _busy() -> float:
    """CPU seconds the machine has been busy since boot (all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _cpu(pids: list[int], own: bool = True) -> float:
    """CPU seconds of these processes (and of this one unless `own` is false) so far."""
    total = time.process_time() if own else 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _group(pgid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[3]) == pgid:
                out.append(int(stat.parent.name))
    return out


def measure(
    base: str, token: str, user: str, runs: int, pids: list[int]
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], float]]:
    """Wall milliseconds of each (page, window), `runs` calls after a warm-up; and the server's CPU
    milliseconds per call (what the call costs whatever else the machine does)."""
    pages = {"overview": "/overview", "geography": "/geography", "users": "/users",
             "user": f"/users/{quote(user)}"}  # fmt: skip
    out: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], float] = {}
    with httpx.Client(base_url=f"{base}/monitor/v2/insights", headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:  # fmt: skip
        for window in WINDOWS:
            params = {"range": window, "to": END.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for page, path in pages.items():
                times: list[float] = []
                for i in range(runs + 1):
                    if i == 1:
                        used = _cpu(pids, own=False)
                    started = time.perf_counter()
                    resp = client.get(path, params=params)
                    elapsed = (time.perf_counter() - started) * 1000
                    if resp.status_code != 200:
                        raise RuntimeError(f"{page} {window}: {resp.status_code} {resp.text[:300]}")
                    if i:
                        times.append(elapsed)
                cpu[(page, window)] = (_cpu(pids, own=False) - used) / runs * 1000
                out[(page, window)] = times
                print(f"  {page:9} {window:5} median {statistics.median(times):7.1f} ms, server CPU "
                      f"{cpu[(page, window)]:5.1f} ms", flush=True)  # fmt: skip
    return out, cpu


def table_rows(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = ("events", "rollups", "sightings", "rollup_levels", "running_totals", "actors", "actor_nets",
                 "actor_net_spans")  # fmt: skip
        return {name: int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in names}
    finally:
        conn.close()


def busiest_sender(store: SqlStore) -> str:
    rows = store.actor_ranks(Scope.all(), (int(END.timestamp()) // 60) - 365 * 1440, int(END.timestamp()) // 60, 1)
    return max(rows, key=lambda k: rows[k][0])[1]


def report(args: argparse.Namespace, n: int, spent: dict[str, float] | None, rows: dict[str, int],
           times: dict[tuple[str, str], list[float]], cpu: dict[tuple[str, str], float], user: str,
           started: datetime, others: float,
           folds: dict[tuple[int, bool], float]) -> str:  # fmt: skip
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False).stdout.strip() or "unknown"  # fmt: skip
    lines = [
        SECTION,
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC: `{' '.join(['.venv/bin/python', 'bench/insights.py', *sys.argv[1:]])}`. "
        f"Machine: {os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}; code at {head} (+ the uncommitted dashboard changes). Store: SQLite (WAL); "
        "server: `signwatch serve` (granian, one worker); client httpx in another process, same machine.",
        "",
    ]
    if spent is not None:
        n = int(spent.get("events", n))
        fold_us = spent["fold"] / n * 1e6
        share = spent["insights"] / n * 1e6
        lines += [
            f"{n:,} events over {DAYS} days (3 tenants, {sum(t[4] for t in TENANTS):,} users, ~13,000 networks in "
            f"30 countries) appended with `write_batch` in {spent['write']:,.0f} s ({n / spent['write']:,.0f} "
            f"events/s) and folded by `apply_rollups` in chunks of {FOLD_CHUNK:,} in {spent['fold']:,.0f} s: "
            f"{fold_us:.0f} µs per event, of which the dashboard levels {share:.0f} µs ({share / fold_us:.0%}).",
            "",
        ]
    lines += [
        "Rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()) + ".",
        "",
        f"Milliseconds per call (`range=<window>&to=2026-11-24T00:00:00Z`): wall time at the client, median of "
        f"{args.runs} after a warm-up (best-worst); then the server's CPU time per call, which other processes on "
        f"the machine do not inflate. The user page is the busiest sender's (`{user}`). Goal: < {GOAL_MS:.0f} ms.",
        "",
        "| page | " + " | ".join(WINDOWS) + " |",
        "|---|" + "--:|" * len(WINDOWS),
    ]
    worst = 0.0
    for page in ("overview", "geography", "users", "user"):
        cells = []
        for window in WINDOWS:
            t = times[(page, window)]
            med = statistics.median(t)
            worst = max(worst, med)
            cells.append(f"**{med:,.0f}** ({min(t):,.0f}-{max(t):,.0f}); {cpu[(page, window)]:,.0f}")
        lines.append(f"| `{page}` | " + " | ".join(cells) + " |")
    verdict = "met" if worst < GOAL_MS else "**NOT met**"
    lines += [
        "",
        f"Slowest median: {worst:,.0f} ms (goal < {GOAL_MS:.0f} ms: {verdict}). Other processes kept {others:.1f} of "
        f"the {os.cpu_count()} CPUs busy on average during the calls (0 on a quiet machine).",
    ]
    if folds:
        lines += [
            "",
            f"Fold cost (`apply_rollups`, what the rules engine runs after each commit), on a fresh store with the "
            f"first {args.fold_sample:,} events of the same world: "
            + "; ".join(
                f"{batch}-event commits {folds[(batch, False)]:,.0f} µs per event without the dashboard's tables, "
                f"{folds[(batch, True)]:,.0f} with them"
                for batch in (20, 500)
            )
            + ".",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", type=Path, help="keep (and reuse) the SQLite file here")
    parser.add_argument("--out", type=Path, help="write the section here (default: append to docs/benchmarks.md)")
    parser.add_argument("--fold-sample", type=int, default=20_000, help="events for the fold cost (0: skip it)")
    args = parser.parse_args()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="sw-insights-") as tmp:
        workdir = Path(tmp)
        path = args.db or workdir / "insights.db"
        store = open_store(f"sqlite:///{path}")
        store.upgrade()
        spent = None
        if store.get_meta("bench.insights.events") != str(args.events):
            if store.log_end():
                raise SystemExit(f"{path} holds another load; remove it first")
            print(f"loading {args.events:,} events into {path}", flush=True)
            spent = load(store, args.events)  # no ANALYZE: signwatch never runs one, the planner goes without
        stats = store.get_meta("bench.insights.load")
        spent = spent or (json.loads(stats) if stats else None)
        _, secret = create_token(store, "bench", frozenset({"monitor:read"}), None)
        user = busiest_sender(store)
        store.close()
        rows = table_rows(path)
        print("rows:", rows, flush=True)
        with server(f"sqlite:///{path}", workdir) as (base, pgid):
            pids = _group(pgid)
            wall, busy, ours = time.monotonic(), _busy(), _cpu(pids)
            times, cpu = measure(base, secret, user, args.runs, pids)
            wall, busy, ours = time.monotonic() - wall, _busy() - busy, _cpu(pids) - ours
    others = max(0.0, (busy - ours) / wall)
    folds = {}
    if args.fold_sample:
        for batch in (20, 500):
            for dashboard in (False, True):
                folds[(batch, dashboard)] = fold_cost(args.fold_sample, batch, dashboard)
                print(f"  fold, {batch}-event batches, dashboard {dashboard}: {folds[(batch, dashboard)]:.0f} µs/event")
    text = report(args, args.events, spent, rows, times, cpu, user, started, others, folds)
    if args.out:
        args.out.write_text(text)
    else:
        doc = ROOT / "docs" / "benchmarks.md"
        doc.write_text(doc.read_text().rstrip("\n") + "\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
