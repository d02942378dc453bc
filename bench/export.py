"""Export and forwarding throughput: how fast a SIEM can pull the event log, and how fast a forwarder pushes it.

One run, on one fresh store (SQLite in a temporary directory, or a fresh PostgreSQL database with
`--db postgresql`), measures:

1. **Load** (context only): N synthetic, realistic events (three tenants, envelope lifecycles plus auth, user
   and recipient events, actor id and e-mail, IPv4/IPv6 address, geo with country/ASN/network/city, user agent,
   client reference, business unit, five attributes) appended with `Store.write_batch` in chunks of 5,000.
2. **The practical limit**: the database's own bulk dump of the same rows, timed with its output going to
   /dev/null: `sqlite3 <db> ".mode json" "SELECT * FROM events"` (the sqlite3 CLI; without it, Python's sqlite3
   module with `json.dumps` per row, and the table says so), or on PostgreSQL
   `psql -c "COPY (SELECT row_to_json(e) FROM events e) TO STDOUT"`.
3. **Export over HTTP**: a real `signwatch serve` subprocess (granian by default, `--server uvicorn`) on the
   store, left until idle first (its rules engine folds the loaded events, which were written behind its back,
   in the app process: that would otherwise compete with the pull; the wait is reported), then pulled with
   httpx the way a SIEM polls: `GET /monitor/v2/export?format=ndjson&limit=10000`, then the
   `X-Signwatch-End-Cursor` of each page as `cursor=` until `X-Signwatch-Has-More` is false (`format=json`:
   `endCursor` / `hasMore` from the body). NDJSON pulls every event and is checked (count, first and last
   `seq`); json, ocsf, ecs, cef and csv pull the first `--subset` events (all of them when N is not larger).
   Reported: events/s, MB/s of response bodies, and NDJSON as a percentage of the dump's rows/s (goal
   >= 50 %). A thread samples the app process's RSS every 20 ms (psutil if installed, else
   /proc/<pid>/status); the table gives RSS before the pull, after 10 % and 50 % of it, at its end and the
   most seen during it, plus the process's VmHWM (its lifetime peak) at the end, to show memory stays flat.
4. **Forwarder**: `signwatch.export.forward.Forwarder` (the code of `signwatch forward --once`), run in this
   process with the server stopped, from a checkpoint placed `--subset` events before the end of the log, in
   NDJSON, to (a) the machine's Redis (`redis://127.0.0.1:6379/0?stream=<unique key>`, XLEN checked, the key
   deleted afterwards) and (b) a local HEC-compatible receiver (uvicorn + Starlette in a subprocess: checks
   `Authorization: Splunk <token>`, counts the events, answers `{"text":"Success","code":0}`), with batches
   of 500 and 5,000 events. Each run must deliver exactly `--subset` events.

The client and the server share the machine: on a small one the client's own CPU (body reads, `json` parsing)
is part of the figure; the table gives the server's CPU use during each pull, and for every measurement the
CPUs that other processes took meanwhile (`others`, from /proc/stat less the measured processes): a run with
more than 0.2 of them is flagged as disturbed, its figures are not comparable.

    .venv/bin/python bench/export.py                                  # 1,000,000 events on SQLite
    .venv/bin/python bench/export.py --quick                          # smoke run, well under a minute
    .venv/bin/python bench/export.py --db postgresql --out /tmp/export.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from signwatch.auth.tokens import create_token
from signwatch.config import ForwarderSettings
from signwatch.crypto import SecretBox
from signwatch.events import Actor, Event, Geo, event_id
from signwatch.export.forward import Forwarder, display
from signwatch.store import SqlStore, WriteItem, open_store
from signwatch.store.base import ForwarderRecord

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SIGNWATCH = str(Path(PYTHON).with_name("signwatch"))
SECRET_KEY = "bench-export-passphrase"
PG_ADMIN_URL = os.environ.get("SIGNWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = "redis://127.0.0.1:6379/0"
HEC_TOKEN_ENV = "BENCH_HEC_TOKEN"
EXPORT_PATH = "/monitor/v2/export"
PAGE = 10_000
LOAD_CHUNK = 5_000
FORMATS = ("ndjson", "json", "ocsf", "ecs", "cef", "csv")
BATCHES = (500, 5_000)
GOAL_PERCENT = 50.0
SETTLE_QUIET, SETTLE_TIMEOUT = 8.0, 900.0  # seconds
DISTURBED = 0.2  # CPUs taken by other processes above which a run is flagged
SECTION = "## Export and forwarding throughput"
MIB = 1024 * 1024

# -- the events ------------------------------------------------------------------------------------------------
T0 = datetime(2026, 9, 1, 7, tzinfo=UTC)
TENANTS = ("acme", "globex", "initech")
# Ten events per envelope: its lifecycle with the recipient's steps, a login, a failed login, a password change.
STEPS = (
    "envelope.sent",
    "recipient.delivered",
    "envelope.delivered",
    "auth.login",
    "envelope.viewed",
    "recipient.signed",
    "envelope.signed",
    "auth.login.failed",
    "envelope.completed",
    "user.password.changed",
)
PLACES = (
    ("81.2.69.142", Geo("GB", "AS20712 Andrews & Arnold Ltd", "81.2.64.0/18", "London")),
    ("185.86.151.11", Geo("DE", "AS24940 Hetzner Online GmbH", "185.86.148.0/22", "Nuremberg")),
    ("2a02:8106:1::1", Geo("DE", "AS8881 1&1 Versatel Deutschland GmbH", "2a02:8100::/27", "Berlin")),
    ("52.95.110.1", Geo("US", "AS16509 Amazon.com, Inc.", "52.95.96.0/19", "Seattle")),
    ("94.130.10.5", Geo("FI", "AS24940 Hetzner Online GmbH", "94.130.0.0/16", "Helsinki")),
    ("203.0.113.9", Geo("AU", "AS64500 Example Networks", "203.0.113.0/24", "Sydney")),
)
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari",
    "okhttp/4.12.0",
)
UNITS = ("sales", "legal", "hr", "procurement")


def make_event(i: int) -> Event:
    """The i-th event of the log: deterministic, unique id, one of ten steps of envelope i // 10."""
    envelope, step = divmod(i, len(STEPS))
    etype = STEPS[step]
    tenant = TENANTS[envelope % len(TENANTS)]
    user = envelope % 211
    ip, geo = PLACES[(envelope + step) % len(PLACES)]
    on_envelope = etype.startswith(("envelope.", "recipient."))
    return Event(
        id=event_id(tenant, "atlas", f"bench-{i}"),
        tenant=tenant,
        source="atlas",
        type=etype,
        occurred_at=T0 + timedelta(milliseconds=i * 371 + i % 997),
        envelope_id=f"env-{envelope:09d}" if on_envelope else "",
        actor=Actor(f"usr_{user:05d}", f"user{user}@{tenant}.example"),
        ip_address=ip,
        geo=geo,
        user_agent=AGENTS[envelope % len(AGENTS)],
        client_reference_id=f"CRM-{envelope % 50_000:06d}" if on_envelope else None,
        business_unit=UNITS[envelope % len(UNITS)],
        attributes={
            "sourceEventId": f"evt_{i:010d}",
            "subject": f"Master services agreement #{envelope % 9973}",
            "recipientEmail": f"signer{envelope % 1009}@customer{envelope % 37}.example",
            "recipientRole": "signer" if step % 2 else "approver",
            "pageCount": 1 + envelope % 23,
        },
        delivery_id=f"dlv_{i:012d}",
    )


