"""The dashboard in a real headless Chromium: every page loads without console errors, the charts and tables hold
the seeded store's numbers, a rule is created and backtested and an alert acknowledged through the UI, a
tenant-limited sign-in sees nothing of another tenant, and phone width does not overflow."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from signwatch.auth.tokens import create_token
from tests.ui.conftest import UNLABELLED, World, open_page, signed_in

pytestmark = pytest.mark.slow  # a browser and a served store: end to end


def pages(world: World) -> list[str]:
    return [
        "/ui/",
        "/ui/geography",
        "/ui/users",
        "/ui/users/alice@acme.example",
        "/ui/alerts",
        f"/ui/alerts/{world.alert_id}",
        "/ui/rules",
        "/ui/rules/new",
        f"/ui/rules/{world.rule_id}",
        "/ui/exports",
        "/ui/tokens",
    ]


def test_every_page_loads_without_console_errors(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    for path in [*pages(world), "/ui/login"]:
        page, console = open_page(ctx, world, path)
        page.wait_for_timeout(100)
        assert console.errors == [], (path, console.errors)
        assert page.locator("h1").count() == 1 and page.locator("h1").inner_text().strip(), path
        assert page.locator("main#main").count() == 1, path
        unlabelled = page.evaluate(UNLABELLED)
        assert unlabelled == [], (path, unlabelled)
        page.close()
    ctx.close()


def test_overview_charts_hold_the_seeded_numbers(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page, console = open_page(ctx, world, "/ui/?range=24h")
    cards = {
        k: int(page.get_attribute(f"[data-total={k}]", "data-value")) for k in ("sent", "signed", "declined", "voided")
    }
    assert cards == {"sent": 9, "signed": 5, "declined": 1, "voided": 1}
    for series, total in cards.items():
        group = page.locator(f"#volume-chart g[data-series={series}]")
        assert int(group.get_attribute("data-total")) == total
        points = [int(v) for v in group.locator("circle").evaluate_all("els => els.map(e => e.dataset.value)")]
        assert sum(points) == total and len(points) == int(group.get_attribute("data-points"))
    tenants = {
        r.get_attribute("data-tenant"): int(r.get_attribute("data-sent"))
        for r in page.locator("#tenants tr[data-tenant]").all()
    }
    assert tenants == {"acme": 5, "globex": 4}
    assert page.get_attribute("[data-rate=void]", "data-value") not in (None, "")
    assert int(page.get_attribute("[data-open-total]", "data-open-total")) >= 1
    assert page.locator("#open-alerts a", has_text="Burst").count() >= 1
    # choosing a tenant reloads the data without reloading the page
    page.evaluate("window.__same = true")
    page.select_option("#f-tenant", "acme")
    expect(page.locator("[data-total=sent]")).to_have_attribute("data-value", "5")
    assert page.evaluate("window.__same") is True and "tenant=acme" in page.url
    assert console.errors == []
    ctx.close()


def test_pages_refresh_their_data_every_30_seconds_without_reloading(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page = ctx.new_page()
    page.clock.install()
    page.goto(f"{world.url}/ui/alerts")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    page.evaluate("window.__same = true")
    page.clock.run_for(31_000)
    expect(page.locator("body")).to_have_attribute("data-loaded", "2")
    assert page.evaluate("window.__same") is True
    ctx.close()


def test_geography_map_and_table_hold_the_countries(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page, console = open_page(ctx, world, "/ui/geography?range=24h")
    rows = {
        r.get_attribute("data-country"): int(r.get_attribute("data-events"))
        for r in page.locator("#countries tr[data-country]").all()
    }
    assert rows == {"GB": 6, "US": 4, "DE": 6}
    for code, events in rows.items():
        shape = page.locator(f"#map [data-country={code}]")
        assert int(shape.get_attribute("data-events")) == events
        assert shape.evaluate("e => e.tagName") == "path"
    assert page.locator("#map path").count() > 150  # the whole world is drawn, from the shipped shapes
    networks = page.locator("#networks tr[data-network]")
    assert {n.get_attribute("data-network") for n in networks.all()} >= {"81.2.69.0/24", "79.200.10.0/24"}
    assert console.errors == []
    ctx.close()


def test_users_flag_the_user_a_rule_fired_on_and_show_their_timeline(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page, console = open_page(ctx, world, "/ui/users?range=24h")
    alice = page.locator("#senders tr[data-user='alice@acme.example']")
    assert alice.get_attribute("data-flagged") == "true"
    assert alice.locator("a.flag", has_text="Burst").count() == 1
    assert page.locator("#senders tr[data-user='gina@globex.example']").get_attribute("data-flagged") == "false"
    alice.locator("a", has_text="alice@acme.example").click()
    page.wait_for_url("**/ui/users/alice%40acme.example*")
    page.wait_for_selector("#timeline-chart svg")
    sent = page.locator("#timeline-chart g[data-series=sent] circle").evaluate_all(
        "els => els.map(e => +e.dataset.value)"
    )
    assert sum(sent) == 5
    assert page.locator("#user-alerts tr[data-alert-id]").count() >= 1
    assert page.locator("#user-countries tr[data-country=GB]").count() == 1
    assert console.errors == []
    ctx.close()


def test_a_rule_is_created_validated_backtested_and_promoted_through_the_ui(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page, console = open_page(ctx, world, "/ui/rules/new")
    page.fill("#r-name", "Burst of two")
    page.select_option("#r-tenant", "acme")
    page.select_option("#r-groupBy", "actor")
    page.fill("#r-threshold", "0")
    page.fill("#r-windowMinutes", "10")
    page.click("#preview")
    # the API's 422 details, inline beside the field and in the summary
    page.wait_for_selector("#error-summary:not([hidden])")
    assert "at least 1" in page.inner_text("#e-threshold")
    assert page.get_attribute("#r-threshold", "aria-invalid") == "true"
    page.fill("#r-threshold", "2")
    page.click("#preview")
    page.wait_for_selector("#preview-summary [data-would-fire]")
    would = int(page.get_attribute("#preview-summary [data-would-fire]", "data-would-fire"))
    assert would >= 1 and f"Would have fired {would} time" in page.inner_text("#preview-summary")
    assert page.locator("#preview-chart rect.mark").count() == would
    assert page.locator("#error-summary").is_hidden() and page.inner_text("#e-threshold") == ""
    page.click("#save")
    page.wait_for_url("**/ui/rules/rl_*")
    page.wait_for_selector("#rule-mode[data-mode=shadow]")
    rule_id = page.url.rsplit("/", 1)[1].split("?")[0]
    stored = world.api("GET", f"/monitor/v2/alert/rules/{rule_id}").json()
    assert stored["name"] == "Burst of two" and stored["threshold"] == 2 and stored["tenant"] == "acme"
    page.click("#backtest")
    expect(page.locator("#preview-summary [data-would-fire]")).to_have_text(
        re.compile("^The saved rule would have fired")
    )
    assert int(page.get_attribute("#preview-summary [data-would-fire]", "data-would-fire")) == would
    page.click("#promote")
    page.wait_for_selector("#rule-mode[data-mode=active]")
    assert world.api("GET", f"/monitor/v2/alert/rules/{rule_id}").json()["mode"] == "active"
    assert [e for e in console.errors if "status of 422" not in e] == []  # the invalid preview, on purpose
    ctx.close()


def test_an_alert_is_acknowledged_through_the_ui(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page, console = open_page(ctx, world, "/ui/alerts")
    row = page.locator(f"#alert-list tr[data-alert-id='{world.alert_id}']")
    assert row.get_attribute("data-severity") == "high"
    row.locator("a", has_text="Burst").click()
    page.wait_for_url(f"**/ui/alerts/{world.alert_id}")
    page.wait_for_selector("#evidence-chart svg")
    alert = world.api("GET", f"/monitor/v2/alerts/{world.alert_id}").json()
    observed = page.locator("#evidence-chart rect[data-kind=observed]")
    assert float(observed.get_attribute("data-value")) == alert["value"]
    assert float(page.get_attribute("#evidence-chart rect[data-kind=threshold]", "data-value")) == alert["threshold"]
    page.wait_for_selector("#samples tr[data-event-id]")
    assert page.locator("#samples tr[data-event-id]").count() == len(alert["evidence"]["sampleEventIds"])
    activity = page.locator("#activity-chart rect.activity").evaluate_all("els => els.map(e => +e.dataset.count)")
    assert sum(activity) == 5  # alice's five sends, in and around the window
    page.fill("#ack-note", "looking into it")
    page.click("#ack")
    page.wait_for_selector("#triage-message .message-ok")
    assert page.is_disabled("#ack")
    acked = world.api("GET", f"/monitor/v2/alerts/{world.alert_id}").json()
    assert acked["acknowledgedBy"] and acked["ackNote"] == "looking into it" and acked["state"] == "acknowledged"
    assert "looking into it" in page.inner_text("[data-fact=acknowledged]")
    assert console.errors == []
    ctx.close()


def test_a_token_limited_to_acme_sees_nothing_of_globex(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world, world.acme_token)
    for path in [
        "/ui/?range=24h",
        "/ui/geography?range=24h",
        "/ui/users?range=24h",
        "/ui/alerts?state=any",
        "/ui/rules",
    ]:
        page, console = open_page(ctx, world, path)
        page.wait_for_timeout(200)
        text = page.content()
        assert "globex" not in text and "gina" not in text, path
        assert console.errors == [], (path, console.errors)
        page.close()
    page, _ = open_page(ctx, world, "/ui/?range=24h")
    assert page.get_attribute("[data-total=sent]", "data-value") == "5"
    assert page.locator("[data-nav=exports]").is_hidden()  # no export:read
    assert [o for o in page.locator("#f-tenant option").all_inner_texts() if o != "All tenants"] == ["acme"]
    page.close()
    page, _ = open_page(ctx, world, f"/ui/users/{quote('gina@globex.example')}")
    assert page.locator("#timeline-chart svg").count() == 0 and "DE" not in page.inner_text("#main")
    page.close()
    ctx.close()


def test_exports_list_the_jobs_the_session_may_see_and_start_new_ones(browser: Any, world: World) -> None:
    # jobs made elsewhere (by scripts, by other people): the page lists them from the API, not from this browser
    old = {"from": "2020-01-01", "to": "2020-01-02"}
    globex = world.api("POST", "/monitor/v2/export/jobs", json={**old, "tenant": "globex"})
    assert globex.status_code == 202, globex.text
    _, acme_export = create_token(world.store, "acme-export", frozenset({"export:read"}), frozenset({"acme"}))
    auth = {"Authorization": f"Bearer {acme_export}"}
    acme = httpx.post(f"{world.url}/monitor/v2/export/jobs", json=old, headers=auth)
    assert acme.status_code == 202, acme.text
    ctx = signed_in(browser, world)
    page, console = open_page(ctx, world, "/ui/exports")
    listed = page.locator("#jobs tr[data-job-id]")
    expect(listed.first).to_have_attribute("data-job-id", acme.json()["id"])  # newest first
    assert {globex.json()["id"], acme.json()["id"]} <= set(listed.evaluate_all("els => els.map(e => e.dataset.jobId)"))
    # a new job from the form: listed at the top, followed until done, its download link works
    page.select_option("#job-tenant", "acme")
    page.click("#job-form button[type=submit]")
    expect(page.locator("#job-message")).to_contain_text("queued")
    job_id = page.inner_text("#job-message").split()[1]
    expect(listed.first).to_have_attribute("data-job-id", job_id)
    expect(listed.first).to_have_attribute("data-status", "done", timeout=30_000)
    link = listed.first.locator("a[download]")
    download = httpx.get(str(link.get_attribute("href")))
    assert download.status_code == 200
    lines = gzip.decompress(download.content).decode().splitlines()
    assert len(lines) == world.api("GET", f"/monitor/v2/export/jobs/{job_id}").json()["records"] > 0
    assert {json.loads(line)["tenant"] for line in lines} == {"acme"}
    assert console.errors == []
    ctx.close()
    # a session of acme only: acme's jobs, nothing of globex's
    ctx = signed_in(browser, world, acme_export)
    page, console = open_page(ctx, world, "/ui/exports")
    ids = page.locator("#jobs tr[data-job-id]").evaluate_all("els => els.map(e => e.dataset.jobId)")
    assert ids[:2] == [job_id, acme.json()["id"]] and globex.json()["id"] not in ids
    assert console.errors == []
    ctx.close()


@pytest.mark.parametrize("width", [390])
def test_phone_width_has_no_horizontal_overflow(browser: Any, world: World, width: int) -> None:
    ctx = signed_in(browser, world, viewport={"width": width, "height": 844}, is_mobile=True, has_touch=True)
    for path in pages(world):
        page, console = open_page(ctx, world, path)
        page.wait_for_timeout(100)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (path, overflow)
        assert console.errors == [], (path, console.errors)
        page.close()
    ctx.close()


def test_signing_in_and_out(browser: Any, world: World) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    bearer: list[str] = []  # requests carrying a token: none, the session cookie is the browser's only credential
    page.on("request", lambda r: bearer.append(r.url) if "authorization" in r.headers else None)
    page.goto(f"{world.url}/ui/alerts")
    page.wait_for_url("**/ui/login?next=%2Fui%2Falerts")
    page.fill("#token", "swt_not-a-token")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not(:empty)")
    assert page.get_attribute("#token", "aria-invalid") == "true"
    page.fill("#token", world.token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{world.url}/ui/alerts")
    page.wait_for_selector("body[data-loaded]")
    cookie = next(c for c in ctx.cookies() if c["name"] == "signwatch_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"  # Lax: an IdP's redirect must carry it
    kept = page.evaluate("JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])")
    assert world.token not in kept  # the token itself is not kept in the browser
    page.click("#sign-out")
    page.wait_for_url("**/ui/login")
    assert page.evaluate("fetch('/auth/me').then(r => r.status)") == 401
    # the one-time link the demo prints: signed in at once, the token gone from the address bar
    page.goto(f"{world.url}/ui/login?next=%2Fui%2Frules#token={world.token}")
    page.wait_for_url(f"{world.url}/ui/rules")
    assert world.token not in page.url
    page.wait_for_selector("body[data-loaded]")
    assert page.evaluate("fetch('/auth/me').then(r => r.json()).then(m => m.kind)") == "session"
    assert world.token not in page.evaluate(
        "JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])"
    )
    assert bearer == []
    ctx.close()
