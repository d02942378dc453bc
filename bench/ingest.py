"""Webhook ingest benchmark: signwatch against a hand-written receiver, over HTTP, nothing lost.

For each connection count and server (the hand-written FastAPI + SQLite receiver of
bench/baseline_receiver.py, then `signwatch serve` on granian and on uvicorn), each on a fresh database:

1. start the server and wait for `GET /healthz`;
2. warm it up with wrk on bodies of their own;
3. run wrk (bench/ingest.lua) for a fixed time: every request a different pre-signed body, each sent once;
4. count the rows stored while the server still runs, and check every 202 answered is among them;
5. read the group-commit histograms from signwatch's `/metrics`, then stop the server.

It prints a table, writes the generated block of the "Webhook ingest" section of docs/benchmarks.md and keeps
the raw figures in bench/results/. Exit status: 0 ok, 1 an acknowledged delivery was lost (or the goal was
missed with --require-goal), 2 the bench itself failed (a server would not start, the bodies ran out, ...).

    .venv/bin/python bench/ingest.py                        # 16 and 64 connections, 15 s per server
    .venv/bin/python bench/ingest.py --connections 256 --duration 10 --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SIGNWATCH = str(Path(PYTHON).with_name("signwatch"))
WRK_SCRIPT = BENCH / "ingest.lua"
TENANT = "acme"
API_KEY = "0123456789abcdef0123"
SECRET_KEY = "bench-passphrase"
PATH = f"/webhooks/atlas/{TENANT}"
SERVERS = ("baseline", "granian", "uvicorn")
GOAL_RATIO = 3.0
GOAL_P99_MS = 50.0
BEGIN = "<!-- bench/ingest.py: generated, do not edit by hand -->"
END = "<!-- bench/ingest.py: end -->"
SECTION = "## Webhook ingest"

# One envelope's life, in order: every body is a new (envelope, type) pair, so none is a duplicate.
LIFECYCLE = tuple(f"envelope.{step}" for step in ("sent", "delivered", "viewed", "signed", "completed"))
SIGNER_TYPES = frozenset(LIFECYCLE[1:4])
IPS = ("81.2.69.142", "185.86.151.11", "2a02:8106:1::1", "52.95.110.1", "94.130.10.5", "203.0.113.9")
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X)", "okhttp/4")
UNITS = ("sales", "legal", "hr", "procurement")


class BenchError(Exception):
    """The bench could not measure (as opposed to: it measured a loss)."""


# -- bodies ------------------------------------------------------------------------------------------------
def body(prefix: str, n: int) -> bytes:
    """The n-th delivery of a run: unique event id, five events per envelope, a realistic Atlas payload."""
    envelope, step = divmod(n, len(LIFECYCLE))
    etype = LIFECYCLE[step]
    at = datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(seconds=n)
    user = f"u{envelope % 97}"
    data: dict[str, Any] = {
        "sender": {"user_id": user, "email": f"{user}@acme.example"},
        "ip_address": IPS[n % len(IPS)],
        "user_agent": AGENTS[n % len(AGENTS)],
        "metadata": {"client_reference_id": f"CRM-{envelope}", "business_unit": UNITS[envelope % len(UNITS)]},
    }
    if etype in SIGNER_TYPES:
        data["signer"] = {"email": f"signer{envelope % 1009}@customer.example"}
    payload = {
        "id": f"evt_{prefix}_{n:07d}",
        "event": etype,
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "envelope_id": f"env_{prefix}_{envelope:07d}",
        "data": data,
    }
    return orjson.dumps(payload)


def write_bodies(path: Path, prefix: str, count: int, key: str) -> int:
    """Write `count` signed bodies, one "<signature>\\t<body>" a line; return the mean body size."""
    secret = key.encode()
    total = 0
    with path.open("wb") as fh:
        for n in range(count):
            raw = body(prefix, n)
            total += len(raw)
            signature = hmac.new(secret, raw, hashlib.sha256).hexdigest().encode()
            fh.write(b"sha256=" + signature + b"\t" + raw + b"\n")
    return total // max(count, 1)


# -- servers -----------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


class Server:
    """One server process (and its workers) in a process group of its own, on a fresh database."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.db = workdir / f"{kind}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        self.log = workdir / f"{kind}.log"
        self.workdir = workdir  # also the servers' working directory: no ./signwatch.toml of the caller's
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNWATCH_")}
        self.env = {**env, "SIGNWATCH_DB": f"sqlite:///{self.db}", "SIGNWATCH_SECRET_KEY": SECRET_KEY}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "baseline":
            receiver = str(BENCH / "baseline_receiver.py")
            return [PYTHON, receiver, "--db", str(self.db), "--port", str(self.port), "--key", API_KEY]
        return [SIGNWATCH, "serve", "--port", str(self.port), "--server", self.kind]

    def start(self, timeout: float = 60.0) -> None:
        if self.kind != "baseline":
            add = [SIGNWATCH, "tenants", "add", TENANT, "--api-key", API_KEY, "--timezone", "Europe/Berlin"]
            subprocess.run(add, env=self.env, cwd=self.workdir, check=True, capture_output=True, timeout=60)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.kind} exited with {self.proc.returncode}; see {self.log}")
            with contextlib.suppress(OSError):
                if http_get(f"{self.base}/healthz", timeout=1.0)[0] == 200:
                    return
            time.sleep(0.1)
        raise BenchError(f"{self.kind} not ready after {timeout:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        """The server process and its descendants (granian runs the app in a worker process)."""
        if self.proc is None:
            return []
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found: list[int] = []
        todo = [self.proc.pid]
        while todo and len(found) < 1000:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def app_pid(self) -> int:
        """The process running the app: the busiest of the server's processes (granian's worker)."""
        return max(self.pids(), key=lambda pid: self.cpu_seconds([pid]))

    def cpu_seconds(self, pids: Sequence[int] | None = None) -> float:
        """User + system CPU time used so far by the server's processes (live ones)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids() if pids is None else pids:
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def metrics(self) -> str:
        if self.kind == "baseline":
            return ""
        status, text = http_get(f"{self.base}/metrics", timeout=5.0)
        return text.decode() if status == 200 else ""

    def stored(self, prefix: str) -> int:
        """Rows of the run with `prefix` committed so far, read by a connection of our own."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            if self.kind == "baseline":
                sql = "SELECT count(*) FROM events WHERE id LIKE ?"
            else:
                sql = "SELECT count(*) FROM events WHERE json_extract(attributes, '$.sourceEventId') LIKE ?"
            return int(conn.execute(sql, (f"evt_{prefix}_%",)).fetchone()[0])
        finally:
            conn.close()

    def stop(self) -> None:
        """SIGINT to the group, SIGKILL after 10 s: nothing of ours outlives the bench."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group is the process's own id
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


