"""The hand-written webhook receiver that bench/ingest.py measures signwatch against.

What one would write in an afternoon: FastAPI on uvicorn (one worker, uvloop + httptools), HMAC-SHA256 of the
raw body checked in constant time, the JSON parsed, one row inserted and committed per request, then 202.
SQLite runs in WAL mode with `synchronous=FULL`, the durability signwatch gives: an answered request
survives power loss. The handler commits on the event loop itself, the fastest simple form for one SQLite
connection (a thread pool would still serialise on the write lock and add a hop per request).

    python bench/baseline_receiver.py --db /tmp/baseline.db --port 8124 --key 0123456789abcdef0123
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sqlite3
import time

import orjson
import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import Response

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    envelope_id TEXT NOT NULL,
    created_at TEXT,
    received_at REAL NOT NULL,
    body BLOB NOT NULL
)
"""
INSERT = (
    "INSERT OR IGNORE INTO events (id, tenant, type, envelope_id, created_at, received_at, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
JSON = "application/json"


def open_db(path: str) -> sqlite3.Connection:
    """One autocommit connection (transactions are explicit), WAL, fsync on every commit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(SCHEMA)
    return conn


def create_app(conn: sqlite3.Connection, key: str) -> FastAPI:
    secret = key.encode()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    @app.post("/webhooks/atlas/{tenant}")
    async def receive(tenant: str, request: Request) -> Response:
        body = await request.body()
        given = request.headers.get("x-atlas-signature", "").encode()
        expected = b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(given, expected):
            return Response(b'{"error":"bad_signature"}', status_code=401, media_type=JSON)
        try:
            payload = orjson.loads(body)
            row = (str(payload["id"]), tenant, str(payload["event"]), str(payload["envelope_id"]),
                   payload.get("created_at"), time.time(), body)  # fmt: skip
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return Response(b'{"error":"bad_json"}', status_code=400, media_type=JSON)
        conn.execute("BEGIN IMMEDIATE")
        try:
            inserted = conn.execute(INSERT, row).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not inserted:
            return Response(b'{"status":"duplicate"}', status_code=200, media_type=JSON)
        return Response(b'{"status":"stored"}', status_code=202, media_type=JSON)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLite file (created when missing)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True, help="HMAC key of the webhooks (the tenant's API key)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app = create_app(open_db(args.db), args.key)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
