"""The SQL store's identities (SCIM 2.0 users and groups) and offboarding: a deactivated or deleted user, or one
removed from its last group, has every personal token revoked in the same transaction as the change."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from signwatch.events import from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import AlreadyExists, NotFound, ScimGroupRecord, ScimUserRecord, StaleVersion


class IdentitySql:
    """Mixin for SqlStore (which provides `engine` and `_writing`)."""

    engine: Any

    # -- users -------------------------------------------------------------------------------------------
    def add_scim_user(self, record: ScimUserRecord) -> None:
        try:
            with self._writing() as conn:  # type: ignore[attr-defined]
                conn.execute(insert(t.scim_users).values(id=record.id, **_user_values(record), version=1))
        except IntegrityError as exc:
            raise AlreadyExists(record.user_name) from exc

    def get_scim_user(self, user_id: str) -> ScimUserRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.scim_users).where(t.scim_users.c.id == user_id)).first()
            return None if row is None else _user(row, _groups_of(conn, [row.id]))

    def list_scim_users(self, user_name: str | None = None) -> list[ScimUserRecord]:
        """Every user in creation order; only the one named `user_name` (case-insensitively) when given."""
        c = t.scim_users.c
        q = select(t.scim_users).order_by(c.created_us, c.id)
        if user_name is not None:
            q = q.where(c.user_name_key == user_name.lower())
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            groups = _groups_of(conn, [r.id for r in rows] if user_name is not None else None)
        return [_user(r, groups) for r in rows]

    def put_scim_user(self, record: ScimUserRecord, if_version: int | None = None) -> int:
        """Replace a user (version + 1); an inactive user's tokens are revoked. Returns tokens revoked."""
        c = t.scim_users.c
        try:
            with self._writing() as conn:  # type: ignore[attr-defined]
                version = conn.execute(select(c.version).where(c.id == record.id)).scalar()
                if version is None:
                    raise NotFound(record.id)
                if if_version is not None and version != if_version:
                    raise StaleVersion(record.id)
                values = _user_values(record)
                del values["created_us"]
                conn.execute(update(t.scim_users).where(c.id == record.id).values(**values, version=version + 1))
                return 0 if record.active else _revoke(conn, [record.id], record.updated_at)
        except IntegrityError as exc:
            raise AlreadyExists(record.user_name) from exc

    def delete_scim_user(self, user_id: str, at: datetime) -> int:
        """Delete a user and its memberships and revoke its tokens. Returns tokens revoked."""
        with self._writing() as conn:  # type: ignore[attr-defined]
            if not conn.execute(delete(t.scim_users).where(t.scim_users.c.id == user_id)).rowcount:
                raise NotFound(user_id)
            m = t.scim_members.c
            groups = [r[0] for r in conn.execute(select(m.group_id).where(m.user_id == user_id))]
            conn.execute(delete(t.scim_members).where(m.user_id == user_id))
            _touch_groups(conn, groups, at)
            return _revoke(conn, [user_id], at)

    # -- groups ------------------------------------------------------------------------------------------
    def add_scim_group(self, record: ScimGroupRecord) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            _check_users(conn, record.members)
            conn.execute(insert(t.scim_groups).values(id=record.id, **_group_values(record), version=1))
            _add_members(conn, record.id, record.members, record.updated_at)

    def get_scim_group(self, group_id: str) -> ScimGroupRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.scim_groups).where(t.scim_groups.c.id == group_id)).first()
            return None if row is None else _group(row, _members_of(conn, [row.id]))

    def list_scim_groups(self) -> list[ScimGroupRecord]:
        c = t.scim_groups.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.scim_groups).order_by(c.created_us, c.id)).all()
            members = _members_of(conn, None)
        return [_group(r, members) for r in rows]

    def put_scim_group(self, record: ScimGroupRecord, if_version: int | None = None) -> int:
        """Replace a group and its members (version + 1). Members removed from their last group have their
        tokens revoked. Returns tokens revoked."""
        c, m = t.scim_groups.c, t.scim_members.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            version = conn.execute(select(c.version).where(c.id == record.id)).scalar()
            if version is None:
                raise NotFound(record.id)
            if if_version is not None and version != if_version:
                raise StaleVersion(record.id)
            _check_users(conn, record.members)
            values = _group_values(record)
            del values["created_us"]
            conn.execute(update(t.scim_groups).where(c.id == record.id).values(**values, version=version + 1))
            old = {r[0] for r in conn.execute(select(m.user_id).where(m.group_id == record.id))}
            new = set(record.members)
            removed = sorted(old - new)
            if removed:
                conn.execute(delete(t.scim_members).where(m.group_id == record.id, m.user_id.in_(removed)))
            _add_members(conn, record.id, sorted(new - old), record.updated_at)
            return _revoke_groupless(conn, removed, record.updated_at)

    def delete_scim_group(self, group_id: str, at: datetime) -> int:
        """Delete a group; members left without any group have their tokens revoked. Returns tokens revoked."""
        m = t.scim_members.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            if not conn.execute(delete(t.scim_groups).where(t.scim_groups.c.id == group_id)).rowcount:
                raise NotFound(group_id)
            removed = [r[0] for r in conn.execute(select(m.user_id).where(m.group_id == group_id))]
            conn.execute(delete(t.scim_members).where(m.group_id == group_id))
            return _revoke_groupless(conn, removed, at)


