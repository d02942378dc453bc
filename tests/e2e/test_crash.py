"""kill -9 of a real `signwatch serve` under load: no acknowledged event lost, none stored twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.helpers import atlas_payload, signed

KEY = "crash-test-key-0123456789"
pytestmark = pytest.mark.slow


def start(db: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "signwatch", "serve", "--db", db, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("server did not start")


def test_kill_9_under_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'crash.db'}"
    env = {**os.environ, "SIGNWATCH_SECRET_KEY": "crash-secret"}
    subprocess.run(
        [sys.executable, "-m", "signwatch", "tenants", "add", "acme", "--api-key", KEY, "--db", db],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = start(db, port, env)
    bodies = [signed(atlas_payload(id=f"crash_{i}", envelope=f"env_{i}"), KEY) for i in range(6000)]
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def load(offset: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for i in range(offset, len(bodies), 8):
                if stop.is_set():
                    return
                body, headers = bodies[i]
                try:
                    resp = client.post("/webhooks/atlas/acme", content=body, headers=headers)
                except httpx.HTTPError:
                    continue
                if resp.status_code in (200, 202):
                    with lock:
                        acked.add(f"crash_{i}")

    threads = [threading.Thread(target=load, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 30
    while len(acked) < 1500 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-load, no warning
    proc.wait(timeout=10)
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert len(acked) >= 500, "the load did not get going"

    conn = sqlite3.connect(tmp_path / "crash.db")
    rows = [r[0] for r in conn.execute("SELECT json_extract(attributes, '$.sourceEventId') FROM events")]
    conn.close()
    assert acked <= set(rows), f"{len(acked - set(rows))} acknowledged events lost"
    assert len(rows) == len(set(rows))

    # the sender retries everything after the restart: each event ends up stored exactly once
    proc = start(db, port, env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            codes = [client.post("/webhooks/atlas/acme", content=b, headers=h).status_code for b, h in bodies[:3000]]
        assert set(codes) <= {200, 202}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    conn = sqlite3.connect(tmp_path / "crash.db")
    ids = [r[0] for r in conn.execute("SELECT json_extract(attributes, '$.sourceEventId') FROM events")]
    conn.close()
    assert len(ids) == len(set(ids))
    assert {f"crash_{i}" for i in range(3000)} <= set(ids)


def test_serve_refuses_a_port_already_listened_on(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'port.db'}"
    env = {**os.environ, "SIGNWATCH_SECRET_KEY": "port-secret"}
    port = free_port()
    proc = start(db, port, env)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "signwatch", "serve", "--db", db, "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1 and "already in use" in second.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
