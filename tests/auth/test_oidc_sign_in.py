"""Dashboard sign-in with OpenID Connect, end to end against a real OpenID provider running here
(oidc-provider-mock: a Flask OP built on Authlib, serving discovery, JWKS, authorize and token endpoints).

The browser is played by an httpx client with a cookie jar: signwatch's login redirect → the IdP's
authorization form → the IdP's redirect back with a code → signwatch's callback (code exchange with the PKCE
verifier, ID token checked) → a session cookie that the data API accepts, bounded by the groups' mappings,
and refused at once after SCIM offboarding.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import werkzeug.serving
from oidc_provider_mock import app as idp_app
from pydantic import SecretStr

from signwatch.api.app import create_app
from signwatch.auth.tokens import create_token
from signwatch.config import Settings
from signwatch.events import utcnow
from signwatch.store import GroupMapping, SqlStore
from tests.conftest import LiveServer

CLIENT_ID = "signwatch-dashboard"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class IdP:
    """The OpenID provider on a free port, recording the form bodies of token requests (to check PKCE)."""

    def __init__(self) -> None:
        self.token_requests: list[dict[str, list[str]]] = []
        inner = idp_app(require_nonce=True)

        def recording(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO") == "/oauth2/token":
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                self.token_requests.append(parse_qs(body.decode()))
                environ["wsgi.input"] = io.BytesIO(body)
            return inner(environ, start_response)

        self.server = werkzeug.serving.make_server("localhost", 0, recording, threaded=True)
        self.url = f"http://localhost:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def set_user(self, sub: str, **claims: Any) -> None:
        httpx.put(f"{self.url}/users/{sub}", json=claims).raise_for_status()


@pytest.fixture
def idp() -> Iterator[IdP]:
    provider = IdP()
    provider.thread.start()
    yield provider
    provider.server.shutdown()


@pytest.fixture
def oidc_live(settings: Settings, store: SqlStore, tenants: dict[str, str], idp: IdP) -> Iterator[LiveServer]:
    configured = settings.model_copy(
        update={"oidc_issuer": idp.url, "oidc_client_id": CLIENT_ID, "oidc_client_secret": SecretStr("s3cret")}
    )
    with LiveServer(create_app(configured, store)) as server:
        yield server


BROWSERS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_browsers() -> Iterator[None]:
    yield
    while BROWSERS:
        BROWSERS.pop().close()


@pytest.fixture
def scim_auth(store: SqlStore) -> dict[str, str]:
    _, secret = create_token(store, "okta", frozenset({"scim"}), None)
    return {"Authorization": f"Bearer {secret}"}


def provision(live: LiveServer, auth: dict[str, str], user_name: str, group: str) -> tuple[str, str]:
    """Create a SCIM user and a group holding it, as an IdP would; return (user id, group id)."""
    with httpx.Client(base_url=live.url) as c:
        user = c.post("/scim/v2/Users", headers=auth, json={
            "schemas": [USER], "userName": user_name, "active": True,
            "emails": [{"value": user_name, "primary": True}]})  # fmt: skip
        assert user.status_code == 201, user.text
        made = c.post("/scim/v2/Groups", headers=auth, json={
            "schemas": [GROUP], "displayName": group, "members": [{"value": user.json()["id"]}]})  # fmt: skip
        assert made.status_code == 201, made.text
        return user.json()["id"], made.json()["id"]


def sign_in(live: LiveServer, idp: IdP, sub: str, next_path: str = "/ui/alerts") -> httpx.Client:
    """Play the browser through the whole sign-in; return the client holding the session cookie."""
    browser = httpx.Client(base_url=live.url, timeout=30)
    BROWSERS.append(browser)
    start = browser.get("/auth/oidc/login", params={"next": next_path})
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(idp.url + "/oauth2/authorize")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID] and "nonce" in query and "state" in query
    form = browser.get(authorize)
    assert form.status_code == 200 and "sub" in form.text  # the IdP's sign-in form
    back = browser.post(authorize, data={"sub": sub})
    assert back.status_code == 302
    callback = back.headers["location"]
    assert callback.startswith(live.url + "/auth/oidc/callback?")
    done = browser.get(callback)
    browser.last_sign_in = done  # type: ignore[attr-defined]
    browser.challenge = query["code_challenge"][0]  # type: ignore[attr-defined]
    return browser


def test_sign_in_with_pkce_grants_what_the_groups_map(
    oidc_live: LiveServer, idp: IdP, store: SqlStore, scim_auth: dict[str, str]
) -> None:
    provision(oidc_live, scim_auth, "ada@acme.example", "sw-analysts")
    store.put_group_mapping(
        GroupMapping("SW-Analysts", frozenset({"monitor:read"}), frozenset({"acme"}), None, utcnow())
    )
    idp.set_user("ada", preferred_username="ada@acme.example", email="ada@acme.example")

    browser = sign_in(oidc_live, idp, "ada")
    done = browser.last_sign_in  # type: ignore[attr-defined]
    assert done.status_code == 303 and done.headers["location"] == "/ui/alerts"
    cookie = done.headers["set-cookie"]
    assert "signwatch_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()

    # PKCE: the token request carried the verifier whose S256 digest is the challenge sent to the IdP.
    verifier = idp.token_requests[-1]["code_verifier"][0]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == browser.challenge  # type: ignore[attr-defined]

    me = browser.get("/auth/me").json()
    assert me["kind"] == "session" and me["scopes"] == ["monitor:read"] and me["tenants"] == ["acme"]
    assert browser.get("/monitor/v2/data").status_code == 200
    assert browser.get("/monitor/v2/data", params={"tenant": "globex"}).status_code in (403, 404)
    made = browser.post("/monitor/v2/alert/rules", json={}, headers={"X-Signwatch-CSRF": "1"})
    assert made.status_code == 403 and made.json()["error"]["code"] == "insufficient_scope"
    actions = [r.action for r in store.read_audit(0, 1000)]
    assert "login" in actions


def test_groups_claim_alone_grants_access_and_unmapped_people_are_refused(
    oidc_live: LiveServer, idp: IdP, store: SqlStore
) -> None:
    store.put_group_mapping(GroupMapping("secops", frozenset({"monitor:read", "alerts:write"}), None, "high", utcnow()))
    idp.set_user("bob", preferred_username="bob@acme.example", groups=["SecOps"])
    idp.set_user("eve", preferred_username="eve@acme.example", groups=["marketing"])

    bob = sign_in(oidc_live, idp, "bob")
    assert bob.last_sign_in.status_code == 303  # type: ignore[attr-defined]
    assert bob.get("/auth/me").json()["scopes"] == ["alerts:write", "monitor:read"]
    silence = {"reason": "maintenance", "endsAt": "2099-01-01T00:00:00Z"}
    forged = bob.post("/monitor/v2/alert/silences", json=silence)  # what a cross-site form could send
    assert forged.status_code == 403 and "X-Signwatch-Csrf" in forged.json()["error"]["message"]

    eve = sign_in(oidc_live, idp, "eve")
    refused = eve.last_sign_in  # type: ignore[attr-defined]
    assert refused.status_code == 403 and "no group" in refused.json()["error"]["message"]
    assert "signwatch_session" not in eve.cookies
    assert eve.get("/auth/me").status_code == 401


def test_offboarding_over_scim_ends_the_session_at_once(
    oidc_live: LiveServer, idp: IdP, store: SqlStore, scim_auth: dict[str, str]
) -> None:
    user_id, _ = provision(oidc_live, scim_auth, "cy@acme.example", "sw-analysts")
    store.put_group_mapping(GroupMapping("sw-analysts", frozenset({"monitor:read"}), None, None, utcnow()))
    idp.set_user("cy", preferred_username="cy@acme.example")
    browser = sign_in(oidc_live, idp, "cy")
    assert browser.get("/monitor/v2/data").status_code == 200
    csrf = {"X-Signwatch-CSRF": "1"}
    # A personal token made from the dashboard: bounded by the groups, listed, and offboarded with its owner.
    too_much = browser.post("/auth/tokens", json={"name": "laptop", "scopes": ["export:read"]}, headers=csrf)
    assert too_much.status_code == 403 and "do not grant export:read" in too_much.json()["error"]["message"]
    made = browser.post("/auth/tokens", json={"name": "laptop", "scopes": ["monitor:read"]}, headers=csrf)
    assert made.status_code == 201, made.text
    personal = {"Authorization": f"Bearer {made.json()['token']}"}
    assert [t["name"] for t in browser.get("/auth/tokens").json()["data"]] == ["laptop"]
    with httpx.Client(base_url=oidc_live.url) as cli:
        assert cli.get("/monitor/v2/data", headers=personal).status_code == 200

    with httpx.Client(base_url=oidc_live.url) as admin:
        off = admin.patch(f"/scim/v2/Users/{user_id}", headers=scim_auth, json={
            "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})  # fmt: skip
        assert off.status_code == 200, off.text
    assert browser.get("/monitor/v2/data").status_code == 401
    with httpx.Client(base_url=oidc_live.url) as cli:
        assert cli.get("/monitor/v2/data", headers=personal).status_code == 401
    again = sign_in(oidc_live, idp, "cy")  # and a deactivated person cannot sign in again
    assert again.last_sign_in.status_code == 403  # type: ignore[attr-defined]


def test_forged_state_and_foreign_next_are_refused(oidc_live: LiveServer, idp: IdP, store: SqlStore) -> None:
    store.put_group_mapping(GroupMapping("all", frozenset({"monitor:read"}), None, None, utcnow()))
    idp.set_user("dan", preferred_username="dan@acme.example", groups=["all"])
    with httpx.Client(base_url=oidc_live.url) as stranger:  # a callback without the sign-in's state cookie
        forged = stranger.get("/auth/oidc/callback", params={"code": "abc", "state": "xyz"})
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
    browser = sign_in(oidc_live, idp, "dan", next_path="//evil.example/phish")
    assert browser.last_sign_in.headers["location"] == "/ui/"  # type: ignore[attr-defined]


def test_without_an_issuer_idp_sign_in_is_off(client: httpx.Client) -> None:
    assert client.get("/auth/providers").json() == {"token": True, "oidc": False}
    assert client.get("/auth/oidc/login").status_code == 404
