"""The `signwatch` commands about who may call signwatch: `tokens`, `groups` (what IdP groups grant) and
`principals` (OAuth clients). Registered on the command groups of signwatch.cli; documented in docs/cli.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from signwatch.cli import DbOpt, _audit, _fail, _settings, _store, err, groups_app, out, principals_app, tokens_app
from signwatch.store import AlreadyExists, NotFound, SqlStore


# -- tokens ------------------------------------------------------------------------------------------------
@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
    scopes: Annotated[str, typer.Option("--scopes", help="Comma-separated: monitor:read,rules:write,…")],
    tenant: Annotated[list[str] | None, typer.Option("--tenant", help="Limit to tenant(s); default: all.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="A person's token (their SCIM userName): revoked on offboarding.")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Create a bearer token; prints it as the last line (shown once, stored hashed)."""
    from signwatch.auth.tokens import UnknownScope, create_token, parse_scopes

    settings = _settings(db)
    store = _store(settings)
    try:
        parsed = parse_scopes(scopes)
    except UnknownScope as exc:
        raise _fail(str(exc)) from exc
    tenants = frozenset(s.strip() for t in tenant or [] for s in t.split(",") if s.strip()) or None
    for slug in tenants or ():
        if store.get_tenant(slug) is None:
            raise _fail(f"no tenant {slug!r}")
    user_id = None
    if user is not None:
        user_id = _personal_bounds(store, user, parsed, tenants)
    record, secret = create_token(store, name, parsed, tenants, user_id=user_id)
    _audit(store, "token.create", record.id, name=name, scopes=sorted(parsed), tenants=sorted(tenants or []))
    covered = ", ".join(sorted(tenants)) if tenants else "all"
    print(f"token {record.id} ({name}): scopes {', '.join(sorted(parsed))}; tenants {covered}")
    print(secret, flush=True)


def _personal_bounds(store: SqlStore, user: str, scopes: frozenset[str], tenants: frozenset[str] | None) -> str:
    """The SCIM id of `user`, once checked that their groups grant `scopes` on `tenants` (else exit 1)."""
    from signwatch.auth.grants import grant_for

    found = store.list_scim_users(user)
    if not found or not found[0].active:
        raise _fail(f"no active user {user!r} (users come from the identity provider over SCIM)")
    groups = [name for _, name in found[0].groups]
    grant = grant_for(store.list_group_mappings(), groups, tenants)
    granted = grant.scopes if grant else frozenset()
    beyond = sorted(s for s in scopes if s not in granted and "admin" not in granted)
    if beyond:
        where = ", ".join(sorted(tenants)) if tenants else "every tenant"
        have = ", ".join(sorted(granted)) or "nothing"
        raise _fail(
            f"{user}'s groups ({', '.join(groups) or 'none'}) do not grant {', '.join(beyond)} on {where}; "
            f"they grant {have} (see `signwatch groups list`)"
        )
    return found[0].id


@tokens_app.command("list")
def tokens_list(
    all_kinds: Annotated[bool, typer.Option("--all", help="Also OAuth access tokens and dashboard sessions.")] = False,
    db: DbOpt = None,
) -> None:
    """List tokens (never their secrets)."""
    store = _store(_settings(db))
    table = Table("id", "name", "kind", "scopes", "tenants", "created", "revoked")
    for t in store.list_tokens():
        if t.kind != "api" and not all_kinds:
            continue
        table.add_row(
            t.id,
            t.name,
            t.kind,
            " ".join(sorted(t.scopes)),
            ",".join(sorted(t.tenants)) if t.tenants else "all",
            t.created_at.isoformat(timespec="seconds"),
            t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "-",
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="Token id or name.")],
    db: DbOpt = None,
) -> None:
    """Revoke a token at once."""
    from signwatch.events import utcnow

    store = _store(_settings(db))
    n = store.revoke_token(token, utcnow())
    if not n:
        raise _fail(f"no active token {token!r}")
    _audit(store, "token.revoke", token, revoked=n)
    out.print(f"revoked {n} token(s)")


