"""The SQL store's identities (SCIM 2.0 users and groups), what groups grant (group mappings) and offboarding.

A deactivated or deleted user, or one removed from its last granting group, has every personal token and
dashboard session revoked in the same transaction as the change. A granting group is one with a mapping
(`signwatch groups map`): personal tokens and sessions exist only by what such groups grant."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from signwatch.events import from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import (
    AlreadyExists,
    GroupMapping,
    NotFound,
    ScimGroupRecord,
    ScimUserRecord,
    StaleVersion,
)


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

    # -- group mappings ---------------------------------------------------------------------------------
    def put_group_mapping(self, mapping: GroupMapping) -> None:
        """Create or replace what a group grants."""
        values = {
            "group_name": mapping.group_name,
            "scopes": " ".join(sorted(mapping.scopes)),
            "tenants": None if mapping.tenants is None else json.dumps(sorted(mapping.tenants)),
            "alert_severity": mapping.alert_severity,
            "updated_us": to_us(mapping.updated_at),
        }
        key = group_key(mapping.group_name)
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(update(t.group_mappings).where(t.group_mappings.c.group_key == key).values(**values))
            if not done.rowcount:
                conn.execute(insert(t.group_mappings).values(group_key=key, **values))

    def delete_group_mapping(self, group_name: str, at: datetime) -> int:
        """Remove a group's mapping; its members left without a granting group lose their tokens and
        sessions in the same transaction. Raises NotFound; returns tokens revoked."""
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(delete(t.group_mappings).where(t.group_mappings.c.group_key == group_key(group_name)))
            if not done.rowcount:
                raise NotFound(group_name)
            m = t.scim_members.c
            groups = _group_ids(conn, {group_key(group_name)})
            users = [r[0] for r in conn.execute(select(m.user_id).where(m.group_id.in_(groups)).distinct())]
            return _revoke_groupless(conn, users, at, touch=False)

    def list_group_mappings(self) -> list[GroupMapping]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.group_mappings).order_by(t.group_mappings.c.group_key)).all()
        return [_mapping(r) for r in rows]

    def alert_subscribers(self, tenant: str, thresholds: Collection[str]) -> list[str]:
        """The e-mail addresses of active users who, by their current groups, receive an alert of `tenant`
        whose severity admits one of `thresholds` (the mapped minimum severities it meets)."""
        if not thresholds:
            return []
        gm, m, u = t.group_mappings.c, t.scim_members.c, t.scim_users.c
        with self.engine.connect() as conn:
            mapped = conn.execute(select(gm.group_key, gm.tenants).where(gm.alert_severity.in_(list(thresholds))))
            keys = {r.group_key for r in mapped if r.tenants is None or tenant in json.loads(r.tenants)}
            groups = _group_ids(conn, keys) if keys else []
            if not groups:
                return []
            q = select(u.user_name, u.attributes).join(t.scim_members, m.user_id == u.id)
            rows = conn.execute(q.where(u.active.is_(True), m.group_id.in_(groups)).distinct()).all()
        return sorted({a for r in rows if (a := _email_of(r.user_name, json.loads(r.attributes)))})


def group_key(name: str) -> str:
    """How a group's name is matched (IdPs differ in case): case-folded, outer spaces dropped."""
    return name.strip().casefold()


def _group_ids(conn: Connection, keys: Collection[str]) -> list[str]:
    """The ids of the SCIM groups whose names match `keys` (matched here, not in SQL: SQLite's lower() is
    ASCII-only, casefold is not)."""
    rows = conn.execute(select(t.scim_groups.c.id, t.scim_groups.c.display_name))
    return [r.id for r in rows if group_key(r.display_name) in keys]


def _email_of(user_name: str, attributes: dict[str, Any]) -> str | None:
    """A user's address for alerts: the primary (else first) of `emails`, else a userName that is one."""
    emails = [e for e in attributes.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    chosen = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    if chosen is not None:
        return str(chosen["value"])
    return user_name if "@" in user_name else None


def _mapping(row: Any) -> GroupMapping:
    return GroupMapping(
        group_name=row.group_name,
        scopes=frozenset(row.scopes.split()),
        tenants=None if row.tenants is None else frozenset(json.loads(row.tenants)),
        alert_severity=row.alert_severity,
        updated_at=from_us(row.updated_us),
    )


# -- helpers (inside one transaction) ---------------------------------------------------------------------
def _revoke(conn: Connection, user_ids: Iterable[str], at: datetime) -> int:
    ids = list(user_ids)
    if not ids:
        return 0
    c = t.tokens.c
    done = conn.execute(update(t.tokens).where(c.user_id.in_(ids), c.revoked_us.is_(None)).values(revoked_us=to_us(at)))
    return int(done.rowcount or 0)


def _revoke_groupless(conn: Connection, user_ids: list[str], at: datetime, touch: bool = True) -> int:
    """Revoke the tokens and sessions of those of `user_ids` (just removed from a group, or whose group lost
    its mapping) who belong to no granting group now."""
    if not user_ids:
        return 0
    m = t.scim_members.c
    q = select(m.user_id).where(m.user_id.in_(user_ids))
    mapped = {r[0] for r in conn.execute(select(t.group_mappings.c.group_key))}
    q = q.where(m.group_id.in_(_group_ids(conn, mapped)))
    still = {r[0] for r in conn.execute(q.distinct())}
    if touch:
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
