"""Screenshots of every dashboard page for docs/screenshots/ (`make screenshots`).

Seeds a fresh store the way `signwatch demo` does (demo tenants, the default rule pack, simulated history with
injected incidents streamed through real signed webhooks), serves it, and photographs each page in headless
Chromium at 1280 px wide, plus the overview at phone width. The API tokens page is photographed as a person
(a SCIM user in a mapped group, with an identity-provider session), since only people make personal tokens.
`--serve` keeps the seeded server running instead and prints a sign-in link, for working on the dashboard.

    .venv/bin/python scripts/screenshots.py [--days 21] [--out docs/screenshots] [--serve]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from signwatch.auth.sessions import COOKIE, session_for_person
from signwatch.auth.tokens import create_token
from signwatch.crypto import load_box
from signwatch.events import utcnow
from signwatch.rules.defaults import install_defaults
from signwatch.rules.live import EVALUATED
from signwatch.simulate import SimConfig, demo_tenants, generate, send_events
from signwatch.store import GroupMapping, Scope, Store, open_store
from signwatch.store.base import AlertFilter, ScimGroupRecord, ScimUserRecord
from signwatch.tenants import add_tenant

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SIGNWATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCOPES = frozenset({"monitor:read", "rules:write", "alerts:write", "export:read"})
PERSON = "ada@example.com"
PERSON_SCOPES = frozenset({"monitor:read", "alerts:write", "export:read"})


@dataclass
class Seeded:
    proc: subprocess.Popen[bytes]
    url: str
    token: str  # an analyst's API token: every scope but admin, every tenant
    person: str  # the session secret of a person signed in through the identity provider


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(data: Path, port: int, days: float) -> Seeded:
    """A served store with `days` of simulated history, an analyst's token and a person's session."""
    db = f"sqlite:///{data / 'signwatch.db'}"
    store = open_store(db)
    store.upgrade()
    box = load_box(None, db)
    tenants = demo_tenants(3)
    for t in tenants:
        add_tenant(store, box, t.slug, t.api_key, t.timezone)
    install_defaults(store, tenant=None, active=True, now=utcnow(), by="demo")
    _, token = create_token(store, "analyst", SCOPES, None)
    person = add_person(store)
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SIGNWATCH_DB": db, "SIGNWATCH_EXPORT_DIR": str(data / "exports")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "signwatch", "serve", "--port", str(port)], env=env, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)
    run = generate(SimConfig.last_days(tenants, days, utcnow()))
    print(f"streaming {len(run.events)} events ({days:g} days)", flush=True)
    cut = len(run.events) * 97 // 100  # a forwarder left behind by the last 3 %, for the Exports page
    asyncio.run(send_events(run.events[:cut], tenants, url, concurrency=64))
    forward(env, f"file://{data}/acme.ndjson", "--tenant", "acme", "--name", "acme-archive")
    asyncio.run(send_events(run.events[cut:], tenants, url, concurrency=64))
    forward(env, f"file://{data}/all.ndjson", "--name", "siem-archive")
    deadline = time.monotonic() + 300
    while int(store.get_position(EVALUATED) or 0) < store.log_end() and time.monotonic() < deadline:
        time.sleep(0.5)
    alerts, _ = store.list_alerts(Scope.all(), AlertFilter(), 0, 10000)
    print(f"{len(alerts)} alerts fired", flush=True)
    store.close()
    return Seeded(proc, url, token, person)


def add_person(store: Store) -> str:
    """Ada, provisioned over SCIM into a mapped group, signed in through the IdP: her session's secret."""
    now = utcnow()
    store.add_scim_user(ScimUserRecord("usr-ada", PERSON, True, None, {"displayName": "Ada"}, now, now))
    store.add_scim_group(ScimGroupRecord("grp-secops", "SecOps", None, ("usr-ada",), now, now))
    store.put_group_mapping(GroupMapping("SecOps", PERSON_SCOPES, None, None, now))
    _, secret = session_for_person(store, PERSON, PERSON_SCOPES, None, "usr-ada", timedelta(hours=8), now)
    return secret


def forward(env: dict[str, str], sink: str, *options: str) -> None:
    """`signwatch forward --once`: a forwarder's checkpoint and status, as an operator's would be."""
    command = [sys.executable, "-m", "signwatch", "forward", "--sink", sink, "--once", *options]
    subprocess.run(command, env=env, check=True, capture_output=True)


