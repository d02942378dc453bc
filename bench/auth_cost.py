"""What the token check costs a request: bearer-token authentication against a data-API request (issue 5's goal:
under 5 % of a data-API request).

One run, on a fresh store (SQLite in a temporary directory, or a fresh PostgreSQL database with
`--db postgresql`) holding `--events` synthetic events and `--tokens` tokens (so the token lookup is an index
probe in a table of realistic size), measures:

1. **In process**: `signwatch.auth.tokens.authenticate` (hash the presented token, look it up by its unique
   hash index, check revocation and expiry) called `--calls` times: µs per check (median and mean).
2. **Over HTTP**, against a real `signwatch serve` subprocess (rules engine off, so nothing else runs), with
   one keep-alive httpx client, `--requests` sequential requests each, median and p95 latency of:
   - `GET /healthz` — no authentication (the floor: HTTP, routing, JSON);
   - `GET /auth/me` — the token check and nothing else;
   - `GET /monitor/v2/data?limit=100` — a data-API page (token check, query, audit record, 100 events).
   The token check's cost over HTTP is `/auth/me` less `/healthz`.

Reported: both costs as a percentage of the data request's median.

    .venv/bin/python bench/auth_cost.py
    .venv/bin/python bench/auth_cost.py --db postgresql
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from signwatch.auth.tokens import authenticate, create_token
from signwatch.events import Actor, Event, Geo, event_id
from signwatch.store import SqlStore, WriteItem, open_store

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("SIGNWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--tokens", type=int, default=1_000)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.db, Path(tmp))
        try:
            run(url, args)
        finally:
            drop()


def database(kind: str, tmp: Path) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'auth.db'}", lambda: None
    import psycopg

    name = f"sw_auth_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


def load(store: SqlStore, events: int, tokens: int) -> str:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for chunk in range(0, events, 5_000):
        store.write_batch(
            [
                WriteItem(
                    None,
                    Event(
                        id=event_id("acme", "bench", str(i)),
                        tenant="acme",
                        source="atlas",
                        type=("envelope.sent", "envelope.signed", "envelope.voided")[i % 3],
                        occurred_at=start + timedelta(seconds=i),
                        envelope_id=f"env-{i // 3}",
                        actor=Actor(f"u{i % 200}", f"user{i % 200}@acme.example"),
                        geo=Geo(),
                    ),
                )
                for i in range(chunk, min(events, chunk + 5_000))
            ]
        )
    for i in range(tokens - 1):
        create_token(store, f"filler-{i}", frozenset({"monitor:read"}), None)
    _, secret = create_token(store, "bench", frozenset({"monitor:read"}), frozenset({"acme"}))
    return secret


def in_process(store: SqlStore, secret: str, calls: int) -> list[float]:
    for _ in range(200):
        authenticate(store, secret)
    out = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        caller = authenticate(store, secret)
        out.append((time.perf_counter_ns() - t0) / 1000)
        assert caller is not None
    return out


def over_http(url: str, secret: str, requests: int) -> dict[str, list[float]]:
    port = free_port()
    env = {**os.environ, "SIGNWATCH_RULES_ENGINE": "false", "SIGNWATCH_SECRET_KEY": "bench-" + "k" * 40}
    server = subprocess.Popen(
        [sys.executable, "-m", "signwatch", "serve", "--db", url, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {secret}"}
        paths = {
            "GET /healthz": ("/healthz", {}),
            "GET /auth/me": ("/auth/me", auth),
            "GET /monitor/v2/data?limit=100": ("/monitor/v2/data?limit=100", auth),
        }
        out: dict[str, list[float]] = {}
        with httpx.Client(base_url=base, timeout=30) as client:
            for name, (path, headers) in paths.items():
                for _ in range(50):
                    client.get(path, headers=headers).raise_for_status()
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter_ns()
                    client.get(path, headers=headers).raise_for_status()
                    times.append((time.perf_counter_ns() - t0) / 1000)
                out[name] = times
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(url: str, args: argparse.Namespace) -> None:
    store = open_store(url)
    store.upgrade()
    secret = load(store, args.events, args.tokens)
    checks = in_process(store, secret, args.calls)
    store.close()
    http = over_http(url, secret, args.requests)
    data = statistics.median(http["GET /monitor/v2/data?limit=100"])
    check = statistics.median(checks)
    over = statistics.median(http["GET /auth/me"]) - statistics.median(http["GET /healthz"])
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `bench/auth_cost.py --db {args.db}`, {args.events:,} events, "
          f"{args.tokens:,} tokens; {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f} at the end.\n")  # fmt: skip
    print("| measurement | median µs | p95 µs | % of a data request |")
    print("|---|--:|--:|--:|")
    print(f"| authenticate() in process ({args.calls:,} calls) | {check:,.0f} | {p95(checks):,.0f} | "
          f"{100 * check / data:.1f} % |")  # fmt: skip
    for name, times in http.items():
        print(f"| {name} ({args.requests:,} requests) | {statistics.median(times):,.0f} | {p95(times):,.0f} | "
              f"{100 * statistics.median(times) / data:.1f} % |")  # fmt: skip
    print(f"| token check over HTTP (/auth/me less /healthz) | {over:,.0f} | | {100 * over / data:.1f} % |")


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