def load(store: SqlStore, n: int) -> float:
    """Append events 0..n-1 with write_batch in chunks; returns the seconds taken."""
    started = time.perf_counter()
    for k in range(0, n, LOAD_CHUNK):
        outcomes = store.write_batch([WriteItem(None, make_event(i)) for i in range(k, min(n, k + LOAD_CHUNK))])
        if outcomes.count("stored") != len(outcomes):
            raise BenchError(f"write_batch stored {outcomes.count('stored')} of {len(outcomes)} events")
        if k and k % 200_000 == 0:
            print(f"  loaded {k:,} events ({k / (time.perf_counter() - started):,.0f}/s)", flush=True)
    return time.perf_counter() - started


# -- databases -------------------------------------------------------------------------------------------------
class BenchError(Exception):
    """The bench could not measure (a server would not start, a count is wrong, ...)."""


@dataclass
class Database:
    """The store the bench runs on: its URL, and how to dump and to drop it."""

    kind: str  # sqlite | postgresql
    url: str
    path: Path | None = None  # SQLite file
    pg_name: str | None = None

    @classmethod
    @contextlib.contextmanager
    def fresh(cls, kind: str, workdir: Path) -> Iterator[Database]:
        if kind == "sqlite":
            path = workdir / "export.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            yield cls(kind, f"sqlite:///{path}", path=path)
            return
        import psycopg

        name = f"signwatch_bench_export_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = PG_ADMIN_URL.rpartition("/")
        try:
            yield cls(kind, f"{base}/{name}", pg_name=name)
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Dump:
    tool: str
    rows: int
    seconds: float
    others: float = 0.0  # CPUs taken by other processes meanwhile

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def dump(db: Database, rows: int) -> Dump:
    """Time the database's own dump of every event row as JSON, output to /dev/null."""
    with CpuMeter() as cpu:
        result = _dump(db, rows)
    result.others = cpu.others
    return result


