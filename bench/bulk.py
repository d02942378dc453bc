"""Bulk paths into SQLite: events/s of the store's batch append (`write_batch`, 5,000 polled events per
transaction: the poller's path) and of a full replay of archived deliveries (read back, verify, parse, normalize,
enrich, `apply_replay`, which shares the append's row building and envelope state).

Each run also times a yardstick on a fresh database of the same schema and pragmas (WAL, synchronous=FULL):
Python's sqlite3 `executemany` of the same events' rows, 5,000 per transaction, with nothing else around it.
The machine is shared, so absolute figures move with its load; the ratio of a path to the yardstick of the
same run moves much less. Also given: the process's CPU time per path (n / CPU seconds), and the load average.

Usage: python bench/bulk.py [N] [--runs R]   (default 100,000 events, 1 run; with R > 1, medians at the end)
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from signwatch.crypto import SecretBox
from signwatch.events import Actor, Event, Geo, to_us
from signwatch.geo import GeoResolver
from signwatch.ingest import KeyRing, replay
from signwatch.sources.signatures import sign
from signwatch.store import DeliveryRecord, WriteItem, open_store
from signwatch.tenants import add_tenant

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BATCH = 5000
EVENT_COLUMNS = (
    "id, tenant, source, type, occurred_us, ingested_us, envelope_id, actor_id, actor_email, ip_address, country, "
    "asn, network, city, user_agent, client_reference_id, business_unit, attributes, delivery_id"
)


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of `run()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def poll_events(n: int) -> list[Event]:
    return [
        Event(
            id=f"ev_{i}",
            tenant="acme",
            source="poll",
            type="envelope.sent",
            occurred_at=T0 + timedelta(seconds=i),
            envelope_id=f"env_{i}",
            actor=Actor("u1", "a@x.example"),
            ip_address="81.2.69.142",
            geo=Geo("GB", "AAISP", "81.2.64.0/18"),
            attributes={"i": i},
        )
        for i in range(n)
    ]


def yardstick(tmp: Path, events: list[Event]) -> tuple[float, float]:
    """Plain sqlite3 executemany of the events' rows into a fresh database of the same schema and pragmas."""
    path = tmp / "yardstick.db"
    store = open_store(f"sqlite:///{path}")
    store.upgrade()
    store.close()
    now = to_us(datetime.now(UTC))
    rows = [
        (
            *(e.id, e.tenant, e.source, e.type, to_us(e.occurred_at), now, e.envelope_id, e.actor.id, e.actor.email),
            *(e.ip_address, e.geo.country, e.geo.asn, e.geo.network, e.geo.city, e.user_agent),
            *(e.client_reference_id, e.business_unit, orjson.dumps(e.attributes).decode(), e.delivery_id),
        )
        for e in events
    ]
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    sql = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join(['?'] * 19)})"

    def insert() -> None:
        for k in range(0, len(rows), BATCH):
            con.execute("BEGIN IMMEDIATE")
            con.executemany(sql, rows[k : k + BATCH])
            con.execute("COMMIT")

    try:
        return timed(insert)
    finally:
        con.close()


def deliveries(n: int) -> list[WriteItem]:
    out = []
    for i in range(n):
        body = orjson.dumps(
            {
                "id": f"r{i}",
                "event": "envelope.signed",
                "created_at": "2026-11-02T10:00:00Z",
                "envelope_id": f"renv_{i}",
                "data": {
                    "sender": {"user_id": "u", "email": "e@x.example"},
                    "ip_address": f"81.2.{64 + i % 60}.{i % 250}",
                },
            }
        )
        out.append(
            WriteItem(
                DeliveryRecord(
                    id=f"dlv_{i:09d}",
                    received_at=T0 + timedelta(milliseconds=i),  # distinct, as receipt times are
                    tenant="globex",
                    source="atlas",
                    path="/webhooks/atlas/globex",
                    headers={},
                    signature=sign(body, "globex-key-0123456789"),
                    body=body,
                    body_size=len(body),
                    verdict="bad_json",
                    status_code=400,
                )
            )
        )
    return out


def one_run(n: int) -> dict[str, tuple[float, float]]:
    """{measurement: (wall seconds, CPU seconds)} of one run on fresh databases."""
    events = poll_events(n)
    with tempfile.TemporaryDirectory() as tmp:
        out = {"yardstick": yardstick(Path(tmp), events)}
        store = open_store(f"sqlite:///{Path(tmp) / 'bulk.db'}")
        store.upgrade()

        def append() -> None:
            for k in range(0, n, BATCH):
                store.write_batch([WriteItem(None, e) for e in events[k : k + BATCH]])

        out["batch append"] = timed(append)
        box = SecretBox.from_passphrase("bench")
        add_tenant(store, box, "globex", "globex-key-0123456789", "UTC")
        archived = deliveries(n)
        for k in range(0, n, BATCH):
            store.write_batch(archived[k : k + BATCH])
        geo = GeoResolver()
        geo.warm()
        keyring = KeyRing(store, box, 60)
        report = None

        def replay_all() -> None:
            nonlocal report
            report = replay(store, keyring, geo.lookup, T0 - timedelta(days=1), T0 + timedelta(days=1))

        out["replay"] = timed(replay_all)
        assert report is not None and report.inserted == n, report
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="events per path (100,000)")
    parser.add_argument("--runs", type=int, default=1, help="runs; medians at the end (1)")
    args = parser.parse_args()
    n = args.n
    rates: dict[str, list[tuple[float, float, float, float]]] = {}
    for run in range(1, args.runs + 1):
        load = os.getloadavg()
        result = one_run(n)
        yard_wall, yard_cpu = (n / s for s in result["yardstick"])
        print(f"run {run}: n={n:,}, load average {load[0]:.1f} -> {os.getloadavg()[0]:.1f}")
        for name, (wall, cpu) in result.items():
            row = (n / wall, n / wall / yard_wall, n / cpu, n / cpu / yard_cpu)
            rates.setdefault(name, []).append(row)
            print("  " + line(name, row))
    if args.runs > 1:
        print(f"median of {args.runs} runs:")
        for name, rows in rates.items():
            print("  " + line(name, tuple(statistics.median(r[i] for r in rows) for i in range(4))))


def line(name: str, row: tuple[float, ...]) -> str:
    wall, wall_ratio, cpu, cpu_ratio = row
    return f"{name:<13} {wall:>7,.0f} events/s ({wall_ratio:.2f} of yardstick); CPU {cpu:>7,.0f}/s ({cpu_ratio:.2f})"


if __name__ == "__main__":
    main()
