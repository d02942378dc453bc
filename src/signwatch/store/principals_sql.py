"""The SQL store's credentials: bearer tokens (API tokens, OAuth access tokens, dashboard sessions) and the
service principals OAuth issues access tokens to. Every authenticated request reads here (`token_by_hash`)."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from signwatch.events import from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import AlreadyExists, NotFound, PrincipalRecord, TokenRecord


class PrincipalSql:
    """Mixin for SqlStore (which provides `engine`, `dialect`, `_sql` and `_writing`)."""

    engine: Any
    dialect: str
    _sql: Any

    # -- tokens ------------------------------------------------------------------------------------------
    def add_token(self, record: TokenRecord) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                insert(t.tokens).values(
                    id=record.id,
                    name=record.name,
                    token_hash=record.token_hash,
                    scopes=" ".join(sorted(record.scopes)),
                    tenants=None if record.tenants is None else _dumps(sorted(record.tenants)),
                    created_us=to_us(record.created_at),
                    revoked_us=_us(record.revoked_at),
                    expires_us=_us(record.expires_at),
                    principal_id=record.principal_id,
                    user_id=record.user_id,
                    kind=record.kind,
                )
            )

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """Every authenticated request's lookup: one driver-level SELECT by the unique hash (a tenth of the
        cost of a Core select on a SQLAlchemy connection; bench/auth_cost.py)."""
        raw = self.engine.raw_connection()
        driver: Any = raw.driver_connection
        single = self.dialect == "postgresql"  # one round trip: no BEGIN before, nor ROLLBACK after
        try:
            if single:
                driver.autocommit = True
            cursor = raw.cursor()
            cursor.execute(self._sql.token_by_hash, (token_hash,))
            row = cursor.fetchone()
            cursor.close()
        finally:
            if single:
                driver.autocommit = False
            raw.close()
        return _token(SimpleNamespace(**dict(zip(self._sql.token_cols, row, strict=True)))) if row else None

    def list_tokens(self) -> list[TokenRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.tokens).order_by(t.tokens.c.created_us)).all()
        return [_token(r) for r in rows]

    def revoke_token(self, id_or_name: str, at: datetime) -> int:
        """Revoke a token, and the dashboard sessions opened with it (named `session:<token id>:…`)."""
        c = t.tokens.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            found = conn.execute(
                select(c.id).where(or_(c.id == id_or_name, c.name == id_or_name), c.revoked_us.is_(None))
            )
            ids = [r[0] for r in found]
            if ids:
                targets = or_(c.id.in_(ids), *(c.name.startswith(f"session:{i}:", autoescape=True) for i in ids))
                conn.execute(update(t.tokens).where(targets, c.revoked_us.is_(None)).values(revoked_us=to_us(at)))
        return len(ids)

    # -- service principals -------------------------------------------------------------------------------
    def add_principal(self, record: PrincipalRecord) -> None:
        try:
            with self._writing() as conn:  # type: ignore[attr-defined]
                conn.execute(
                    insert(t.principals).values(
                        id=record.id,
                        name=record.name,
                        scopes=" ".join(sorted(record.scopes)),
                        tenants=None if record.tenants is None else _dumps(sorted(record.tenants)),
                        secret_hash=record.secret_hash,
                        public_keys=_dumps(list(record.public_keys)),
                        created_us=to_us(record.created_at),
                        disabled_us=_us(record.disabled_at),
                    )
                )
        except IntegrityError as exc:
            raise AlreadyExists(record.name) from exc

    def get_principal(self, id_or_name: str) -> PrincipalRecord | None:
        c = t.principals.c
        with self.engine.connect() as conn:
            row = conn.execute(select(t.principals).where(or_(c.id == id_or_name, c.name == id_or_name))).first()
        return None if row is None else _principal(row)

    def list_principals(self) -> list[PrincipalRecord]:
        with self.engine.connect() as conn:
            return [_principal(r) for r in conn.execute(select(t.principals).order_by(t.principals.c.created_us))]

    def disable_principal(self, id_or_name: str, at: datetime) -> int:
        """Disable a principal and revoke every token issued to it, in one transaction; tokens revoked."""
        c = t.principals.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            row = conn.execute(select(c.id).where(or_(c.id == id_or_name, c.name == id_or_name))).first()
            if row is None:
                raise NotFound(id_or_name)
            conn.execute(update(t.principals).where(c.id == row.id).values(disabled_us=to_us(at)))
            revoked = conn.execute(
                update(t.tokens)
                .where(t.tokens.c.principal_id == row.id, t.tokens.c.revoked_us.is_(None))
                .values(revoked_us=to_us(at))
            )
        return int(revoked.rowcount or 0)


def _us(at: datetime | None) -> int | None:
    return None if at is None else to_us(at)


def _at(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _token(row: Any) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        token_hash=row.token_hash,
        scopes=frozenset(row.scopes.split()),
        tenants=None if row.tenants is None else frozenset(json.loads(row.tenants)),
        created_at=from_us(row.created_us),
        revoked_at=_at(row.revoked_us),
        expires_at=_at(row.expires_us),
        principal_id=row.principal_id,
        user_id=row.user_id,
        kind=row.kind,
    )


def _principal(row: Any) -> PrincipalRecord:
    return PrincipalRecord(
        id=row.id,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        tenants=None if row.tenants is None else frozenset(json.loads(row.tenants)),
        secret_hash=row.secret_hash,
        public_keys=tuple(json.loads(row.public_keys)),
        created_at=from_us(row.created_us),
        disabled_at=_at(row.disabled_us),
    )