def _dump(db: Database, rows: int) -> Dump:
    if db.kind == "postgresql":
        psql = shutil.which("psql")
        if psql is None:
            raise BenchError("psql is not installed: the PostgreSQL limit needs it")
        sql = "COPY (SELECT row_to_json(e) FROM events e) TO STDOUT"
        started = time.perf_counter()
        subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", db.url, "-c", sql], stdout=subprocess.DEVNULL,
                       check=True)  # fmt: skip
        return Dump(f'`psql -c "{sql}"`', rows, time.perf_counter() - started)
    assert db.path is not None
    cli = shutil.which("sqlite3")
    if cli is not None:
        started = time.perf_counter()
        subprocess.run([cli, str(db.path), ".mode json", "SELECT * FROM events"], stdout=subprocess.DEVNULL,
                       check=True)  # fmt: skip
        return Dump('`sqlite3 <db> ".mode json" "SELECT * FROM events"`', rows, time.perf_counter() - started)
    started = time.perf_counter()
    conn = sqlite3.connect(f"file:{db.path}?mode=ro", uri=True)
    try:
        cur = conn.execute("SELECT * FROM events")
        names = [d[0] for d in cur.description]
        with open(os.devnull, "w") as sink:
            for row in cur:
                sink.write(json.dumps(dict(zip(names, row, strict=True))) + "\n")
    finally:
        conn.close()
    return Dump("no sqlite3 CLI here: Python `sqlite3` `SELECT *` + `json.dumps` per row", rows,
                time.perf_counter() - started)  # fmt: skip


# -- processes -------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            out.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def machine_busy() -> float:
    """CPU seconds the machine has been busy (hypervisor steal included) since boot: all but idle and iowait."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuMeter:
    """CPUs busy on average during a measurement: what it used (this process, its children, `pids`: the server,
    the receiver, Redis) and what everything else on the machine took (`others`; ~0 on a quiet machine)."""

    def __init__(self, pids: Sequence[int] = ()) -> None:
        self.pids = list(pids)
        self.others = 0.0

    def _now(self) -> tuple[float, float, float]:
        return time.monotonic(), machine_busy(), own_cpu() + sum(cpu_seconds(pid) for pid in self.pids)

    def __enter__(self) -> CpuMeter:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        (wall0, busy0, ours0), (wall1, busy1, ours1) = self._start, self._now()
        self.others = max(0.0, ((busy1 - busy0) - (ours1 - ours0)) / max(wall1 - wall0, 1e-9))


try:
    _psutil: Any = importlib.import_module("psutil")
except ImportError:
    _psutil = None


def memory(pid: int) -> tuple[int, int]:
    """(RSS, lifetime peak RSS) of a process in bytes: psutil's RSS when installed, /proc's VmRSS otherwise;
    the peak is /proc's VmHWM (0 where there is no /proc)."""
    rss = hwm = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    if _psutil is not None:
        with contextlib.suppress(Exception):
            rss = int(_psutil.Process(pid).memory_info().rss)
    return rss, hwm


