"""Bulk paths into SQLite: events/s of the store's batch append (what replay and the poller call) and of a
full replay of archived deliveries (verify, parse, normalize, enrich, upsert). Usage: python bench/bulk.py [N]"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from signwatch.crypto import SecretBox
from signwatch.events import Actor, Event, Geo
from signwatch.geo import GeoResolver
from signwatch.ingest import KeyRing, replay
from signwatch.sources.signatures import sign
from signwatch.store import DeliveryRecord, WriteItem, open_store
from signwatch.tenants import add_tenant

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def main(n: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bulk.db'}")
        store.upgrade()
        events = [
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
        started = time.perf_counter()
        for k in range(0, n, 5000):
            store.write_batch([WriteItem(None, e) for e in events[k : k + 5000]])
        append_rate = n / (time.perf_counter() - started)

        box = SecretBox.from_passphrase("bench")
        add_tenant(store, box, "globex", "globex-key-0123456789", "UTC")
        deliveries = []
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
            deliveries.append(
                WriteItem(
                    DeliveryRecord(
                        id=f"dlv_{i:09d}",
                        received_at=T0,
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
        for k in range(0, n, 5000):
            store.write_batch(deliveries[k : k + 5000])
        geo = GeoResolver()
        geo.warm()
        started = time.perf_counter()
        report = replay(store, KeyRing(store, box, 60), geo.lookup, T0 - timedelta(days=1), T0 + timedelta(days=1))
        replay_rate = n / (time.perf_counter() - started)
        assert report.inserted == n, report
        print(f"batch append (poll path): {append_rate:,.0f} events/s; replay: {replay_rate:,.0f} events/s (n={n})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
