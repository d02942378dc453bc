"""Bearer tokens: created once (shown once), stored as a SHA-256 hash, checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from signwatch.events import utcnow
from signwatch.store import Scope, Store, TokenRecord

SCOPES = ("monitor:read", "rules:write", "alerts:write", "export:read", "admin", "scim")
TOKEN_PREFIX = "swt_"


class UnknownScope(ValueError):
    pass


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is the right hash (no slow KDF needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.replace(" ", ",").split(",") if s.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown or not scopes:
        raise UnknownScope(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(SCOPES)}")
    return scopes


def create_token(
    store: Store,
    name: str,
    scopes: frozenset[str],
    tenants: frozenset[str] | None,
    at: datetime | None = None,
    user_id: str | None = None,
    kind: str = "api",
    expires_at: datetime | None = None,
    principal_id: str | None = None,
) -> tuple[TokenRecord, str]:
    """Create and store a token; return its record and the secret (never stored, shown once).

    A personal token names its SCIM user (`user_id`): offboarding that user revokes it.
    """
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(
        id="tok_" + secrets.token_hex(8),
        name=name,
        token_hash=hash_token(secret),
        scopes=scopes,
        tenants=tenants,
        created_at=at or utcnow(),
        user_id=user_id,
        kind=kind,
        expires_at=expires_at,
        principal_id=principal_id,
    )
    store.add_token(record)
    return record, secret


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of a request: its token, scopes and tenant scope."""

    token_id: str
    name: str
    scopes: frozenset[str]
    scope: Scope
    kind: str = "api"  # api | access | session: a dashboard session, authenticated by its cookie
    user_id: str | None = None
    principal_id: str | None = None
    expires_at: datetime | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def authenticate(store: Store, token: str) -> Caller | None:
    """The caller a bearer token stands for, or None when it is unknown or revoked."""
    record = store.token_by_hash(hash_token(token))
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= utcnow():
        return None
    return Caller(
        record.id,
        record.name,
        record.scopes,
        Scope(record.tenants),
        record.kind,
        record.user_id,
        record.principal_id,
        record.expires_at,
    )
