"""The `signwatch` command: serve, demo, db, tenants, rules, forward, org, simulate, poll, replay (tokens,
groups and principals are in cli_identity.py).

Each command is a few library calls; operators script these exact forms (see docs/cli.md).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from signwatch import __version__
from signwatch.config import Settings, load_settings
from signwatch.crypto import SecretBox, load_box
from signwatch.store import AlreadyExists, NotFound, SqlStore, open_store

app = typer.Typer(help="signwatch: self-hosted oversight of e-signature activity.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (Atlas accounts) and their webhook keys.", no_args_is_help=True)
tokens_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
poll_app = typer.Typer(help="Poll platforms' list APIs (fallback when webhooks are blocked).", no_args_is_help=True)
forward_app = typer.Typer(
    help="Forward the event log to a SIEM sink, resumably (docs/forwarding.md).", invoke_without_command=True
)
principals_app = typer.Typer(help="Service principals: OAuth clients for SIEMs and integrations.", no_args_is_help=True)
pull_app = typer.Typer(help="Pull other monitors' streams (estates that dual-run).", no_args_is_help=True)
audit_app = typer.Typer(help="The monitor's own audit trail.", no_args_is_help=True)
org_app = typer.Typer(help="The installation's organization.", no_args_is_help=True)
groups_app = typer.Typer(
    help="Identity-provider groups: the scopes, tenants and alerts their members get.", no_args_is_help=True
)
rules_app = typer.Typer(help="Alert rules: the default pack, listing, backtests.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(tokens_app, name="tokens")
app.add_typer(poll_app, name="poll")
app.add_typer(rules_app, name="rules")
app.add_typer(forward_app, name="forward")
app.add_typer(org_app, name="org")
app.add_typer(audit_app, name="audit")
app.add_typer(pull_app, name="pull")
app.add_typer(principals_app, name="principals")
app.add_typer(groups_app, name="groups")

err = Console(stderr=True)
out = Console()

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SIGNWATCH_DB or sqlite:///./signwatch.db).")
]


def _settings(db: str | None, **extra: object) -> Settings:
    return load_settings(db=db, **extra)


_OPEN: list[SqlStore] = []


def _store(settings: Settings) -> SqlStore:
    """The store of a command, migrated; closed when the command ends (see `_main`)."""
    store = open_store(settings.db)
    store.upgrade()
    _OPEN.append(store)
    return store


def _close_stores() -> None:
    while _OPEN:
        _OPEN.pop().close()


def _box(settings: Settings) -> SecretBox:
    return load_box(settings.secret_key.get_secret_value() if settings.secret_key else None, settings.db)


def _audit(store: SqlStore, action: str, target: str | None, *, tenant: str | None = None, **params: object) -> None:
    """Record an operator's command in the audit trail (actor `cli:<user>`)."""
    import getpass

    from signwatch.audit import AuditRecord, clean
    from signwatch.events import utcnow

    actor = f"cli:{getpass.getuser()}"
    record = AuditRecord(utcnow(), actor, action, tenant=tenant, target=target, params=clean(dict(params)))
    store.append_audit([record])


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    ctx.call_on_close(_close_stores)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if version:
        out.print(__version__)
        raise typer.Exit()


