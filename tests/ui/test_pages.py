"""The dashboard's HTTP side, without a browser: page shells carry no data and a strict CSP, assets are served
from the package under their digest, `/` leads to the dashboard, and the forwarder status the Exports page
shows (`GET /monitor/v2/export/forwarders`) is tenant-scoped."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from signwatch.auth.tokens import SCOPES, create_token
from signwatch.crypto import load_box
from signwatch.store.base import ForwarderRecord
from signwatch.ui.pages import SCOPE_HELP, asset_digest
from tests.conftest import SECRET
from tests.ui.conftest import World


def test_page_shells_hold_no_data_and_forbid_foreign_code(world: World) -> None:
    shells = ("/ui/", "/ui/alerts", f"/ui/alerts/{world.alert_id}", "/ui/users/alice@acme.example", "/ui/rules/new",
              "/ui/tokens")  # fmt: skip
    for path in shells:
        resp = httpx.get(f"{world.url}{path}")  # no credentials
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        assert "globex" not in resp.text and "Burst" not in resp.text
        csp = resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "http://" not in resp.text.replace(world.url, "") and "https://" not in resp.text
    assert httpx.get(f"{world.url}/monitor/v2/insights/overview").status_code == 401  # the data needs sign-in


def test_the_tokens_page_offers_every_scope_with_its_meaning(world: World) -> None:
    assert list(SCOPE_HELP) == list(SCOPES) and all(SCOPE_HELP.values())
    page = httpx.get(f"{world.url}/ui/tokens").text
    for scope in SCOPES:
        assert f'data-scope-option="{scope}"' in page


def test_root_leads_to_the_dashboard(world: World) -> None:
    resp = httpx.get(f"{world.url}/")
    assert resp.status_code == 307 and resp.headers["location"] == "/ui/"


def test_assets_come_from_the_package_under_their_digest(world: World) -> None:
    digest = asset_digest()
    page = httpx.get(f"{world.url}/ui/").text
    assert f"/ui/static/{digest}/app.css" in page and f"/ui/static/{digest}/js/overview.js" in page
    js = httpx.get(f"{world.url}/ui/static/{digest}/js/core.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]
    world_map = httpx.get(f"{world.url}/ui/static/{digest}/world.json").json()
    assert {"US", "GB", "DE", "BR", "IN"} <= set(world_map["countries"]) and "SG" in world_map["dots"]
    stale = httpx.get(f"{world.url}/ui/static/000000000000/app.css")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    for bad in ("..%2Fpages.py", "js%2F..%2F..%2Fpages.py", "%2E%2E/pages.py", "nothing.js"):
        assert httpx.get(f"{world.url}/ui/static/{digest}/{bad}").status_code == 404, bad


def test_forwarder_status_is_tenant_scoped(world: World) -> None:
    box = load_box(SECRET, "sqlite://")
    for name, tenant in (("siem-all", None), ("siem-acme", "acme"), ("siem-globex", "globex")):
        world.store.register_forwarder(
            ForwarderRecord(
                name,
                box.encrypt("https://siem.example/ingest?token=s3cret"),
                "https://siem.example/ingest",
                "ndjson",
                tenant,
                position=0,
            )
        )
    world.store.advance_forwarder("siem-acme", 0, 3, 3, datetime.now(UTC))

    def names(scopes: str, tenants: frozenset[str] | None) -> dict[str, dict]:
        _, secret = create_token(world.store, "f", frozenset(scopes.split(",")), tenants)
        resp = httpx.get(f"{world.url}/monitor/v2/export/forwarders", headers={"Authorization": f"Bearer {secret}"})
        if resp.status_code != 200:
            return {"status": {"code": resp.status_code}}
        assert "s3cret" not in resp.text
        return {f["name"]: f for f in resp.json()["data"]}

    everything = names("export:read", None)
    assert set(everything) == {"siem-all", "siem-acme", "siem-globex"}
    acme = names("export:read", frozenset({"acme"}))
    assert set(acme) == {"siem-acme"}
    assert acme["siem-acme"]["forwarded"] == 3 and acme["siem-acme"]["lastOkAt"].endswith("Z")
    assert acme["siem-acme"]["lagEvents"] > 0 and acme["siem-acme"]["sink"] == "https://siem.example/ingest"
    assert names("monitor:read", None) == {"status": {"code": 403}}
    assert httpx.get(f"{world.url}/monitor/v2/export/forwarders").status_code == 401