def make_token(page: Any, name: str, scopes: tuple[str, ...]) -> None:
    """Make a personal token on the API tokens page, as a person would."""
    page.fill("#t-name", name)
    for scope in scopes:
        page.check(f"[data-scope-option='{scope}'] input")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector(f"#tokens tr[data-name='{name}']")


def shoot(seeded: Seeded, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, token = seeded.url, seeded.token
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def visit(path: str, name: str, ready: str) -> None:
            page.goto(f"{url}{path}")
            page.wait_for_selector(ready)
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(f"{name}.png", flush=True)

        visit("/ui/login", "login", "#login-form")
        page.goto(f"{url}/ui/login#token={token}")
        page.wait_for_url(f"{url}/ui/")
        visit("/ui/?range=30d", "overview", "#volume-chart svg")
        visit("/ui/geography?range=7d", "geography", "#map svg")
        visit("/ui/users?range=30d", "users", "#senders table")
        flagged = page.locator("#senders tr.flagged a[href^='/ui/users/']").first
        first = flagged if flagged.count() else page.locator("#senders a[href^='/ui/users/']").first
        user_href = first.get_attribute("href")
        visit(f"{user_href}?range=7d", "user", "#timeline-chart svg")
        visit("/ui/alerts?state=any", "alerts", "#alert-list table")
        alert_href = page.locator("#alert-list a[href^='/ui/alerts/']").first.get_attribute("href")
        visit(str(alert_href), "alert", "#evidence-chart svg")
        visit("/ui/rules", "rules", "#rule-list table")
        page.goto(f"{url}/ui/rules/new")
        page.wait_for_selector("body[data-loaded]")
        page.fill("#r-name", "Send burst per user")
        page.select_option("#r-groupBy", "actor")
        page.fill("#r-threshold", "25")
        page.fill("#r-windowMinutes", "60")
        page.click("#preview")
        page.wait_for_selector("#preview-summary [data-would-fire]")
        page.screenshot(path=str(out / "rule-new.png"), full_page=True)
        print("rule-new.png", flush=True)
        page.goto(f"{url}/ui/exports")
        page.wait_for_selector("body[data-loaded]")
        page.click("#job-form button[type=submit]")
        page.wait_for_selector("#jobs tr[data-status=done]", timeout=60000)
        page.select_option("#job-format", "csv")
        page.select_option("#job-compression", "none")
        page.select_option("#job-tenant", index=1)
        page.click("#job-form button[type=submit]")
        page.locator("#jobs tr[data-status=done]").nth(1).wait_for(timeout=60000)
        visit("/ui/exports", "exports", "#jobs table")
        ada = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        ada.add_cookies([{"name": COOKIE, "value": seeded.person, "url": url}])
        person = ada.new_page()
        person.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        person.goto(f"{url}/ui/tokens")
        person.wait_for_selector("body[data-loaded]")
        make_token(person, "old laptop", ("monitor:read",))
        person.locator("#tokens tr[data-name='old laptop'] button").click()
        person.click("#revoke-confirm")
        person.wait_for_selector("#tokens tr[data-name='old laptop'][data-state=revoked]")
        make_token(person, "weekly report", ("monitor:read",))
        make_token(person, "SIEM pull", ("monitor:read", "export:read"))
        person.wait_for_timeout(300)
        person.screenshot(path=str(out / "tokens.png"), full_page=True)
        print("tokens.png", flush=True)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
        small = phone.new_page()
        small.goto(f"{url}/ui/login#token={token}")
        small.wait_for_url(f"{url}/ui/")
        small.goto(f"{url}/ui/?range=30d")
        small.wait_for_selector("#volume-chart svg")
        small.wait_for_timeout(300)
        small.screenshot(path=str(out / "overview-phone.png"), full_page=True)
        print("overview-phone.png", flush=True)
        browser.close()
        if errors:
            print("console errors:", *errors, sep="\n  ", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=21.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help="keep serving the seeded store; print a sign-in link")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and clean up on a plain kill too
    data = Path(tempfile.mkdtemp(prefix="signwatch-shots-"))
    seeded = seed(data, args.port or free_port(), args.days)
    try:
        if args.serve:
            print(f"{seeded.url}/ui/login#token={seeded.token}", flush=True)
            seeded.proc.wait()
        else:
            shoot(seeded, args.out)
    except KeyboardInterrupt:
        pass
    finally:
        os.killpg(seeded.proc.pid, signal.SIGTERM)
        seeded.proc.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