# -- serve and db ------------------------------------------------------------------------------------------
@app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
    server: Annotated[str | None, typer.Option(help="ASGI server: granian (default) or uvicorn.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 1; more help on PostgreSQL).")] = None,
) -> None:
    """Serve the API and webhook receivers; applies migrations first."""
    from signwatch.serving import PortInUse, ensure_port_free
    from signwatch.serving import serve as run

    settings = _settings(db, host=host, port=port, server=server, workers=workers)
    try:
        ensure_port_free(settings.host, settings.port)
    except PortInUse as exc:
        raise _fail(str(exc), 1) from exc
    err.print(f"signwatch {__version__} serving on http://{settings.host}:{settings.port} ({settings.db})")
    run(settings)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Apply all migrations (also done when `serve` starts)."""
    from signwatch.store.migrate import current

    store = _store(_settings(db))
    out.print(f"database at revision {current(store.engine)}")


# -- tenants -----------------------------------------------------------------------------------------------
@tenants_app.command("add")
def tenants_add(
    name: Annotated[str, typer.Argument(help="Tenant slug, e.g. acme.")],
    api_key: Annotated[str, typer.Option("--api-key", help="The Atlas API key: webhook HMAC key and poll credential.")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone (Area/City).")] = "UTC",
    db: DbOpt = None,
) -> None:
    """Add a tenant (an Atlas account); its API key is stored encrypted."""
    from signwatch.tenants import InvalidTenant, add_tenant

    settings = _settings(db)
    store = _store(settings)
    try:
        add_tenant(store, _box(settings), name, api_key, timezone)
    except InvalidTenant as exc:
        raise _fail(str(exc)) from exc
    except AlreadyExists as exc:
        raise _fail(f"tenant {name!r} exists already") from exc
    out.print(f"tenant {name} added ({timezone}); webhook URL path: /webhooks/atlas/{name}")


@tenants_app.command("list")
def tenants_list(db: DbOpt = None) -> None:
    """List tenants."""
    store = _store(_settings(db))
    table = Table("tenant", "timezone", "key rotation grace until", "created")
    for t in store.list_tenants():
        until = t.previous_key_expires.isoformat() if t.previous_key_expires else "-"
        table.add_row(t.slug, t.timezone, until, t.created_at.isoformat(timespec="seconds"))
    out.print(table)


@tenants_app.command("rotate-key")
def tenants_rotate_key(
    name: Annotated[str, typer.Argument(help="Tenant slug.")],
    api_key: Annotated[str, typer.Option("--api-key", help="The new API key.")],
    grace_hours: Annotated[float | None, typer.Option(help="Hours the old key stays valid (default 72).")] = None,
    db: DbOpt = None,
) -> None:
    """Switch a tenant to a new API key; the old one stays valid for a grace period."""
    from signwatch.tenants import InvalidTenant, rotate_key

    settings = _settings(db)
    store = _store(settings)
    hours = settings.rotation_grace_hours if grace_hours is None else grace_hours
    try:
        until = rotate_key(store, _box(settings), name, api_key, timedelta(hours=hours))
    except NotFound as exc:
        raise _fail(f"no tenant {name!r}") from exc
    except InvalidTenant as exc:
        raise _fail(str(exc)) from exc
    out.print(f"tenant {name}: new key in force; the previous key is accepted until {until.isoformat()}")


@tenants_app.command("set-hours")
def tenants_set_hours(
    name: Annotated[str, typer.Argument(help="Tenant slug.")],
    days: Annotated[str | None, typer.Option(help="Business days: mon-fri, or mon,tue,thu.")] = None,
    start: Annotated[str | None, typer.Option(help="Opening time, HH:MM on the tenant's clock.")] = None,
    end: Annotated[str | None, typer.Option(help="Closing time, HH:MM.")] = None,
    holidays: Annotated[str | None, typer.Option(help="Holidays, ISO dates comma-separated (replaces).")] = None,
    timezone: Annotated[str | None, typer.Option(help="A new time zone, Area/City.")] = None,
    db: DbOpt = None,
) -> None:
    """Set a tenant's business days, hours, holidays and time zone (what rule schedules read)."""
    from signwatch.tenants import InvalidTenant, set_calendar

    store = _store(_settings(db))
    try:
        record = set_calendar(store, name, timezone=timezone, days=days, start=start, end=end, holidays=holidays)
    except NotFound as exc:
        raise _fail(f"no tenant {name!r}") from exc
    except InvalidTenant as exc:
        raise _fail(str(exc)) from exc
    hours = record.business_hours
    out.print(
        f"tenant {name}: {record.timezone}, days {hours.get('days')}, {hours.get('start')}-{hours.get('end')}, "
        f"holidays {', '.join(map(str, hours.get('holidays') or [])) or 'none'}"  # type: ignore[call-overload]
    )