# -- helpers (inside one transaction) ---------------------------------------------------------------------
def _revoke(conn: Connection, user_ids: Iterable[str], at: datetime) -> int:
    ids = list(user_ids)
    if not ids:
        return 0
    c = t.tokens.c
    done = conn.execute(update(t.tokens).where(c.user_id.in_(ids), c.revoked_us.is_(None)).values(revoked_us=to_us(at)))
    return int(done.rowcount or 0)


def _revoke_groupless(conn: Connection, user_ids: list[str], at: datetime) -> int:
    """Revoke the tokens of those of `user_ids` (just removed from a group) who belong to no group now."""
    if not user_ids:
        return 0
    m = t.scim_members.c
    still = {r[0] for r in conn.execute(select(m.user_id).where(m.user_id.in_(user_ids)).distinct())}
    _touch_users(conn, user_ids, at)
    return _revoke(conn, [u for u in user_ids if u not in still], at)


def _touch_users(conn: Connection, user_ids: list[str], at: datetime) -> None:
    """A user's `groups` changed: its lastModified and version move on."""
    c = t.scim_users.c
    conn.execute(update(t.scim_users).where(c.id.in_(user_ids)).values(version=c.version + 1, updated_us=to_us(at)))


def _touch_groups(conn: Connection, group_ids: list[str], at: datetime) -> None:
    if group_ids:
        c = t.scim_groups.c
        stmt = update(t.scim_groups).where(c.id.in_(group_ids))
        conn.execute(stmt.values(version=c.version + 1, updated_us=to_us(at)))


def _check_users(conn: Connection, user_ids: Iterable[str]) -> None:
    ids = sorted(set(user_ids))
    if ids:
        found = {r[0] for r in conn.execute(select(t.scim_users.c.id).where(t.scim_users.c.id.in_(ids)))}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(", ".join(missing))


def _add_members(conn: Connection, group_id: str, user_ids: Iterable[str], at: datetime) -> None:
    rows = [{"group_id": group_id, "user_id": u} for u in sorted(set(user_ids))]
    if rows:
        conn.execute(insert(t.scim_members), rows)
        _touch_users(conn, [r["user_id"] for r in rows], at)


def _groups_of(conn: Connection, user_ids: list[str] | None) -> dict[str, list[tuple[str, str]]]:
    m, g = t.scim_members.c, t.scim_groups.c
    q = select(m.user_id, g.id, g.display_name).join(t.scim_groups, g.id == m.group_id)
    if user_ids is not None:
        q = q.where(m.user_id.in_(user_ids))
    out: dict[str, list[tuple[str, str]]] = {}
    for r in conn.execute(q.order_by(g.display_name, g.id)):
        out.setdefault(r[0], []).append((r[1], r[2]))
    return out


def _members_of(conn: Connection, group_ids: list[str] | None) -> dict[str, list[str]]:
    m = t.scim_members.c
    q = select(m.group_id, m.user_id)
    if group_ids is not None:
        q = q.where(m.group_id.in_(group_ids))
    out: dict[str, list[str]] = {}
    for r in conn.execute(q.order_by(m.user_id)):
        out.setdefault(r[0], []).append(r[1])
    return out


def _user_values(r: ScimUserRecord) -> dict[str, Any]:
    return {
        "user_name": r.user_name,
        "user_name_key": r.user_name.lower(),
        "external_id": r.external_id,
        "active": r.active,
        "attributes": json.dumps(r.attributes, sort_keys=True),
        "created_us": to_us(r.created_at),
        "updated_us": to_us(r.updated_at),
    }


def _group_values(r: ScimGroupRecord) -> dict[str, Any]:
    return {
        "display_name": r.display_name,
        "external_id": r.external_id,
        "created_us": to_us(r.created_at),
        "updated_us": to_us(r.updated_at),
    }


def _user(row: Any, groups: dict[str, list[tuple[str, str]]]) -> ScimUserRecord:
    return ScimUserRecord(
        id=row.id,
        user_name=row.user_name,
        active=bool(row.active),
        external_id=row.external_id,
        attributes=json.loads(row.attributes),
        created_at=from_us(row.created_us),
        updated_at=from_us(row.updated_us),
        version=int(row.version),
        groups=tuple(groups.get(row.id, ())),
    )


def _group(row: Any, members: dict[str, list[str]]) -> ScimGroupRecord:
    return ScimGroupRecord(
        id=row.id,
        display_name=row.display_name,
        external_id=row.external_id,
        members=tuple(members.get(row.id, ())),
        created_at=from_us(row.created_us),
        updated_at=from_us(row.updated_us),
        version=int(row.version),
    )