class Process:
    """A subprocess in a process group of its own, stopped with SIGINT then SIGKILL: nothing outlives the bench."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name, self.cmd, self.env, self.cwd, self.log = name, cmd, env, cwd, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_url: str, timeout: float = 60.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise BenchError(f"{self.name} not ready after {timeout:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        """The process and its descendants."""
        if self.proc is None:
            return []
        tree, found, todo = children_of(), [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(tree.get(pid, []))
        return found

    def app_pid(self) -> int:
        """The process that runs the app: the busiest process of the group without children of its own
        (granian's worker; uvicorn with one worker runs the app itself)."""
        tree = children_of()
        leaves = [pid for pid in self.pids() if not tree.get(pid)]
        return max(leaves, key=lambda pid: (cpu_seconds(pid), memory(pid)[0]))

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            try:
                self.proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # workers left behind by a parent that did exit
        self.proc = None


def settle(pids: Sequence[int], quiet: float = SETTLE_QUIET, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until `pids` have been idle (under 0.05 CPUs) for `quiet` seconds in a row; returns the seconds
    waited. A fresh server's rules engine first folds the whole log loaded behind its back, in the app process;
    `quiet` is longer than the engine's 5 s tick, so its first wake-up is not mistaken for the end."""
    started = time.monotonic()
    idle_since = started
    while time.monotonic() - started < timeout:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(1.0)
        if sum(cpu_seconds(pid) for pid in pids) - before >= 0.05:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= quiet:
            return time.monotonic() - started - quiet
    raise BenchError(f"the server was still busy {timeout:.0f} s after starting")


@contextlib.contextmanager
def running(process: Process, ready_url: str) -> Iterator[Process]:
    try:
        process.start(ready_url)
        yield process
    finally:
        process.stop()


def signwatch_server(db: Database, workdir: Path, server: str) -> tuple[Process, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNWATCH_")}
    env |= {"SIGNWATCH_DB": db.url, "SIGNWATCH_SECRET_KEY": SECRET_KEY}
    cmd = [SIGNWATCH, "serve", "--port", str(port), "--server", server]
    return Process(f"signwatch serve ({server})", cmd, env, workdir, workdir / "serve.log"), f"http://127.0.0.1:{port}"


# -- the HTTP pull ---------------------------------------------------------------------------------------------
class RssSampler:
    """Samples a process's RSS every `every` seconds in a thread, with the pull's progress at each sample."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every = pid, every
        self.done = 0  # events pulled so far, set by the puller
        self.samples: list[tuple[int, int]] = []  # (events pulled, RSS bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((self.done, memory(self.pid)[0]))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self.samples.append((0, memory(self.pid)[0]))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.done, memory(self.pid)[0]))

    def at(self, events: int) -> int:
        """RSS at the first sample taken once `events` had been pulled."""
        return next((rss for done, rss in self.samples if done >= events), self.samples[-1][1])


@dataclass
class Pull:
    format: str
    events: int
    bytes: int
    pages: int
    seconds: float
    server_cpu: float  # CPU seconds of the app process during the pull
    others: float  # CPUs taken by other processes than the server and this client
    rss_start: int
    rss_10: int
    rss_50: int
    rss_end: int
    rss_max: int
    hwm_end: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def mbps(self) -> float:
        return self.bytes / MIB / self.seconds


def pull(client: httpx.Client, base: str, fmt: str, wanted: int, app_pid: int, server: Sequence[int]) -> Pull:
    """Page through the export in `fmt` from the start, following the cursor, until `wanted` events or the end.
    `app_pid` runs the app (its CPU and RSS are reported); `server` are all the server's processes."""
    events = size = pages = 0
    cursor: str | None = None
    first_seq = last_seq = None
    cpu_before = cpu_seconds(app_pid)
    with CpuMeter(server) as cpu, RssSampler(app_pid) as rss:
        started = time.perf_counter()
        while True:
            params = {"format": fmt, "limit": str(min(PAGE, wanted - events))}
            if cursor is not None:
                params["cursor"] = cursor
            response = client.get(base + EXPORT_PATH, params=params)
            if response.status_code != 200:
                raise BenchError(f"{fmt}: HTTP {response.status_code}: {response.text[:300]}")
            body = response.content
            size += len(body)
            pages += 1
            if fmt == "json":
                page = orjson.loads(body)
                count, cursor, more = len(page["data"]), page["endCursor"], page["hasMore"]
            else:
                count = body.count(b"\n") - (1 if fmt == "csv" else 0)  # csv: a header line on every page
                cursor = response.headers["X-Signwatch-End-Cursor"]
                more = response.headers["X-Signwatch-Has-More"] == "true"
                if fmt == "ndjson" and count:
                    first_seq = first_seq or orjson.loads(body[: body.index(b"\n")])["seq"]
                    last_seq = orjson.loads(body[body.rindex(b"\n", 0, len(body) - 1) + 1 :])["seq"]
            events += count
            rss.done = events
            if not more or events >= wanted:
                break
        seconds = time.perf_counter() - started
    if fmt == "ndjson" and (first_seq, last_seq) != (1, events):
        raise BenchError(f"ndjson: seq ran from {first_seq} to {last_seq} over {events} events")
    return Pull(
        format=fmt,
        events=events,
        bytes=size,
        pages=pages,
        seconds=seconds,
        server_cpu=cpu_seconds(app_pid) - cpu_before,
        others=cpu.others,
        rss_start=rss.samples[0][1],
        rss_10=rss.at(events // 10),
        rss_50=rss.at(events // 2),
        rss_end=rss.samples[-1][1],
        rss_max=max(r for _, r in rss.samples),
        hwm_end=memory(app_pid)[1],
    )


# -- the forwarder ---------------------------------------------------------------------------------------------
@dataclass
class Forward:
    sink: str
    batch: int
    events: int
    seconds: float
    others: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def forward(
    store: SqlStore, box: SecretBox, label: str, url: str, batch: int, start: int, receiver: Sequence[int]
) -> Forward:
    """Run a Forwarder once from checkpoint `start` until caught up; time it (`receiver`: the sink's processes)."""
    name = f"bench-{label.split()[0].lower()}-{batch}-{secrets.token_hex(3)}"
    store.register_forwarder(ForwarderRecord(name, box.encrypt(url), display(url), "ndjson", None, position=start))
    forwarder = Forwarder(store, box, ForwarderSettings(name=name, sink=url, format="ndjson", tenant=None, batch=batch))
    with CpuMeter(receiver) as cpu:
        started = time.perf_counter()
        sent = asyncio.run(forwarder.run(once=True))
        seconds = time.perf_counter() - started
    return Forward(label, batch, sent, seconds, cpu.others)


def to_redis(store: SqlStore, box: SecretBox, batch: int, start: int, expected: int) -> Forward:
    import redis

    stream = f"signwatch-bench-export:{os.getpid()}:{secrets.token_hex(4)}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        pid = int(client.info("server")["process_id"])
        result = forward(store, box, "Redis Streams", f"{REDIS_URL}?stream={stream}", batch, start, [pid])
        length = int(client.xlen(stream))
    finally:
        client.delete(stream)
        client.close()
    if result.events != expected or length != expected:
        raise BenchError(f"redis: forwarder sent {result.events}, stream holds {length}, expected {expected}")
    return result


def to_hec(
    store: SqlStore, box: SecretBox, receiver: Process, base: str, token: str, batch: int, start: int, expected: int
) -> Forward:
    before = httpx.get(f"{base}/stats").json()["events"]
    url = f"splunk+http://{base.removeprefix('http://')}?token={token}"
    result = forward(store, box, "Splunk HEC", url, batch, start, receiver.pids())
    received = httpx.get(f"{base}/stats").json()["events"] - before
    if result.events != expected or received != expected:
        raise BenchError(f"hec: forwarder sent {result.events}, receiver got {received}, expected {expected}")
    return result


def hec_receiver(port: int) -> None:
    """A Splunk HEC stand-in: POST /services/collector/event with `Authorization: Splunk <token>` answers
    `{"text":"Success","code":0}` and counts the newline-separated event objects; GET /stats tells the count."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    expected = f"Splunk {os.environ[HEC_TOKEN_ENV]}"
    counts = {"events": 0, "bytes": 0, "posts": 0}

    async def collect(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != expected:
            return JSONResponse({"text": "Invalid authorization", "code": 3}, status_code=401)
        body = await request.body()
        if not body.startswith(b'{"event":'):
            return JSONResponse({"text": "Invalid data format", "code": 6}, status_code=400)
        counts["events"] += body.count(b"\n") + 1
        counts["bytes"] += len(body)
        counts["posts"] += 1
        return JSONResponse({"text": "Success", "code": 0})

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(counts)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [
        Route("/services/collector/event", collect, methods=["POST"]),
        Route("/services/collector/health", health),
        Route("/stats", stats),
    ]
    uvicorn.run(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- report ----------------------------------------------------------------------------------------------------
@dataclass
class Report:
    command: str
    started: datetime
    db: str
    server: str
    events: int
    subset: int
    load_seconds: float = 0.0
    settle_seconds: float = 0.0  # from the server's first answer until it was idle
    record_bytes: float = 0.0
    dump: Dump | None = None
    pulls: list[Pull] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)
    total_seconds: float = 0.0
    load: list[str] = field(default_factory=list)  # /proc/loadavg's 1-minute figure at the start and at the end


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for name in ("signwatch", "granian", "uvicorn", "SQLAlchemy", "httpx", "redis"):
        with contextlib.suppress(PackageNotFoundError):
            versions.append(f"{name} {version(name)}")
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": ", ".join(versions),
        "revision": revision(),
    }


def revision() -> str:
    """The commit of the code measured, and whether src/ had uncommitted changes (read-only git calls)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=False)
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes in src/" if dirty.stdout.strip() else "")


def loadavg() -> str:
    """The machine's 1-minute load average (other work on it shows here before the bench starts its own)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "unknown"


def mib(n: int) -> str:
    return f"{n / MIB:,.0f}"


def section(r: Report, info: dict[str, str]) -> str:
    limit = r.dump.rate if r.dump else 0.0
    ndjson = next((p for p in r.pulls if p.format == "ndjson"), None)
    store = "SQLite (WAL) in a temporary directory" if r.db == "sqlite" else "a fresh PostgreSQL database"
    lines = [
        SECTION,
        "",
        f"Run {r.started:%Y-%m-%d %H:%M} UTC: `{r.command}`, {r.total_seconds:,.0f} s in all. Machine: "
        f"{info['nproc']} CPUs ({info['cpu']}), Linux {info['kernel']}, Python {info['python']}, SQLite "
        f"{info['sqlite']}; {info['versions']}; code at {info['revision']}. Store: {store}; server: "
        f"`signwatch serve --server {r.server}`. Load average (1 min) at the start and at the end: "
        f"{' / '.join(r.load) or 'unknown'}.",
        "",
        f"{r.events:,} events (3 tenants, 10 types, actor, IPv4/IPv6, geo, user agent, 5 attributes; "
        f"{r.record_bytes:,.0f} bytes per NDJSON record) loaded with `write_batch` in chunks of {LOAD_CHUNK:,} at "
        f"{r.events / r.load_seconds:,.0f} events/s. The server was started on it and left until idle (its rules "
        f"engine folding the loaded events took {r.settle_seconds:,.0f} s) before the pulls. Pages of {PAGE:,}; "
        f"forwarders in NDJSON over the last {r.subset:,} events of the log.",
        "",
        "| measurement | events | s | events/s | MB/s | % of limit | server CPU: busy, µs/event | others "
        "| server RSS MiB: start / 10 % / 50 % / end / max (VmHWM) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    if r.dump:
        d = r.dump
        lines.append(
            f"| limit: {d.tool} | {d.rows:,} | {d.seconds:.1f} | {d.rate:,.0f} | | 100 % | | {d.others:.2f} | |"
        )
    for p in r.pulls:
        share = f"{p.rate / limit:.0%}" if limit else ""
        scope = "all" if p.events >= r.events else "first"
        lines.append(
            f"| HTTP export `format={p.format}` ({scope} {p.events:,}) | {p.events:,} | {p.seconds:.1f} "
            f"| {p.rate:,.0f} | {p.mbps:,.1f} | {share} "
            f"| {p.server_cpu / p.seconds:.0%}, {p.server_cpu / p.events * 1e6:.0f} | {p.others:.2f} "
            f"| {mib(p.rss_start)} / {mib(p.rss_10)} / {mib(p.rss_50)} / {mib(p.rss_end)} / {mib(p.rss_max)} "
            f"({mib(p.hwm_end)}) |"
        )
    for f in r.forwards:
        lines.append(
            f"| Forwarder → {f.sink}, batch {f.batch:,} | {f.events:,} | {f.seconds:.1f} | {f.rate:,.0f} | | | "
            f"| {f.others:.2f} | |"
        )
    lines.append("")
    if ndjson and limit:
        percent = ndjson.rate / limit * 100
        verdict = "met" if percent >= GOAL_PERCENT else "**NOT met**"
        lines += [
            f"NDJSON export: {percent:.0f} % of the store's own dump rate (goal ≥ {GOAL_PERCENT:.0f} %: {verdict}).",
            "",
        ]
    worst = max([r.dump.others if r.dump else 0.0, *(p.others for p in r.pulls), *(f.others for f in r.forwards)])
    if worst > DISTURBED:
        lines += [
            f"**Disturbed:** other processes kept up to {worst:.2f} of the {info['nproc']} CPUs busy during the "
            "measurements (`others`): the figures are low by about that share; rerun on a quiet machine to compare.",
            "",
        ]
    lines.append(
        "`MB/s`: response bodies, MiB per second. `server CPU`: CPU time of the app process over the pull's wall "
        "time (100 % = one core busy), and per event exported. `others`: CPUs busy on average with anything but "
        "the measured processes (this client or forwarder, the server, the HEC receiver, redis-server; on "
        "PostgreSQL the database's own backends count here too). RSS of the app process, sampled every 20 ms: "
        "before the pull, once 10 % and 50 % of it were in, at its end and the most seen during it; VmHWM is the "
        "process's lifetime peak. A forwarder run includes reading the store, formatting, the sink's "
        "acknowledgement and the checkpoint commit per batch."
    )
    return "\n".join(lines) + "\n"


# -- main ------------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--events", type=int, help="events to load (1,000,000; 20,000 with --quick)")
    p.add_argument("--subset", type=int, help="events for the non-NDJSON formats and forwarders (200,000)")
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="the store (sqlite)")
    p.add_argument("--server", choices=("granian", "uvicorn"), default="granian", help="ASGI server (granian)")
    p.add_argument("--quick", action="store_true", help="a smoke run: everything small")
    p.add_argument("--skip-forward", action="store_true", help="measure the HTTP export only")
    p.add_argument("--formats", default=",".join(FORMATS), help=f"formats to pull ({','.join(FORMATS)})")
    p.add_argument("--out", type=Path, help="also write the markdown section to this file")
    p.add_argument("--workdir", type=Path, help="keep the database and logs here (default: a temporary dir)")
    p.add_argument("--hec-receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the receiver subprocess
    args = p.parse_args(argv)
    if args.events is None:
        args.events = 20_000 if args.quick else 1_000_000
    if args.subset is None:
        args.subset = 5_000 if args.quick else 200_000
    args.subset = min(args.subset, args.events)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if not args.formats or not set(args.formats) <= set(FORMATS):
        p.error(f"--formats: choose from {', '.join(FORMATS)}")
    if args.events < 1 or args.subset < 1:
        p.error("--events and --subset must be positive")
    return args


def run(args: argparse.Namespace, workdir: Path, report: Report) -> None:
    n, subset = args.events, args.subset
    with Database.fresh(args.db, workdir) as db:
        store = open_store(db.url)
        store.upgrade()
        print(f"loading {n:,} events into {args.db} ...", flush=True)
        report.load_seconds = load(store, n)
        report.record_bytes = sum(len(orjson.dumps(make_event(i).to_wire())) for i in range(100)) / 100
        print(f"loaded in {report.load_seconds:.1f} s ({n / report.load_seconds:,.0f} events/s)", flush=True)
        _, token = create_token(store, "bench", frozenset({"export:read"}), None)

        report.dump = dump(db, n)
        d = report.dump
        print(f"limit: {d.rate:,.0f} rows/s ({d.seconds:.1f} s)  others {d.others:.2f} CPUs", flush=True)

        server, base = signwatch_server(db, workdir, args.server)
        headers = {"Authorization": f"Bearer {token}"}
        with running(server, f"{base}/healthz"), httpx.Client(headers=headers, timeout=120.0) as client:
            warm = client.get(base + EXPORT_PATH, params={"format": "ndjson", "limit": "10"})
            if warm.status_code != 200:
                raise BenchError(f"export answered HTTP {warm.status_code}: {warm.text[:300]}")
            print("waiting for the server to settle (its rules engine folds the loaded events) ...", flush=True)
            report.settle_seconds = settle(server.pids())
            print(f"settled after {report.settle_seconds:.0f} s", flush=True)
            app = server.app_pid()
            for fmt in args.formats:
                result = pull(client, base, fmt, n if fmt == "ndjson" else subset, app, server.pids())
                report.pulls.append(result)
                print(
                    f"export {fmt:<6} {result.events:>9,} events {result.seconds:6.1f} s {result.rate:>9,.0f}/s "
                    f"{result.mbps:6.1f} MB/s  server CPU {result.server_cpu / result.seconds:.0%} "
                    f"{result.server_cpu / result.events * 1e6:.0f} µs/event  RSS MiB "
                    f"{mib(result.rss_start)} / {mib(result.rss_10)} / {mib(result.rss_50)} / {mib(result.rss_end)} / "
                    f"{mib(result.rss_max)}  "
                    f"others {result.others:.2f} CPUs",
                    flush=True,
                )
        if args.skip_forward:
            store.close()
            return

        box = SecretBox.from_passphrase(SECRET_KEY)
        start = store.log_end() - subset
        hec_token = secrets.token_hex(16)
        port = free_port()
        env = {**os.environ, HEC_TOKEN_ENV: hec_token}
        receiver = Process("HEC receiver", [PYTHON, __file__, "--hec-receiver", str(port)], env, workdir,
                           workdir / "hec.log")  # fmt: skip
        hec_base = f"http://127.0.0.1:{port}"
        with running(receiver, f"{hec_base}/services/collector/health"):
            for batch in BATCHES:
                for sent in (
                    to_redis(store, box, batch, start, subset),
                    to_hec(store, box, receiver, hec_base, hec_token, batch, start, subset),
                ):
                    report.forwards.append(sent)
                    print(
                        f"forward {sent.sink:<14} batch {batch:>5,}: {sent.events:,} events {sent.seconds:6.1f} s "
                        f"{sent.rate:>9,.0f}/s  others {sent.others:.2f} CPUs",
                        flush=True,
                    )
        store.close()


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through `running`, which stops the subprocesses


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hec_receiver is not None:
        hec_receiver(args.hec_receiver)
        return 0
    if not Path(SIGNWATCH).exists():
        print(f"{SIGNWATCH} not found: run with the project's venv, .venv/bin/python", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    command = shlex.join([".venv/bin/python", "bench/export.py", *(sys.argv[1:] if argv is None else argv)])
    report = Report(command, datetime.now(UTC), args.db, args.server, args.events, args.subset, load=[loadavg()])
    started = time.monotonic()
    try:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            run(args, args.workdir, report)
        else:
            with tempfile.TemporaryDirectory(prefix="signwatch-bench-export-") as tmp:
                run(args, Path(tmp), report)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report.total_seconds = time.monotonic() - started
    report.load = [report.load[0] if report.load else "unknown", loadavg()]
    text = section(report, machine())
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
