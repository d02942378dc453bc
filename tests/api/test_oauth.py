"""OAuth 2.0 token endpoint over real HTTP: client credentials and RS256 JWT bearer assertions (signed here
with PyJWT, as a Monitor integration would), scope subsets, expiry, and disabling a principal."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from httpx import Client

from signwatch.auth.principals import create_principal
from signwatch.store import SqlStore
from tests.api.test_data import send
from tests.conftest import KEY

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def keypair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, pem


def assertion(private: rsa.RSAPrivateKey, iss: str, aud: str, *, lifetime: int = 300, **extra: object) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": iss, "sub": iss, "aud": aud, "iat": now, "exp": now + lifetime, **extra}, private, "RS256"
    )


def test_client_credentials_issue_a_short_lived_scoped_token(client: Client, store: SqlStore) -> None:
    send(client, "acme", KEY)
    principal, secret = create_principal(store, "siem", frozenset({"export:read", "monitor:read"}), None)
    assert secret is not None
    basic = base64.b64encode(f"{principal.id}:{secret}".encode()).decode()
    resp = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "export:read"},
        headers={"Authorization": f"Basic {basic}"},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "export:read"
    assert resp.headers["cache-control"] == "no-store"
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/monitor/v2/export", headers=auth).status_code == 200
    assert client.get("/monitor/v2/data", headers=auth).status_code == 403  # monitor:read was not requested
    in_form = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": secret}
    )
    assert in_form.status_code == 200 and set(in_form.json()["scope"].split()) == {"export:read", "monitor:read"}
    wrong = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": "nope"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    greedy = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": secret, "scope": "admin"},
    )
    assert greedy.status_code == 400 and greedy.json()["error"] == "invalid_scope"
    odd = client.post("/oauth/token", data={"grant_type": "password"})
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"


def test_jwt_bearer_assertions(client: Client, store: SqlStore) -> None:
    private, pem = keypair()
    principal, _ = create_principal(store, "monitor-app", frozenset({"monitor:read"}), None, (pem,), with_secret=False)
    aud = client.base_url.host
    good = client.post("/oauth/token", data={"grant_type": GRANT, "assertion": assertion(private, principal.id, aud)})
    assert good.status_code == 200, good.text
    token = good.json()["access_token"]
    assert (
        client.get("/api/v2.0/datasets/monitor/stream", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    endpoint = f"{client.base_url}/oauth/token".replace("//oauth", "/oauth")
    assert (
        client.post(
            "/oauth/token", data={"grant_type": GRANT, "assertion": assertion(private, principal.id, endpoint)}
        ).status_code
        == 200
    )
    other, _ = keypair()
    cases = {
        "foreign key": assertion(other, principal.id, aud),
        "wrong audience": assertion(private, principal.id, "evil.example"),
        "expired": jwt.encode(
            {"iss": principal.id, "aud": aud, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
            private, "RS256",
        ),
        "too long": assertion(private, principal.id, aud, lifetime=86400),
        "unknown issuer": assertion(private, "sp_nobody", aud),
        "HS256": jwt.encode({"iss": principal.id, "aud": aud, "iat": 1, "exp": 2}, "k" * 32, "HS256"),
        "scope not granted": assertion(private, principal.id, aud, scope="admin"),
    }  # fmt: skip
    for case, value in cases.items():
        resp = client.post("/oauth/token", data={"grant_type": GRANT, "assertion": value})
        assert resp.status_code == 400, case
        assert resp.json()["error"] in ("invalid_grant", "invalid_scope"), case


@pytest.mark.parametrize("via", ["disable", "expiry"])
def test_tokens_stop_working_when_the_principal_is_disabled_or_they_expire(
    client: Client, store: SqlStore, via: str
) -> None:
    principal, secret = create_principal(store, f"p-{via}", frozenset({"monitor:read"}), None)
    resp = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": secret}
    )
    auth = {"Authorization": f"Bearer {resp.json()['access_token']}"}
    assert client.get("/monitor/v2/data", headers=auth).status_code == 200
    if via == "disable":
        assert store.disable_principal(principal.name, datetime.now(UTC)) == 1
        again = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": secret},
        )
        assert again.status_code == 401
    else:
        from signwatch.store import schema as t

        with store._writing() as conn:  # the store's write lock: the server writes too
            conn.execute(
                t.tokens.update().values(expires_us=int((datetime.now(UTC) - timedelta(seconds=1)).timestamp() * 1e6))
            )
    assert client.get("/monitor/v2/data", headers=auth).status_code == 401


def test_failed_authentication_is_throttled(client: Client, store: SqlStore) -> None:
    principal, _ = create_principal(store, "target", frozenset({"monitor:read"}), None)
    for _ in range(20):
        bad = client.post(
            "/oauth/token", data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": "x"}
        )
        assert bad.status_code == 401
    throttled = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": principal.id, "client_secret": "x"}
    )
    assert throttled.status_code == 429 and "retry-after" in throttled.headers
    for _ in range(20):
        assert client.get("/monitor/v2/data", headers={"Authorization": "Bearer swt_guess"}).status_code in (401, 429)
    blocked = client.get("/monitor/v2/data", headers={"Authorization": "Bearer swt_guess"})
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