@contextlib.contextmanager
def running(kind: str, workdir: Path) -> Iterator[Server]:
    server = Server(kind, workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- wrk ---------------------------------------------------------------------------------------------------
@dataclass
class Load:
    """What wrk saw: requests written and answered, answers by status, socket errors, latency."""

    sent: int
    completed: int
    seconds: float
    statuses: dict[str, int]
    errors: dict[str, int]
    latency_ms: dict[str, float]
    wrk_cpu: float  # cores used by wrk on average
    output: str


def run_wrk(base: str, bodies: Path, seconds: float, connections: int, threads: int) -> Load:
    cmd = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s",
        "--latency", "-s", str(WRK_SCRIPT), base + PATH, "--", str(bodies), str(threads), PATH,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    if raw["exhausted"]:
        raise BenchError(f"{bodies.name} ran out after {raw['sent']:,} requests: raise --bodies")
    wall = raw["duration_us"] / 1e6
    return Load(
        sent=raw["sent"],
        completed=raw["completed"],
        seconds=wall,
        statuses=raw["statuses"],
        errors={k: v for k, v in raw["errors"].items() if k != "status"},  # non-2xx are in statuses
        latency_ms={k: v / 1000 for k, v in raw["latency_us"].items()},
        wrk_cpu=((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) / wall,
        output=done.stdout,
    )


# -- /metrics histograms -------------------------------------------------------------------------------------
@dataclass
class Histogram:
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count
    count: float = 0.0
    sum: float = 0.0

    def minus(self, other: Histogram) -> Histogram:
        return Histogram(
            {le: n - other.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.count - other.count,
            self.sum - other.sum,
        )

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def quantile_bound(self, q: float) -> float:
        """The smallest bucket bound holding at least fraction `q` of the observations."""
        for le in sorted(self.buckets):
            if self.count and self.buckets[le] >= q * self.count:
                return le
        return float("inf")


def histogram(text: str, name: str) -> Histogram:
    h = Histogram()
    bucket = re.compile(rf'^{name}_bucket\{{le="([^"]+)"\}} (\S+)$')
    for line in text.splitlines():
        if m := bucket.match(line):
            h.buckets[float(m.group(1))] = float(m.group(2))
        elif line.startswith(f"{name}_count "):
            h.count = float(line.split()[1])
        elif line.startswith(f"{name}_sum "):
            h.sum = float(line.split()[1])
    return h


# -- one measurement -----------------------------------------------------------------------------------------
@dataclass
class Result:
    server: str
    connections: int
    threads: int
    rate: float  # answers per second
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    sent: int
    answered: int
    acked: int  # answered 202
    stored: int
    statuses: dict[str, int]
    errors: dict[str, int]
    server_cpu: float  # CPUs busy on average during the run: the server's processes
    wrk_cpu: float  # the load generator
    others_cpu: float  # everything else on the machine (should be near 0 for a clean run)
    commits: int = 0
    batch_mean: float = 0.0
    batch_p50: float = 0.0
    batch_p99: float = 0.0
    commit_ms_mean: float = 0.0
    commit_ms_p99: float = 0.0  # bucket bound

    @property
    def lost(self) -> int:
        return max(0, self.acked - self.stored)

    @property
    def other(self) -> int:
        """Answers other than 202 plus socket errors: none are expected."""
        return self.answered - self.acked + sum(self.errors.values())

    @property
    def label(self) -> str:
        return "baseline" if self.server == "baseline" else f"signwatch + {self.server}"


def measure(kind: str, args: argparse.Namespace, connections: int, bodies: Path, warm: Path) -> Result:
    threads = max(1, min(args.threads, connections))
    with running(kind, args.workdir) as server:
        if args.warmup > 0:
            run_wrk(server.base, warm, args.warmup, connections, threads)
        metrics_before = server.metrics()
        cpu_before, busy_before, wall_before = server.cpu_seconds(), machine_busy(), time.monotonic()
        profiler = None
        if args.profile and kind != "baseline":
            profiler = start_profiler(server, args.profile / f"{kind}-c{connections}.txt", args.duration)
        try:
            load = run_wrk(server.base, bodies, args.duration, connections, threads)
        finally:
            if profiler is not None:
                stop_profiler(profiler)
        wall = time.monotonic() - wall_before
        cpu, busy = (server.cpu_seconds() - cpu_before) / wall, (machine_busy() - busy_before) / wall
        stored = server.stored("r")  # while the server runs: every 202 must be committed already
        metrics_after = server.metrics()
    (args.workdir / f"wrk-{kind}-c{connections}.txt").write_text(load.output)
    result = Result(
        server=kind,
        connections=connections,
        threads=threads,
        rate=load.completed / load.seconds,
        p50_ms=load.latency_ms["p50"],
        p90_ms=load.latency_ms["p90"],
        p99_ms=load.latency_ms["p99"],
        max_ms=load.latency_ms["max"],
        sent=load.sent,
        answered=load.completed,
        acked=load.statuses.get("202", 0),
        stored=stored,
        statuses=load.statuses,
        errors=load.errors,
        server_cpu=cpu,
        wrk_cpu=load.wrk_cpu,
        others_cpu=max(0.0, busy - cpu - load.wrk_cpu),
    )
    if metrics_after:
        batches = histogram(metrics_after, "signwatch_commit_batch_size")
        batches = batches.minus(histogram(metrics_before, "signwatch_commit_batch_size"))
        commit = histogram(metrics_after, "signwatch_commit_seconds")
        commit = commit.minus(histogram(metrics_before, "signwatch_commit_seconds"))
        result.commits = int(batches.count)
        result.batch_mean = batches.mean
        result.batch_p50 = batches.quantile_bound(0.5)
        result.batch_p99 = batches.quantile_bound(0.99)
        result.commit_ms_mean = commit.mean * 1000
        result.commit_ms_p99 = commit.quantile_bound(0.99) * 1000
    return result


# -- profiling -----------------------------------------------------------------------------------------------
def start_profiler(server: Server, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy on the process running the app (granian's worker, uvicorn's own), GIL holders only."""
    exe = shutil.which("py-spy") or str(Path(PYTHON).with_name("py-spy"))
    if not Path(exe).exists():
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    cmd = [exe, "record", "--pid", str(server.app_pid()), "--duration", f"{max(1, int(seconds) - 1)}",
           "--rate", "200", "--gil", "--threads", "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def profile_summary(path: Path, top: int = 12) -> list[str]:
    """The functions holding the GIL most, inclusive and self, from a py-spy raw (collapsed) profile."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r" \(.*/(site-packages|src)/", " (", f) for f in stack.split(";")[1:]]
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + n
    if not total:
        return [f"{path.name}: no samples"]
    lines = [f"{path.name}: {total} samples with the GIL held; self time:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]]
    lines.append("  inclusive, signwatch frames:")
    entry = re.compile(r"signwatch/(cli|serving)\.py")  # the frames every sample has
    ours = [(f, n) for f, n in inclusive.items() if "signwatch/" in f and not entry.search(f)]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in sorted(ours, key=lambda kv: -kv[1])[:top]]
    return lines


# -- report ------------------------------------------------------------------------------------------------
def machine_busy() -> float:
    """CPU seconds the machine has been busy or taken by the hypervisor (steal) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def fsync_ms(directory: Path, rounds: int = 100) -> float:
    """Mean time of one 4 KiB write + fsync in `directory`: the floor of one durable commit."""
    probe = directory / "fsync.probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        started = time.perf_counter()
        for _ in range(rounds):
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        return (time.perf_counter() - started) / rounds * 1000
    finally:
        os.close(fd)
        probe.unlink()


def machine(workdir: Path) -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split()
    df = subprocess.run(["df", "-T", str(workdir)], capture_output=True, text=True, check=False)
    fs = df.stdout.split()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "wrk": " ".join(wrk[:2]),
        "filesystem": fs[-6] if len(fs) >= 7 else "?",
        "fsync_ms": f"{fsync_ms(workdir):.2f}",
        "revision": revision(),
    }


def revision() -> str:
    """The commit of the code measured, and whether src/ had uncommitted changes (read-only git calls)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes in src/" if dirty.stdout.strip() else "")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    names = ("signwatch", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "granian", "SQLAlchemy")
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def table(results: Sequence[Result]) -> list[str]:
    rows = [
        "| server | conns | req/s | p50 ms | p99 ms | max ms | sent | 202 | other | stored | lost "
        "| CPUs: server / wrk / others | commits | batch mean / p50 / p99 |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        commits, batch = f"{r.stored:,}", "1"
        if r.commits:
            commits, batch = f"{r.commits:,}", f"{r.batch_mean:.1f} / ≤{r.batch_p50:g} / ≤{r.batch_p99:g}"
        rows.append(
            f"| {r.label} | {r.connections} | {r.rate:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.max_ms:,.0f} | {r.sent:,} | {r.acked:,} | {r.other} | {r.stored:,} | {r.lost} "
            f"| {r.server_cpu:.2f} / {r.wrk_cpu:.2f} / {r.others_cpu:.2f} "
            f"| {commits} | {batch} |"
        )
    return rows


def verdicts(results: Sequence[Result]) -> tuple[list[str], bool]:
    """One line per connection count and signwatch server: ratio to the baseline and the goal."""
    lines, met = [], False
    for conns in sorted({r.connections for r in results}):
        base = next((r for r in results if r.connections == conns and r.server == "baseline"), None)
        if base is None or not base.rate:
            continue
        for r in results:
            if r.connections != conns or r.server == "baseline":
                continue
            ratio = r.rate / base.rate
            ok = ratio >= GOAL_RATIO and r.p99_ms < GOAL_P99_MS and r.lost == 0 and r.other == 0
            met |= ok
            lines.append(
                f"- {conns} connections, {r.label}: **{ratio:.2f} x** the baseline ({r.rate:,.0f} vs "
                f"{base.rate:,.0f} req/s), p99 {r.p99_ms:.1f} ms vs {base.p99_ms:.1f} ms: "
                f"goal {'met' if ok else 'NOT met'}"
            )
    return lines, met


def disturbed(results: Sequence[Result], limit: float = 0.2) -> list[str]:
    """A warning when other processes took CPU during the runs: such figures are not comparable."""
    worst = max((r.others_cpu for r in results), default=0.0)
    if worst <= limit:
        return []
    return [
        f"- **Disturbed:** other processes kept up to {worst:.2f} CPUs busy during the runs (`others`): "
        "rerun on a quiet machine before comparing these figures."
    ]


def section(results: Sequence[Result], info: dict[str, str], args: argparse.Namespace, command: str) -> str:
    lines = [
        BEGIN,
        f"Last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`, {args.duration:g} s of load per "
        f"server after {args.warmup:g} s of warm-up, wrk with {args.threads} threads.",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Linux {info['kernel']}, Python {info['python']}, "
        f"SQLite {info['sqlite']}, {info['wrk']}; databases on {info['filesystem']}, where one 4 KiB write + "
        f"fsync takes {info['fsync_ms']} ms. Code at {info['revision']}; "
        + ", ".join(f"{k} {v}" for k, v in versions().items())
        + ".",
        "",
        *table(results),
        "",
        f"Goal: signwatch at least {GOAL_RATIO:g} x the baseline's rate with p99 under {GOAL_P99_MS:g} ms "
        "and nothing lost.",
        "",
        *verdicts(results)[0],
        *disturbed(results),
        "",
        "`sent`: requests wrk wrote, each with a different body; `202`: answered stored; `other`: any other "
        "answer or socket error; `stored`: rows of the run in the database, counted while the server still "
        "ran; `lost`: 202 answers without their row (stored exceeds 202 by the requests in flight when wrk "
        "stopped). `CPUs`: CPUs busy on average during the run, by the server's processes, by wrk and by "
        "anything else on the machine, hypervisor steal included (a clean run has ~0 others). Batch sizes "
        "are read from signwatch's `signwatch_commit_batch_size` histogram (bucket bounds); the baseline "
        "commits every row.",
        END,
    ]
    return "\n".join(wrap(line) for line in lines)


def wrap(line: str, width: int = 110) -> str:
    """Prose wrapped like the rest of the docs; table rows and list items stay on one line."""
    if line.startswith(("|", "- ", "<!--")) or len(line) <= width:
        return line
    return textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)


INTRO = """\
`bench/ingest.py` measures verified, durable webhook ingest over HTTP. wrk (`bench/ingest.lua`) sends
pre-signed, distinct Atlas deliveries, each exactly once (wrk thread k sends lines k, k+T, ... of the bodies
file), to a server on a fresh SQLite database; afterwards the rows are counted and every 202 must have its
row. The yardstick, `bench/baseline_receiver.py`, is the receiver one would write by hand: FastAPI on uvicorn
(one worker, uvloop + httptools), HMAC check, JSON parse, one row inserted and committed per request, WAL
with `synchronous=FULL` like signwatch. signwatch does more per delivery: it archives the delivery,
normalises and geo-enriches the event, dedupes it and keeps the envelope state, all in one group commit.
"""


def write_docs(path: Path, block: str) -> None:
    """Put `block` in the Webhook ingest section of `path`, keeping everything else of the file.

    Only the generated block is replaced when it is there, so notes written by hand around it stay; a
    section without the block is rewritten whole; a file without the section gets it appended.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(SECTION)), None)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    elif start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = [*lines[:start], SECTION, "", *INTRO.splitlines(), "", *block.splitlines(), "", *lines[end:]]
        text = "\n".join(new).rstrip() + "\n"
    else:
        text = f"{text.rstrip()}\n\n{SECTION}\n\n{INTRO}\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- main --------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connections", default="16,64", help="comma-separated connection counts (16,64)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of measured load per server (15)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load per server (2)")
    p.add_argument("--bodies", type=int, default=200_000, help="distinct bodies per run (200000)")
    p.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated, of {','.join(SERVERS)}")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/signwatch-bench"), help="databases, logs")
    p.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md", help="the file to update")
    p.add_argument("--no-docs", action="store_true", help="leave the docs alone")
    p.add_argument("--profile", type=Path, help="py-spy profiles of signwatch into this dir")
    p.add_argument("--require-goal", action="store_true", help="exit 1 unless the goal is met")
    args = p.parse_args(argv)
    try:
        args.connection_counts = [int(c) for c in args.connections.split(",") if c.strip()]
    except ValueError:
        p.error("--connections: comma-separated integers")
    args.server_kinds = [s.strip() for s in args.servers.split(",") if s.strip()]
    if unknown := set(args.server_kinds) - set(SERVERS):
        p.error(f"unknown servers {sorted(unknown)}")
    if not args.server_kinds or not args.connection_counts or min(args.connection_counts) < 1:
        p.error("nothing to run")
    if not 0 < args.duration <= 300 or not 0 <= args.warmup <= 60 or not 1 <= args.threads <= 64:
        p.error("--duration must be in (0, 300], --warmup in [0, 60], --threads in [1, 64]")
    return args


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through `running`, which stops the server


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    if not Path(SIGNWATCH).exists():
        print(f"{SIGNWATCH} not found: run with the project's venv, .venv/bin/python", file=sys.stderr)
        return 2
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    command = shlex.join([".venv/bin/python", "bench/ingest.py", *(sys.argv[1:] if argv is None else argv)])
    started = time.monotonic()
    info = machine(args.workdir)
    bodies, warm = args.workdir / "bodies.txt", args.workdir / "warmup.txt"
    size = write_bodies(bodies, "r", args.bodies, API_KEY)
    write_bodies(warm, "w", max(20_000, args.bodies // 4), API_KEY)
    print(f"{args.bodies:,} bodies of {size} bytes on average; {info}", flush=True)
    results: list[Result] = []
    try:
        for conns in args.connection_counts:
            for kind in args.server_kinds:
                r = measure(kind, args, conns, bodies, warm)
                results.append(r)
                print(
                    f"{r.label:<20} c={conns:<4} {r.rate:>8,.0f} req/s  p50 {r.p50_ms:6.1f} ms  "
                    f"p99 {r.p99_ms:7.1f} ms  sent {r.sent:,}  202 {r.acked:,}  stored {r.stored:,}  "
                    f"lost {r.lost}  other {r.other}  "
                    f"CPUs {r.server_cpu:.2f} / {r.wrk_cpu:.2f} / {r.others_cpu:.2f}",
                    flush=True,
                )
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print("\n" + "\n".join(table(results)))
    lines, met = verdicts(results)
    print("\n".join([*lines, *disturbed(results)]))
    if args.profile:
        for path in sorted(args.profile.glob("*.txt")):
            print("\n".join(profile_summary(path)))
    out = BENCH / "results" / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    report = {"command": command, "machine": info, "versions": versions()}
    out.write_text(json.dumps({**report, "results": [asdict(r) for r in results]}, indent=2) + "\n")
    if not args.no_docs:
        write_docs(args.docs, section(results, info, args, command))
    print(f"raw figures in {out.relative_to(ROOT)}; {time.monotonic() - started:.0f} s in all")
    if lost := sum(r.lost for r in results):
        print(f"FAIL: {lost} deliveries answered 202 are not in the database", file=sys.stderr)
        return 1
    if other := sum(r.other for r in results):
        print(f"FAIL: {other} answers other than 202, or socket errors (all bodies are new)", file=sys.stderr)
        return 1
    if args.require_goal and not met:
        print("goal not met", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