@tenants_app.command("set-retention")
def tenants_set_retention(
    name: Annotated[str, typer.Argument(help="Tenant slug.")],
    events_days: Annotated[int | None, typer.Option(help="Days events are kept.")] = None,
    deliveries_days: Annotated[int | None, typer.Option(help="Days raw deliveries are kept.")] = None,
    alerts_days: Annotated[int | None, typer.Option(help="Days alerts are kept.")] = None,
    legal_hold: Annotated[
        bool | None, typer.Option("--legal-hold/--no-legal-hold", help="Stop (or resume) purging this tenant.")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Set a tenant's retention (days; defaults in docs/operations.md) and legal hold."""
    from signwatch.events import utcnow
    from signwatch.retention import limits
    from signwatch.store.base import RetentionRecord

    settings = _settings(db)
    store = _store(settings)
    if store.get_tenant(name) is None:
        raise _fail(f"no tenant {name!r}")
    for value in (events_days, deliveries_days, alerts_days):
        if value is not None and value < 1:
            raise _fail("retention is at least one day")
    kept = store.get_retention(name) or RetentionRecord(name)
    record = RetentionRecord(
        name,
        events_days if events_days is not None else kept.events_days,
        deliveries_days if deliveries_days is not None else kept.deliveries_days,
        alerts_days if alerts_days is not None else kept.alerts_days,
        legal_hold if legal_hold is not None else kept.legal_hold,
    )
    store.set_retention(record, utcnow())
    lim = limits(settings, record)
    _audit(store, "retention.set", name, tenant=name, events_days=lim.events_days,
           deliveries_days=lim.deliveries_days, alerts_days=lim.alerts_days, legal_hold=lim.legal_hold)  # fmt: skip
    hold = "ON (nothing is purged)" if lim.legal_hold else "off"
    out.print(
        f"tenant {name}: events {lim.events_days} d, deliveries {lim.deliveries_days} d, "
        f"alerts {lim.alerts_days} d; legal hold {hold}"
    )


# -- poll and replay --------------------------------------------------------------------------------------
@poll_app.command("atlas")
def poll_atlas(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug (its API key is the poll credential).")],
    base_url: Annotated[str, typer.Option("--base-url", help="Atlas API base URL.")],
    follow: Annotated[bool, typer.Option("--follow", help="Keep polling every --interval seconds.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds with --follow.")] = 60.0,
    status: Annotated[str, typer.Option(help="Statuses to list, comma-separated, or any.")] = "any",
    db: DbOpt = None,
) -> None:
    """Poll Atlas's list and status endpoints and store what changed (resumes from its stored position)."""
    import asyncio

    from signwatch.geo import GeoResolver
    from signwatch.ingest import KeyRing
    from signwatch.sources.atlas_poll import AtlasPoller

    settings = _settings(db)
    store = _store(settings)
    keys = KeyRing(store, _box(settings)).keys(tenant)
    if not keys:
        raise _fail(f"no tenant {tenant!r}")
    geo = GeoResolver(settings.geoip_city_mmdb)
    statuses = [s.strip() for s in status.split(",") if s.strip()]

    async def run() -> None:
        poller = AtlasPoller(store, tenant, keys[0], base_url, geo.lookup, statuses=statuses)
        try:
            if follow:
                await poller.run_forever(interval)
            report = await poller.poll_once()
        finally:
            await poller.aclose()
        out.print(
            f"polled {tenant}: {report.envelopes_seen} envelopes listed, {report.status_calls} status calls, "
            f"{report.stored} events stored, {report.duplicates} already known; position {report.position}"
        )

    try:
        asyncio.run(run())
    except Exception as exc:
        raise _fail(f"polling failed: {exc}", 1) from exc


@app.command()
def replay(
    from_: Annotated[str, typer.Option("--from", help="Received from (date or RFC 3339 time).")],
    to: Annotated[str, typer.Option("--to", help="Received until (date, inclusive, or RFC 3339 time).")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's deliveries.")] = None,
    db: DbOpt = None,
) -> None:
    """Re-run archived deliveries through verification and normalization, idempotently."""
    from rich.progress import Progress

    from signwatch.api.data import parse_bound
    from signwatch.api.errors import ApiError
    from signwatch.geo import GeoResolver
    from signwatch.ingest import KeyRing
    from signwatch.ingest import replay as run_replay

    settings = _settings(db)
    store = _store(settings)
    try:
        start = parse_bound(from_, "--from", end=False)
        stop = parse_bound(to, "--to", end=True)
    except ApiError as exc:
        raise _fail(exc.message) from exc
    assert start is not None and stop is not None
    geo = GeoResolver(settings.geoip_city_mmdb)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("replaying deliveries", total=None)
        report = run_replay(
            store,
            KeyRing(store, _box(settings), 60),
            geo.lookup,
            start,
            stop,
            tenant,
            progress=lambda n: progress.advance(task, n),
        )
    out.print(
        f"replayed {report.deliveries} deliveries: {report.inserted} events inserted, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.refused} still refused ({report.truncated} truncated)"
    )


# -- simulator and demo -----------------------------------------------------------------------------------
@app.command()
def simulate(
    base_url: Annotated[str | None, typer.Option("--base-url", help="signwatch URL to send webhooks to.")] = None,
    tenant: Annotated[
        list[str] | None, typer.Option("--tenant", help="SLUG:API_KEY[:Area/City], repeatable; default 3 demo tenants.")
    ] = None,
    days: Annotated[float, typer.Option(help="Days of back-dated history.")] = 14.0,
    users: Annotated[int, typer.Option(help="Users per tenant.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same traffic).")] = 7,
    labels: Annotated[Path | None, typer.Option("--labels", help="Write incident labels (JSON Lines) here.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Keep sending live traffic after the history.")] = False,
    platform_mode: Annotated[bool, typer.Option(help="POST /webhooks/atlas with Atlas-Account.")] = False,
    incidents: Annotated[bool, typer.Option(help="Inject labelled incidents.")] = True,
    serve_atlas_api: Annotated[
        int | None, typer.Option("--serve-atlas-api", help="Also serve the fake Atlas list API on this port.")
    ] = None,
) -> None:
    """Generate realistic Atlas traffic with labelled incidents and send it as signed webhooks."""
    import asyncio

    from signwatch.events import utcnow
    from signwatch.simulate import (
        AtlasState,
        LiveFeed,
        SimConfig,
        SimTenant,
        demo_tenants,
        generate,
        run_live,
        send_events,
        write_labels,
    )
    from signwatch.simulate import (
        serve_atlas_api as serve_api,
    )

    sim_tenants: tuple[SimTenant, ...]
    if tenant:
        parsed = []
        for spec in tenant:
            parts = spec.split(":", 2)
            if len(parts) < 2:
                raise _fail(f"--tenant {spec!r}: use SLUG:API_KEY[:Area/City]")
            parsed.append(SimTenant(parts[0], parts[1], parts[2] if len(parts) > 2 else "UTC", users))
        sim_tenants = tuple(parsed)
    else:
        sim_tenants = demo_tenants(3, users)
    run = generate(SimConfig.last_days(sim_tenants, days, utcnow(), seed=seed, incidents=incidents))
    err.print(f"generated {len(run.events)} events and {len(run.labels)} incidents for {len(sim_tenants)} tenants")
    if labels is not None:
        write_labels(labels, run.labels)
        err.print(f"labels written to {labels}")

    async def go() -> None:
        state = AtlasState(sim_tenants, run.events) if serve_atlas_api is not None else None
        api_task = asyncio.create_task(serve_api(state, serve_atlas_api)) if state and serve_atlas_api else None
        if base_url:
            from rich.progress import Progress

            with Progress(console=err) as progress:
                task = progress.add_task("sending history", total=len(run.events))
                report = await send_events(
                    run.events,
                    sim_tenants,
                    base_url,
                    platform_mode=platform_mode,
                    progress=lambda n: progress.advance(task, n),
                )
            out.print(
                f"sent {report.attempted}: {dict(report.by_status)}; connection errors {report.connection_errors}"
            )
        if live or api_task is not None:
            await run_live(
                LiveFeed(run), sim_tenants, base_url if base_url else None, atlas=state, platform_mode=platform_mode
            )
        if api_task is not None:
            api_task.cancel()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its database.")] = Path("demo-data"),
    port: Annotated[int, typer.Option(envvar="SIGNWATCH_DEMO_PORT", help="Port of the demo server.")] = 8000,
    days: Annotated[float, typer.Option(help="Days of simulated history.")] = 21.0,
    once: Annotated[
        bool, typer.Option(envvar="SIGNWATCH_DEMO_ONCE", help="Print the summary and exit (no live traffic).")
    ] = False,
) -> None:
    """Run everything on embedded SQLite with simulated tenants and traffic; serve until Ctrl-C."""
    from signwatch.demo import run_demo

    raise typer.Exit(run_demo(data_dir, port, days, once, out))


# -- rules -------------------------------------------------------------------------------------------------
@rules_app.command("install-defaults")
def rules_install_defaults(
    tenant: Annotated[str | None, typer.Option(help="Install for this tenant only (default: every tenant).")] = None,
    active: Annotated[bool, typer.Option("--active", help="Notify at once instead of running in shadow mode.")] = False,
    db: DbOpt = None,
) -> None:
    """Install the default rule pack (void/decline-rate spikes, pending past SLA, off-hours burst, new
    network per user, feed silent), in shadow mode unless --active. Running it again keeps the rules already
    there as they are (your tuning stays) and, with --active, switches them to active."""
    from signwatch.events import utcnow
    from signwatch.rules.defaults import install_defaults

    store = _store(_settings(db))
    if tenant is not None and store.get_tenant(tenant) is None:
        raise _fail(f"no tenant {tenant!r}")
    for record, what in install_defaults(store, tenant=tenant, active=active, now=utcnow()):
        out.print(f"{what} {record.id}  {record.name}  ({record.spec['mode']})")
    _audit(store, "rule.install_defaults", None, tenant=tenant, active=active)


@rules_app.command("signing-key")
def rules_signing_key(db: DbOpt = None) -> None:
    """Print the key alert webhooks are signed with (X-Signwatch-Signature), for receivers to verify."""
    from signwatch.api.app import notify_settings

    settings = _settings(db)
    print(notify_settings(settings, _store(settings), _box(settings)).signing_key)


@rules_app.command("list")
def rules_list(db: DbOpt = None) -> None:
    """List alert rules."""
    store = _store(_settings(db))
    table = Table("name", "kind", "tenant", "mode", "enabled", "severity")
    table.columns.insert(0, Column("id", no_wrap=True))
    for r in store.list_rules():
        spec = r.spec
        tenant = spec.get("tenant") or (",".join(sorted(r.tenants)) if r.tenants else "all")
        table.add_row(r.id, r.name, spec["kind"], tenant, spec["mode"], str(spec["enabled"]), spec["severity"])
    out.print(table)


@rules_app.command("backtest")
def rules_backtest(
    rule_id: Annotated[str, typer.Argument(help="Rule id (see `rules list`).")],
    from_: Annotated[str, typer.Option("--from", help="Start: date or RFC 3339 time (event time).")],
    to: Annotated[str, typer.Option("--to", help="End: date (inclusive) or RFC 3339 time.")],
    db: DbOpt = None,
) -> None:
    """Print the alerts a rule would have fired in a past range (the live engine's own code)."""
    from signwatch.events import parse_time
    from signwatch.rules.backtest import backtest
    from signwatch.rules.spec import parse_rule
    from signwatch.store import Scope

    store = _store(_settings(db))
    rule = store.get_rule(rule_id)
    if rule is None:
        raise _fail(f"no rule {rule_id!r}")
    try:
        start = parse_time(from_ if "T" in from_ else f"{from_}T00:00:00Z")
        end = parse_time(to) if "T" in to else parse_time(f"{to}T00:00:00Z") + timedelta(days=1)
    except ValueError as exc:
        raise _fail(f"bad time: {exc}") from exc
    alerts = backtest(store, rule, parse_rule(rule.spec), start, end, Scope.all(), evidence=False)
    table = Table("fired", "resolved", "tenant", "group", "value", "explanation")
    for a in alerts:
        resolved = a.resolved_at.isoformat(timespec="minutes") if a.resolved_at else "open"
        table.add_row(
            a.fired_at.isoformat(timespec="minutes"), resolved, a.tenant, a.group_key, f"{a.value:g}",
            str(a.details.get("explanation", "")),
        )  # fmt: skip
    out.print(table)
    out.print(f"{len(alerts)} alert(s) from {start.isoformat()} to {end.isoformat()}")


# -- hand-over ---------------------------------------------------------------------------------------------
@forward_app.callback()
def forward(
    ctx: typer.Context,
    sink: Annotated[str | None, typer.Option(help="Sink URL: file://, splunk+https://, syslog+tcp://, …")] = None,
    format: Annotated[str, typer.Option(help="ndjson, csv, cef, ocsf, ecs.")] = "ndjson",
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's events.")] = None,
    name: Annotated[str | None, typer.Option(help="Checkpoint name (default: derived from the sink).")] = None,
    batch: Annotated[int, typer.Option(help="Most events per batch.")] = 500,
    once: Annotated[bool, typer.Option("--once", help="Stop when caught up.")] = False,
    db: DbOpt = None,
) -> None:
    """Forward events in ingestion order to a sink until Ctrl-C (or --once), resuming from the checkpoint."""
    if ctx.invoked_subcommand is not None:
        return
    if sink is None:
        raise _fail("--sink URL is required (or use `signwatch forward status`)")
    import asyncio

    from signwatch.config import ForwarderSettings
    from signwatch.export.forward import Forwarder, display

    settings = _settings(db)
    store = _store(settings)
    checkpoint = name or re.sub(r"[^a-z0-9]+", "-", display(sink).lower()).strip("-")[:100]
    try:
        config = ForwarderSettings(name=checkpoint, sink=sink, format=format, tenant=tenant, batch=batch)
        from signwatch.api.app import notify_settings

        key = notify_settings(settings, store, _box(settings)).signing_key
        forwarder = Forwarder(store, _box(settings), config, signing_key=key)
    except ValueError as exc:
        raise _fail(str(exc).splitlines()[0]) from exc
    err.print(f"forwarding to {display(sink)} as {format} (checkpoint {checkpoint!r}); Ctrl-C to stop")
    try:
        sent = asyncio.run(forwarder.run(once=once))
    except KeyboardInterrupt:
        sent = forwarder.sent
    except Exception as exc:
        raise _fail(f"forwarding failed: {exc}", 1) from exc
    err.print(f"{sent} event(s) forwarded")


@forward_app.command("status")
def forward_status(db: DbOpt = None) -> None:
    """One line per forwarder: checkpoint, lag in events and seconds, last error."""
    from signwatch.events import utcnow
    from signwatch.export.forward import status

    store = _store(_settings(db))
    lines = status(store, utcnow())
    if not lines:
        out.print("no forwarders yet")
    for s in lines:
        ok = s.last_ok_at.isoformat(timespec="seconds") if s.last_ok_at else "never"
        error = f"  last error: {s.last_error}" if s.last_error else ""
        out.print(
            f"{s.name}  {s.sink}  {s.format}{'  tenant ' + s.tenant if s.tenant else ''}  position {s.position}  "
            f"lag {s.lag_events} events / {s.lag_seconds:.0f} s  forwarded {s.forwarded}  last ok {ok}{error}",
            soft_wrap=True,
        )


@pull_app.command("docusign-monitor")
def pull_docusign_monitor(
    tenant: Annotated[str, typer.Option(help="The tenant the rows belong to.")],
    base_url: Annotated[str, typer.Option(help="The Monitor API base URL, e.g. https://lens.docusign.net.")],
    token: Annotated[
        str, typer.Option(envvar="SIGNWATCH_DOCUSIGN_TOKEN", help="Bearer token (or SIGNWATCH_DOCUSIGN_TOKEN).")
    ],
    db: DbOpt = None,
) -> None:
    """Read a DocuSign Monitor stream into TENANT until caught up, resuming from the stored cursor."""
    import asyncio

    from signwatch.geo import GeoResolver
    from signwatch.sources.monitor_pull import pull_monitor

    settings = _settings(db)
    store = _store(settings)
    if store.get_tenant(tenant) is None:
        raise _fail(f"no tenant {tenant!r}")
    try:
        report = asyncio.run(pull_monitor(store, tenant, base_url, token, GeoResolver(settings.geoip_city_mmdb).lookup))
    except Exception as exc:
        raise _fail(f"pull failed: {exc}", 1) from exc
    out.print(
        f"{report.pages} page(s), {report.rows} row(s): {report.stored} stored, {report.duplicates} already there, "
        f"{report.skipped} skipped; cursor {report.cursor}"
    )


@audit_app.command("verify")
def audit_verify(db: DbOpt = None) -> None:
    """Check the audit trail's hash chain; exit 1 at the first altered, inserted or deleted record."""
    from signwatch.audit import verify

    store = _store(_settings(db))
    verdict = verify(r for page in store.iter_audit() for r in page)
    if not verdict.ok:
        out.print(
            f"[red]broken[/red] at record {verdict.broken_at}: {verdict.reason} ({verdict.records} read)",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    out.print(f"ok: {verdict.records} record(s), chain intact; head {verdict.head}", soft_wrap=True)


@org_app.command("id")
def org_id(db: DbOpt = None) -> None:
    """Print the organization id (the {organizationId} of the Monitor-compatible stream)."""
    from signwatch.tenants import organization_id

    print(organization_id(_store(_settings(db))))


# The identity commands (tokens, groups, principals) live in their own module and register on the apps above.
from signwatch import cli_identity  # noqa: E402, F401


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
