"""The CLI in the exact forms operators script: tenants, tokens, replay, and help for every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer.main
from typer.testing import CliRunner

from signwatch.cli import app
from signwatch.store import EventFilter, Scope, open_store
from tests.conftest import LiveServer
from tests.helpers import atlas_payload, signed

runner = CliRunner()
KEY = "cli-test-key-0123456789"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SIGNWATCH_SECRET_KEY", "cli-secret")
    return f"sqlite:///{tmp_path / 'cli.db'}"


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_has_help() -> None:
    root = typer.main.get_command(app)
    seen: list[str] = []

    def walk(group: object, prefix: list[str]) -> None:
        for name, cmd in group.commands.items():  # type: ignore[attr-defined]
            assert cmd.help or cmd.short_help, f"{' '.join([*prefix, name])} has no help"
            seen.append(" ".join([*prefix, name]))
            if hasattr(cmd, "commands"):
                walk(cmd, [*prefix, name])

    walk(root, [])
    documented = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    for name in seen:
        if not hasattr(root.commands.get(name), "commands"):  # type: ignore[attr-defined]
            assert f"signwatch {name}" in documented, f"`signwatch {name}` is not in docs/cli.md"
    assert {"serve", "db upgrade", "tenants add", "tokens create", "replay", "poll atlas"} <= set(seen)


def test_tenants_add_list_rotate(db: str) -> None:
    ok("tenants", "add", "acme", "--api-key", KEY, "--timezone", "Europe/Berlin", "--db", db)
    assert "acme" in ok("tenants", "list", "--db", db)
    bad = runner.invoke(app, ["tenants", "add", "acme", "--api-key", KEY, "--db", db])
    assert bad.exit_code == 2 and "exists" in bad.output
    bad_tz = runner.invoke(app, ["tenants", "add", "b", "--api-key", KEY, "--timezone", "Mars/Base", "--db", db])
    assert bad_tz.exit_code == 2 and "time zone" in bad_tz.output
    assert "accepted until" in ok("tenants", "rotate-key", "acme", "--api-key", KEY + "new", "--db", db)
    store = open_store(db)
    record = store.get_tenant("acme")
    assert record is not None and KEY not in record.api_key  # encrypted at rest


def test_key_file_is_generated_0600_without_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNWATCH_SECRET_KEY", raising=False)
    db = f"sqlite:///{tmp_path / 'k.db'}"
    ok("tenants", "add", "acme", "--api-key", KEY, "--db", db)
    key_file = tmp_path / "signwatch.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600


def test_token_is_the_last_line_and_works(db: str) -> None:
    ok("tenants", "add", "acme", "--api-key", KEY, "--db", db)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "signwatch",
            "tokens",
            "create",
            "--name",
            "siem",
            "--scopes",
            "monitor:read",
            "--tenant",
            "acme",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SIGNWATCH_SECRET_KEY": "cli-secret"},
    )
    token = proc.stdout.strip().splitlines()[-1]
    assert token.startswith("swt_")
    listing = ok("tokens", "list", "--db", db)
    assert "siem" in listing and token not in listing
    bad = runner.invoke(app, ["tokens", "create", "--name", "x", "--scopes", "monitor:write", "--db", db])
    assert bad.exit_code == 2 and "unknown scope" in bad.output
    from signwatch.api import create_app
    from signwatch.config import Settings

    settings = Settings(db=db, secret_key="cli-secret")  # type: ignore[arg-type]
    with LiveServer(create_app(settings, open_store(db))) as server:
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/monitor/v2/data", headers=auth).status_code == 200
        ok("tokens", "revoke", "siem", "--db", db)
        assert httpx.get(f"{server.url}/monitor/v2/data", headers=auth).status_code == 401


def test_replay_repairs_deliveries_refused_by_a_bad_deploy(db: str) -> None:
    """Deliveries refused for a key problem at the time are stored by replay once the key is right, once."""
    from signwatch.api import create_app
    from signwatch.config import Settings

    ok("tenants", "add", "acme", "--api-key", KEY, "--db", db)
    settings = Settings(db=db, secret_key="cli-secret", key_cache_seconds=0)  # type: ignore[arg-type]
    good = [signed(atlas_payload(at="2026-11-20T10:00:00Z"), KEY) for _ in range(3)]
    early = [signed(atlas_payload(), KEY + "-rotated") for _ in range(2)]  # signed with a key we lack yet
    with LiveServer(create_app(settings, open_store(db))) as server:
        for body, headers in good:
            assert httpx.post(f"{server.url}/webhooks/atlas/acme", content=body, headers=headers).status_code == 202
        for body, headers in early:
            assert httpx.post(f"{server.url}/webhooks/atlas/acme", content=body, headers=headers).status_code == 401
    ok("tenants", "rotate-key", "acme", "--api-key", KEY + "-rotated", "--db", db)
    out = ok("replay", "--from", "2000-01-01", "--to", "2100-01-01", "--db", db)
    assert "2 events inserted" in out and "3 unchanged" in out
    out = ok("replay", "--from", "2000-01-01", "--to", "2100-01-01", "--tenant", "acme", "--db", db)
    assert "0 events inserted" in out and "5 unchanged" in out
    assert len(open_store(db).read_events(Scope.all(), 0, 100, EventFilter()).events) == 5


def test_rules_install_defaults_list_and_backtest(db: str) -> None:
    ok("tenants", "add", "acme", "--api-key", KEY, "--timezone", "Europe/Berlin", "--db", db)
    first = ok("rules", "install-defaults", "--db", db)
    assert first.count("installed") == 6 and "(shadow)" in first
    again = ok("rules", "install-defaults", "--active", "--db", db)
    assert again.count("activated") == 6 and "(active)" in again  # promoted in place, no duplicates
    assert ok("rules", "install-defaults", "--db", db).count("kept") == 6  # local tuning is never overwritten
    from signwatch.store import open_store

    rules = open_store(db).list_rules()
    assert len(rules) == 6 and {r.spec["mode"] for r in rules} == {"active"}
    listing = ok("rules", "list", "--db", db)
    assert all(r.id in listing for r in rules)
    rule_id = rules[0].id
    assert "0 alert(s)" in ok("rules", "backtest", rule_id, "--from", "2026-11-01", "--to", "2026-11-02", "--db", db)
    missing = runner.invoke(app, ["rules", "install-defaults", "--tenant", "nosuch", "--db", db])
    assert missing.exit_code == 2 and "no tenant" in missing.output


def test_org_id_is_stable(db: str) -> None:
    first = ok("org", "id", "--db", db).strip().splitlines()[-1]
    assert len(first) == 36 and first == ok("org", "id", "--db", db).strip().splitlines()[-1]


def test_forward_once_then_status(db: str, tmp_path: Path) -> None:
    from signwatch.events import Actor, Event, Geo, utcnow
    from signwatch.store import WriteItem, open_store

    store = open_store(db)
    store.upgrade()
    store.write_batch(
        [
            WriteItem(
                None, Event(f"ev_{i}", "acme", "atlas", "envelope.sent", utcnow(), f"e{i}", Actor("u"), geo=Geo())
            )
            for i in range(3)
        ]
    )
    out = tmp_path / "out.ndjson"
    result = runner.invoke(app, ["forward", "--sink", f"file://{out}", "--name", "f1", "--once", "--db", db])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 3
    status = ok("forward", "status", "--db", db)
    assert "f1" in status and "lag 0 events" in status and "forwarded 3" in status
    assert runner.invoke(app, ["forward", "--db", db]).exit_code == 2  # no --sink


def test_principals_create_list_disable(db: str) -> None:
    created = ok("principals", "create", "siem", "--scopes", "export:read", "--db", db).strip().splitlines()
    client_id, secret = created[-2], created[-1]
    assert client_id.startswith("sp_") and secret.startswith("sws_")
    assert client_id in ok("principals", "list", "--db", db)
    assert "disabled siem" in ok("principals", "disable", "siem", "--db", db)
    bad = runner.invoke(app, ["principals", "create", "x", "--scopes", "root", "--db", db])
    assert bad.exit_code == 2


def test_a_personal_token_needs_an_active_scim_user(db: str) -> None:
    from datetime import UTC, datetime

    from signwatch.store import open_store
    from signwatch.store.base import ScimGroupRecord, ScimUserRecord

    args = ["tokens", "create", "--name", "p", "--scopes", "monitor:read", "--user", "ada@example.com", "--db", db]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 2 and "no active user" in missing.output
    store = open_store(db)
    store.upgrade()
    now = datetime.now(UTC)
    store.add_scim_user(ScimUserRecord("u1", "ada@example.com", True, None, {}, now, now))
    store.add_scim_group(ScimGroupRecord("g1", "Analysts", None, ("u1",), now, now))
    ungranted = runner.invoke(app, args)  # her group grants nothing yet
    assert ungranted.exit_code == 2 and "do not grant monitor:read" in ungranted.output
    mapped = ok("groups", "map", "analysts", "--scopes", "monitor:read,alerts:write", "--alerts", "severity>=high",
                "--db", db)  # fmt: skip
    assert "scopes alerts:write, monitor:read; tenants all; alerts of severity >= high" in mapped
    assert "Analysts" not in ok("groups", "list", "--db", db) and ">= high" in ok("groups", "list", "--db", db)
    assert ok(*args).strip().splitlines()[-1].startswith("swt_")
    [token] = [t for t in store.list_tokens() if t.name == "p"]
    assert token.user_id == "u1"
    beyond = runner.invoke(app, [*args[:4], "--scopes", "admin", *args[6:]])
    assert beyond.exit_code == 2 and "do not grant admin" in beyond.output
    assert (
        runner.invoke(app, ["groups", "map", "x", "--scopes", "monitor:read", "--alerts", "loud", "--db", db]).exit_code
        == 2
    )
    # Unmapping her only granting group ends her personal token in the same change.
    assert "1 token(s)" in ok("groups", "unmap", "ANALYSTS", "--db", db)
    [token] = [t for t in store.list_tokens() if t.name == "p"]
    assert token.revoked_at is not None
    assert runner.invoke(app, ["groups", "unmap", "analysts", "--db", db]).exit_code == 2
    store.close()
