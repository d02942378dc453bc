"""Dashboard fixtures: Debian's chromium driven by Playwright, and a served store seeded with known events.

The world (event time: the last few hours): tenant acme — alice@acme.example sends 5 envelopes within 5
minutes from GB (the `Burst` rule, threshold 3 in 10 minutes per actor, fires on it), 3 signed and 1 declined
from US, 1 voided; tenant globex — gina@globex.example sends 4 envelopes over an hour from DE and 2 are
signed. One store and server per module; tests change it only in ways the others do not read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from signwatch.api import create_app
from signwatch.auth.tokens import create_token
from signwatch.config import Settings
from signwatch.crypto import load_box
from signwatch.store import open_store
from signwatch.tenants import add_tenant
from tests.conftest import KEY, OTHER_KEY, SECRET, LiveServer
from tests.helpers import atlas_payload, signed

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SIGNWATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ALL_SCOPES = frozenset({"monitor:read", "rules:write", "alerts:write", "export:read"})
GB, US, DE = "81.2.69.142", "73.15.20.7", "79.200.10.5"
# Form controls a screen reader would announce without a name (a page script returning their ids).
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter((el) => !el.closest('[hidden]') && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.id || el.name || el.outerHTML.slice(0, 60))"""


@dataclass
class World:
    url: str
    token: str  # every scope but admin, every tenant
    acme_token: str  # monitor:read on acme only
    rule_id: str
    alert_id: str
    store: Any

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kw)


def chromium() -> str:
    """The browser's path; installs Debian's chromium when missing (scripts/ensure-browser.sh), else skips."""
    if not Path(CHROMIUM).exists():
        subprocess.run([str(ROOT / "scripts" / "ensure-browser.sh")], check=False, timeout=600)
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"no chromium at {CHROMIUM} and it could not be installed (scripts/ensure-browser.sh)")
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


def _send(client: httpx.Client, tenant: str, key: str, **kw: Any) -> None:
    body, headers = signed(atlas_payload(**kw), key)
    resp = client.post(f"/webhooks/atlas/{tenant}", content=body, headers=headers)
    assert resp.status_code == 202, resp.text


def _at(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wait(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("ui")
    settings = Settings(db=f"sqlite:///{tmp / 'signwatch.db'}", secret_key=SECRET, export_dir=tmp / "exports")  # type: ignore[arg-type]
    store = open_store(settings.db)
    store.upgrade()
    box = load_box(SECRET, settings.db)
    add_tenant(store, box, "acme", KEY, "Europe/Berlin")
    add_tenant(store, box, "globex", OTHER_KEY, "America/New_York")
    _, token = create_token(store, "analyst", ALL_SCOPES, None)
    _, acme_token = create_token(store, "acme-reader", frozenset({"monitor:read"}), frozenset({"acme"}))
    with LiveServer(create_app(settings, store)) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        auth = {"Authorization": f"Bearer {token}"}
        rule = c.post(
            "/monitor/v2/alert/rules",
            json={"name": "Burst", "tenant": "acme", "groupBy": "actor", "threshold": 3, "windowMinutes": 10,
                  "severity": "high"},
            headers=auth,
        )  # fmt: skip
        assert rule.status_code == 201, rule.text
        base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
        for i in range(5):
            _send(c, "acme", KEY, at=_at(base + timedelta(minutes=i)), email="alice@acme.example", user_id="usr_alice",
                  ip=GB, bu="sales")  # fmt: skip
        for i in range(3):
            _send(c, "acme", KEY, event="envelope.signed", at=_at(base + timedelta(minutes=30 + i)),
                  email="bob@acme.example", user_id="usr_bob", ip=US, bu="sales")  # fmt: skip
        _send(c, "acme", KEY, event="envelope.declined", at=_at(base + timedelta(minutes=40)), email="bob@acme.example",
              user_id="usr_bob", ip=US, bu="sales")  # fmt: skip
        _send(c, "acme", KEY, event="envelope.voided", at=_at(base + timedelta(minutes=50)), email="alice@acme.example",
              user_id="usr_alice", ip=GB, bu="sales")  # fmt: skip
        for i in range(4):
            _send(c, "globex", OTHER_KEY, at=_at(base - timedelta(hours=2) + timedelta(minutes=20 * i)),
                  email="gina@globex.example", user_id="usr_gina", ip=DE, bu="legal")  # fmt: skip
        for i in range(2):
            _send(c, "globex", OTHER_KEY, event="envelope.signed", at=_at(base - timedelta(hours=1, minutes=i)),
                  email="hal@globex.example", user_id="usr_hal", ip=DE, bu="legal")  # fmt: skip
        alerts = _wait(lambda: c.get("/monitor/v2/alerts", headers=auth).json()["data"], "the Burst alert")

        def settled() -> bool:
            o = c.get("/monitor/v2/insights/overview", params={"range": "24h"}, headers=auth).json()
            return bool(o["totals"]["sent"] == 9 and o["totals"]["signed"] == 5)

        _wait(settled, "the insights rollups")
        yield World(server.url, token, acme_token, rule.json()["id"], alerts[0]["id"], store)
    store.close()


class Console:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


def signed_in(browser: Any, world: World, token: str | None = None, **context: Any) -> Any:
    """A new browser context signed in through the login page with `token` (default: the analyst's)."""
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context})
    page = ctx.new_page()
    page.goto(f"{world.url}/ui/login")
    page.fill("#token", token or world.token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{world.url}/ui/")
    page.close()
    return ctx


def open_page(ctx: Any, world: World, path: str) -> tuple[Any, Console]:
    page = ctx.new_page()
    console = Console(page)
    page.goto(f"{world.url}{path}")
    page.wait_for_selector("body[data-loaded]")
    return page, console
