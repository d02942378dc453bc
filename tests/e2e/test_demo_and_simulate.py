"""`signwatch demo` and `signwatch simulate` as an operator runs them, against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signwatch.api import create_app
from signwatch.cli import app
from signwatch.config import Settings
from signwatch.store import EventFilter, Scope, open_store
from signwatch.tenants import add_tenant
from tests.conftest import LiveServer, free_port

pytestmark = pytest.mark.slow


def test_demo_once_prints_the_summary_and_exits(tmp_path: Path) -> None:
    env = {**os.environ, "SIGNWATCH_DEMO_ONCE": "1", "SIGNWATCH_DEMO_PORT": str(free_port())}
    proc = subprocess.run(
        [sys.executable, "-m", "signwatch", "demo", "--data-dir", str(tmp_path / "demo"), "--days", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "events stored" in out and "envelope.sent" in out and "incidents injected" in out
    assert "alerts fired" in out and "incidents caught" in out
    token_line = [line for line in out.splitlines() if line.startswith("swt_")]
    assert token_line and f"Bearer {token_line[0]}" in out
    store = open_store(f"sqlite:///{tmp_path / 'demo' / 'signwatch.db'}")
    counts = store.event_counts(Scope.all())
    assert {t for t, _ in counts} == {"acme", "globex", "initech"} and sum(counts.values()) > 1000
    labels = [json.loads(line) for line in (tmp_path / "demo" / "incident-labels.jsonl").read_text().splitlines()]
    assert labels and all({"kind", "tenant", "start", "end"} <= set(label) for label in labels)
    assert len(store.list_rules()) == 6 and {r.spec["mode"] for r in store.list_rules()} == {"active"}


def test_simulate_sends_signed_history_and_writes_labels(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    settings = Settings(db=db, secret_key="sim-secret")  # type: ignore[arg-type]
    store = open_store(db)
    store.upgrade()
    from signwatch.crypto import load_box

    add_tenant(store, load_box("sim-secret", db), "acme", "acme-sim-key-0123456789", "Europe/Berlin")
    labels = tmp_path / "labels.jsonl"
    with LiveServer(create_app(settings, store)) as server:
        result = CliRunner().invoke(
            app,
            [
                "simulate",
                "--base-url",
                server.url,
                "--tenant",
                "acme:acme-sim-key-0123456789:Europe/Berlin",
                "--days",
                "1",
                "--users",
                "8",
                "--labels",
                str(labels),
            ],
        )
    assert result.exit_code == 0, result.output
    assert "202" in result.output
    events = store.read_events(Scope.all(), 0, 100_000, EventFilter()).events
    assert events and {e.tenant for e in events} == {"acme"}
    assert labels.exists()
