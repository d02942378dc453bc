"""The API tokens page in a real headless Chromium: a person signed in through the identity provider (a SCIM
user in a mapped group, with an IdP session) makes a personal token, sees it listed, uses it against the API,
revokes it; asking for more than the groups grant shows the API's refusal beside the field; a session opened
with an API token gets an explanation instead of the form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from signwatch.auth.sessions import COOKIE, session_for_person
from signwatch.store import GroupMapping
from signwatch.store.base import ScimGroupRecord, ScimUserRecord
from tests.ui.conftest import UNLABELLED, Console, World, open_page, signed_in

pytestmark = pytest.mark.slow  # a browser and a served store: end to end

ADA = "ada@acme.example"


def person_session(world: World) -> str:
    """Ada, in group "Acme readers" (monitor:read on acme), with an IdP session that still holds rules:write
    (her groups were narrowed after she signed in): the secret of her session cookie."""
    now = datetime.now(UTC)
    if world.store.get_scim_user("usr-ada") is None:
        attrs = {"emails": [{"value": ADA, "primary": True}]}
        world.store.add_scim_user(ScimUserRecord("usr-ada", ADA, True, None, attrs, now, now))
        world.store.add_scim_group(ScimGroupRecord("grp-readers", "Acme readers", None, ("usr-ada",), now, now))
        world.store.put_group_mapping(
            GroupMapping("Acme readers", frozenset({"monitor:read"}), frozenset({"acme"}), None, now)
        )
    scopes = frozenset({"monitor:read", "rules:write"})
    _, secret = session_for_person(world.store, ADA, scopes, frozenset({"acme"}), "usr-ada", timedelta(hours=1), now)
    return secret


def as_person(browser: Any, world: World, **context: Any) -> Any:
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context})
    ctx.add_cookies([{"name": COOKIE, "value": person_session(world), "url": world.url}])
    return ctx


def test_a_person_makes_uses_and_revokes_a_personal_token(browser: Any, world: World) -> None:
    ctx = as_person(browser, world)
    page, console = open_page(ctx, world, "/ui/")
    expect(page.locator("#who")).to_have_text(f"{ADA} · acme")
    page.click("#who")  # the user name leads to the API tokens page
    page.wait_for_url(f"{world.url}/ui/tokens")
    page.wait_for_selector("body[data-loaded]")
    assert page.get_attribute("#who", "aria-current") == "page"
    assert page.locator("#not-person").is_hidden() and page.locator("#token-form").is_visible()
    assert page.evaluate(UNLABELLED) == []
    # only the session's scopes are offered, and its one tenant
    offered = page.locator("[data-scope-option]:visible").evaluate_all("els => els.map(e => e.dataset.scopeOption)")
    assert sorted(offered) == ["monitor:read", "rules:write"]
    assert page.locator("#tenant-options input").evaluate_all("els => els.map(e => e.value)") == ["acme"]
    expect(page.locator("#tokens")).to_contain_text("no personal tokens yet")

    page.fill("#t-name", "weekly report")
    page.check("[data-scope-option='monitor:read'] input")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#new-secret:not([hidden])")
    secret = page.input_value("#secret")
    assert secret.startswith("swt_") and page.get_attribute("#secret", "readonly") is not None
    assert "Shown once" in page.inner_text("#new-secret")
    assert page.evaluate("document.activeElement.id") in ("new-secret", "secret")
    row = page.locator("#tokens tr[data-name='weekly report']")
    expect(row).to_have_attribute("data-state", "active")
    assert "monitor:read" in row.inner_text() and "acme" in row.inner_text()
    assert secret not in page.inner_text("#tokens")
    page.click("#copy")
    expect(page.locator("#copy-message")).not_to_be_empty()
    page.click("#secret-done")
    assert page.locator("#new-secret").is_hidden() and page.input_value("#secret") == ""

    # the token works against the API, with the person's acme-only reach
    auth = {"Authorization": f"Bearer {secret}"}
    overview = httpx.get(f"{world.url}/monitor/v2/insights/overview", params={"range": "24h"}, headers=auth)
    assert overview.status_code == 200, overview.text
    assert [t["tenant"] for t in overview.json()["tenants"]] == ["acme"]

    # revoking asks first; keeping it changes nothing
    row.locator("button", has_text="Revoke").click()
    dialog = page.locator("#revoke-dialog")
    expect(dialog).to_be_visible()
    assert "weekly report" in dialog.inner_text()
    page.click("#revoke-cancel")
    expect(dialog).to_be_hidden()
    assert row.get_attribute("data-state") == "active"
    row.locator("button", has_text="Revoke").click()
    page.click("#revoke-confirm")
    expect(row).to_have_attribute("data-state", "revoked")
    expect(page.locator("#list-message")).to_contain_text("revoked")
    assert row.locator("button").count() == 0
    gone = httpx.get(f"{world.url}/monitor/v2/insights/overview", params={"range": "24h"}, headers=auth)
    assert gone.status_code == 401
    assert console.errors == []
    ctx.close()


def test_asking_for_more_than_the_groups_grant_shows_the_apis_refusal(browser: Any, world: World) -> None:
    ctx = as_person(browser, world)
    page, console = open_page(ctx, world, "/ui/tokens")
    page.fill("#t-name", "ci")
    page.click("#token-form button[type=submit]")  # no scope ticked: said at once, nothing sent
    expect(page.locator("#e-scopes")).to_have_text("Choose at least one scope.")
    page.check("[data-scope-option='rules:write'] input")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#e-scopes")).to_contain_text(
        "your groups do not grant rules:write here; they grant monitor:read"
    )
    assert page.locator("#new-secret").is_hidden()
    assert page.locator("#tokens tr[data-name='ci']").count() == 0
    assert [e for e in console.errors if "status of 403" not in e] == []  # the refusal, on purpose
    ctx.close()


def test_a_session_opened_with_an_api_token_gets_an_explanation(browser: Any, world: World) -> None:
    ctx = signed_in(browser, world)
    page = ctx.new_page()
    console = Console(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{world.url}/ui/tokens")
    page.wait_for_selector("body[data-loaded]")
    expect(page.locator("#not-person")).to_be_visible()
    assert "analyst" in page.inner_text("#not-person") and "identity provider" in page.inner_text("#not-person")
    assert page.locator("#token-form").is_hidden() and page.locator("#tokens").is_hidden()
    assert not [u for u in requests if "/auth/tokens" in u]  # nothing asked that would only be refused
    assert console.errors == []
    ctx.close()


def test_the_tokens_page_fits_a_phone(browser: Any, world: World) -> None:
    ctx = as_person(browser, world, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page, console = open_page(ctx, world, "/ui/tokens")
    page.fill("#t-name", "phone")
    page.check("[data-scope-option='monitor:read'] input")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#new-secret:not([hidden])")
    page.wait_for_selector("#tokens tr[data-name='phone']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert console.errors == []
    ctx.close()
