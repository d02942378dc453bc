"""Auth (design §4): service principals — OAuth clients holding scopes on tenants, and the short-lived
access tokens issued to them.

A principal authenticates with its client secret (`client_credentials`; shown once, stored as SHA-256) or
with an RS256 JWT assertion signed by one of its registered keys (`jwt-bearer`, the grant DocuSign Monitor
integrations use). Either way it gets a bearer token in the same `tokens` table as personal tokens, with
an expiry and the principal's id: disabling the principal revokes them all in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from signwatch.auth.tokens import TOKEN_PREFIX, hash_token
from signwatch.events import utcnow
from signwatch.store import Store, TokenRecord
from signwatch.store.base import PrincipalRecord

SECRET_PREFIX = "sws_"


class InvalidPrincipal(ValueError):
    pass


def create_principal(
    store: Store,
    name: str,
    scopes: frozenset[str],
    tenants: frozenset[str] | None,
    public_keys: tuple[str, ...] = (),
    *,
    with_secret: bool = True,
    at: datetime | None = None,
) -> tuple[PrincipalRecord, str | None]:
    """Create a principal; returns it and its client secret (None when it only signs assertions)."""
    for pem in public_keys:
        try:
            load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise InvalidPrincipal("the public key is not a PEM public key (RSA, for RS256)") from exc
    secret = SECRET_PREFIX + secrets.token_urlsafe(32) if with_secret else None
    record = PrincipalRecord(
        id="sp_" + secrets.token_hex(10),
        name=name,
        scopes=scopes,
        tenants=tenants,
        secret_hash=hash_token(secret) if secret else None,
        public_keys=public_keys,
        created_at=at or utcnow(),
    )
    store.add_principal(record)
    return record, secret


def issue_access_token(
    store: Store, principal: PrincipalRecord, scopes: frozenset[str], ttl: timedelta, now: datetime
) -> tuple[TokenRecord, str]:
    """A bearer token for `principal` with `scopes` (a subset of its own), valid for `ttl`."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(
        id="tok_" + secrets.token_hex(8),
        name=f"oauth:{principal.name}",
        token_hash=hash_token(secret),
        scopes=scopes,
        tenants=principal.tenants,
        created_at=now,
        expires_at=now + ttl,
        principal_id=principal.id,
        kind="access",
    )
    store.add_token(record)
    return record, secret
