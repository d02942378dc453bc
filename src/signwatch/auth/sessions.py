"""Dashboard sessions: a short-lived token of kind `session`, carried in an HttpOnly cookie.

Being a token, a session is revoked by everything that revokes tokens: offboarding a user (SCIM), disabling a
principal, revoking the API token it was opened with (its name is `session:<token id>:<token name>`), signing out. The
cookie is SameSite=Lax; a request authenticated by the cookie that changes anything must also carry the
header `X-Signwatch-CSRF: 1`, which a cross-site form cannot send (api/deps.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from signwatch.auth.tokens import Caller, create_token
from signwatch.store import Store, TokenRecord

COOKIE = "signwatch_session"
CSRF_HEADER = "x-signwatch-csrf"


def session_from_token(store: Store, caller: Caller, ttl: timedelta, now: datetime) -> tuple[TokenRecord, str]:
    """A session standing for an API token: same scopes and tenants, gone when that token goes."""
    expires = now + ttl if caller.expires_at is None else min(now + ttl, caller.expires_at)
    return create_token(
        store,
        f"session:{caller.token_id}:{display_name(caller.name)}",
        caller.scopes,
        caller.scope.tenants,
        at=now,
        user_id=caller.user_id,
        kind="session",
        expires_at=expires,
        principal_id=caller.principal_id,
    )


def display_name(name: str) -> str:
    """Who a token or session stands for, for people: `analyst` for `session:tok_…:analyst`, `ada@x` for
    `oidc:ada@x`."""
    if name.startswith("session:"):
        return name.split(":", 2)[-1]
    return name.removeprefix("oidc:")


def session_for_person(
    store: Store,
    username: str,
    scopes: frozenset[str],
    tenants: frozenset[str] | None,
    user_id: str | None,
    ttl: timedelta,
    now: datetime,
) -> tuple[TokenRecord, str]:
    """A session for a person signed in at the IdP, with what their groups grant."""
    return create_token(
        store,
        f"oidc:{username}",
        scopes,
        tenants,
        at=now,
        user_id=user_id,
        kind="session",
        expires_at=now + ttl,
    )