# -- groups ------------------------------------------------------------------------------------------------
@groups_app.command("map")
def groups_map(
    group: Annotated[str, typer.Argument(help="The group's name at the IdP (SCIM displayName, `groups` claim).")],
    scopes: Annotated[str, typer.Option("--scopes", help="Comma-separated: monitor:read,alerts:write,…")],
    tenant: Annotated[list[str] | None, typer.Option("--tenant", help="Limit to tenant(s); default: all.")] = None,
    alerts: Annotated[
        str | None,
        typer.Option("--alerts", help="Members receive alerts by e-mail from this severity: severity>=high."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Grant a group's members scopes on tenants (dashboard sign-in, personal tokens) and, with --alerts, the
    alerts of those tenants at or above a severity (recipients resolved from membership at send time)."""
    from signwatch.auth.grants import parse_severity_floor
    from signwatch.auth.tokens import UnknownScope, parse_scopes
    from signwatch.events import utcnow
    from signwatch.store import GroupMapping

    store = _store(_settings(db))
    try:
        parsed = parse_scopes(scopes)
        floor = parse_severity_floor(alerts) if alerts is not None else None
    except (UnknownScope, ValueError) as exc:
        raise _fail(str(exc)) from exc
    tenants = frozenset(s.strip() for t in tenant or [] for s in t.split(",") if s.strip()) or None
    for slug in tenants or ():
        if store.get_tenant(slug) is None:
            raise _fail(f"no tenant {slug!r}")
    if not group.strip():
        raise _fail("the group name is empty")
    store.put_group_mapping(GroupMapping(group.strip(), parsed, tenants, floor, utcnow()))
    _audit(store, "group.map", group, scopes=sorted(parsed), tenants=sorted(tenants or []), alerts=floor)
    covered = ", ".join(sorted(tenants)) if tenants else "all"
    receives = f"alerts of severity >= {floor}" if floor else "no alerts"
    print(f"group {group.strip()}: scopes {', '.join(sorted(parsed))}; tenants {covered}; {receives}")


@groups_app.command("list")
def groups_list(db: DbOpt = None) -> None:
    """List group mappings."""
    store = _store(_settings(db))
    table = Table("group", "scopes", "tenants", "alerts", "updated")
    for m in store.list_group_mappings():
        table.add_row(
            m.group_name,
            " ".join(sorted(m.scopes)),
            ",".join(sorted(m.tenants)) if m.tenants else "all",
            f">= {m.alert_severity}" if m.alert_severity else "-",
            m.updated_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@groups_app.command("unmap")
def groups_unmap(group: Annotated[str, typer.Argument(help="The group's name.")], db: DbOpt = None) -> None:
    """Remove a group's mapping; members left without a granting group lose their tokens and sessions."""
    from signwatch.events import utcnow

    store = _store(_settings(db))
    try:
        revoked = store.delete_group_mapping(group, utcnow())
    except NotFound:
        raise _fail(f"no mapping for group {group!r}") from None
    _audit(store, "group.unmap", group, tokens_revoked=revoked)
    print(f"group {group}: unmapped; {revoked} token(s) and session(s) revoked")


@principals_app.command("create")
def principals_create(
    name: Annotated[str, typer.Argument(help="A name for the client, e.g. splunk-prod.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes, e.g. export:read,monitor:read.")],
    tenant: Annotated[list[str] | None, typer.Option(help="Tenant it may see (repeat); default: all.")] = None,
    public_key: Annotated[Path | None, typer.Option(help="PEM public key for JWT bearer assertions (RS256).")] = None,
    db: DbOpt = None,
) -> None:
    """Create an OAuth client; prints its client id, and its client secret as the last line (shown once)."""
    from signwatch.auth.principals import InvalidPrincipal, create_principal
    from signwatch.auth.tokens import UnknownScope, parse_scopes

    store = _store(_settings(db))
    try:
        wanted = parse_scopes(scopes)
        keys = (public_key.read_text(),) if public_key else ()
        record, secret = create_principal(store, name, wanted, frozenset(tenant) if tenant else None, keys)
    except (UnknownScope, InvalidPrincipal, OSError) as exc:
        raise _fail(str(exc)) from exc
    except AlreadyExists as exc:
        raise _fail(f"a principal named {name!r} exists already") from exc
    _audit(store, "principal.create", record.id, name=name, scopes=sorted(wanted), keys=len(keys))
    err.print(f"client id: {record.id}  (POST /oauth/token; client secret below, shown once)")
    print(record.id)
    print(secret)


@principals_app.command("list")
def principals_list(db: DbOpt = None) -> None:
    """List principals (never their secrets)."""
    table = Table("name", "scopes", "tenants", "keys", "disabled")
    table.columns.insert(0, Column("client id", no_wrap=True))
    for p in _store(_settings(db)).list_principals():
        tenants = ",".join(sorted(p.tenants)) if p.tenants else "all"
        disabled = p.disabled_at.isoformat(timespec="seconds") if p.disabled_at else "-"
        table.add_row(p.id, p.name, " ".join(sorted(p.scopes)), tenants, str(len(p.public_keys)), disabled)
    out.print(table)


@principals_app.command("disable")
def principals_disable(
    principal: Annotated[str, typer.Argument(help="Client id or name.")],
    db: DbOpt = None,
) -> None:
    """Disable a principal and revoke every access token issued to it, at once."""
    from signwatch.events import utcnow

    store = _store(_settings(db))
    try:
        revoked = store.disable_principal(principal, utcnow())
    except NotFound as exc:
        raise _fail(f"no principal {principal!r}") from exc
    _audit(store, "principal.disable", principal, tokens_revoked=revoked)
    out.print(f"disabled {principal}; {revoked} access token(s) revoked")
