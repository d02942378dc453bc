"""The monitor's own audit trail over real HTTP: reads, exports and changes are recorded with who, what,
which tenant and how many results; `GET /monitor/v2/audit` is admin-only; the export API exports it;
`signwatch audit verify` finds a tampered record; retention purges are audited and legal hold stops them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import Client
from typer.testing import CliRunner

from signwatch.cli import app
from signwatch.config import Settings
from signwatch.retention import purge_once
from signwatch.store import Scope, SqlStore
from signwatch.store import schema as t
from signwatch.store.base import RetentionRecord
from tests.api.test_data import send, token
from tests.conftest import KEY, OTHER_KEY


def test_calls_are_recorded_with_who_what_and_how_many(client: Client, store: SqlStore) -> None:
    for i in range(3):
        send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:00Z")
    reader = token(store, "monitor:read", frozenset({"acme"}))
    assert client.get("/monitor/v2/data", params={"tenant": "acme", "limit": 2}, headers=reader).status_code == 200
    writer = token(store, "rules:write")
    client.post("/monitor/v2/alert/rules", json={"name": "x", "threshold": 5}, headers=writer)
    admin = token(store, "admin")
    trail = client.get("/monitor/v2/audit", headers=admin).json()["data"]
    read = next(r for r in trail if r["action"] == "data.read")
    assert read["actor"] == "t" and read["tenant"] == "acme" and read["resultCount"] == 2 and read["status"] == 200
    assert read["params"]["limit"] == "2" and read["params"]["path"] == "/monitor/v2/data"
    created = next(r for r in trail if r["action"] == "rule.create")
    assert created["status"] == 201
    assert [r["prevHash"] for r in trail[1:]] == [r["hash"] for r in trail[:-1]]  # a chain
    assert client.get("/monitor/v2/audit", headers=reader).status_code == 403
    exported = client.get("/monitor/v2/export", params={"stream": "audit", "format": "ndjson"}, headers=admin)
    assert exported.status_code == 200 and len(exported.content.splitlines()) >= 3
    not_admin = client.get("/monitor/v2/export", params={"stream": "audit"}, headers=token(store, "export:read"))
    assert not_admin.status_code == 403


def test_verify_finds_a_tampered_record(client: Client, store: SqlStore, db_url: str) -> None:
    send(client, "acme", KEY)
    auth = token(store, "monitor:read")
    for _ in range(3):
        client.get("/monitor/v2/data", headers=auth)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    with store._writing() as conn:  # the store's write lock: the server's engine writes too
        second = sorted(r.seq for r in conn.execute(t.audit_log.select()))[1]
        conn.execute(t.audit_log.update().where(t.audit_log.c.seq == second).values(result_count=12345))
    broken = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert broken.exit_code == 1 and f"record {second}:" in " ".join(broken.output.split())


def test_retention_purges_old_data_audits_it_and_respects_legal_hold(
    client: Client, store: SqlStore, settings: Settings
) -> None:
    now = datetime.now(UTC)
    old = (now - timedelta(days=500)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    send(client, "acme", KEY, at=old)
    keep = send(client, "acme", KEY, at=recent)
    send(client, "globex", OTHER_KEY, at=old)
    store.set_retention(RetentionRecord("globex", legal_hold=True), now)
    done = purge_once(store, settings, now)
    assert [(r.tenant, r.target, r.result_count) for r in done] == [("acme", "events", 1)]
    counts = store.event_counts(Scope.all())
    assert counts[("acme", "envelope.sent")] == 1 and counts[("globex", "envelope.sent")] == 1  # hold kept it
    assert [e.id for e in store.get_events_by_id(Scope.all(), [keep])] == [keep]
    [purge] = [r for page in store.iter_audit() for r in page if r.action == "retention.purge"]
    assert purge.actor == "signwatch:retention" and purge.result_count == 1
