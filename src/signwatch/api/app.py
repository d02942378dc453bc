"""The ASGI app: `create_app(settings, store)` wires services, routers and the one error shape."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from signwatch import __version__
from signwatch.api import (
    alerts,
    audit,
    data,
    errors,
    export,
    forwarders,
    monitor_compat,
    oauth,
    rules,
    scim,
    session,
    system,
    tokens,
    webhooks,
)
from signwatch.api import insights as insights_api
from signwatch.api.auditing import AuditMiddleware
from signwatch.api.deps import Services
from signwatch.api.errors import error_response
from signwatch.config import Settings
from signwatch.crypto import SecretBox, kept_secret, load_box
from signwatch.geo import GeoResolver
from signwatch.ingest import GroupCommitter, Ingestor, KeyRing
from signwatch.metrics import Metrics
from signwatch.notify.channels import NotifySettings
from signwatch.notify.outbox import Outbox
from signwatch.rules.live import EngineSettings, RuleEngine
from signwatch.rules.worker import EngineLoop
from signwatch.store import Store
from signwatch.ui import router as ui_router

log = logging.getLogger(__name__)


class SignwatchApp(FastAPI):
    """FastAPI with the webhook receivers answered before routing (webhooks.fast_path)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if webhooks.is_webhook(scope):
            try:
                await webhooks.fast_path(self.state.services, scope, receive, send)
            except Exception:
                log.exception("webhook delivery failed")
                await error_response(500, "internal", "internal error")(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, store: Store, *, geo: GeoResolver | None = None, migrate: bool = True) -> FastAPI:
    """The signwatch API over `store`. Migrations run and the writer starts in the app's lifespan."""
    metrics = Metrics()
    geo = geo or GeoResolver(settings.geoip_city_mmdb)
    box = load_box(settings.secret_key.get_secret_value() if settings.secret_key else None, settings.db)
    keyring = KeyRing(store, box, settings.key_cache_seconds)
    committer = GroupCommitter(store, metrics, settings.commit_max_batch)
    ingestor = Ingestor(committer, keyring, geo.lookup, metrics, archive_refused_bytes=settings.archive_refused_bytes)
    svc = Services(settings, store, metrics, geo, keyring, committer, ingestor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            store.upgrade()
        geo.warm()
        # The geo database is a large, long-lived object graph: move it out of the collector's sight, or every
        # full collection walks it (60-150 ms pauses, the whole p99 tail of ingest).
        gc.collect()
        gc.freeze()
        await committer.start()
        pollers = await _start_pollers(svc)
        background = _start_rules(svc, box) if settings.rules_engine else []
        background += _start_handover(svc, box)
        svc.ready = True
        try:
            yield
        finally:
            svc.ready = False
            for task in [*pollers, *background]:
                task.cancel()
            await asyncio.gather(*pollers, *background, return_exceptions=True)
            for lease in ("rules-engine", "notifier", "exporter", "retention"):
                store.release_lease(lease)
            await committer.stop()
            if svc.http is not None:
                await svc.http.aclose()

    app = SignwatchApp(
        title="signwatch",
        version=__version__,
        description="Self-hosted oversight of e-signature activity.",
        lifespan=lifespan,
    )
    app.state.services = svc
    errors.install(app)
    app.include_router(system.router)
    app.include_router(webhooks.router)
    app.include_router(data.router)
    app.include_router(rules.router)
    app.include_router(alerts.router)
    app.include_router(export.router)
    app.include_router(forwarders.router)
    app.include_router(monitor_compat.router)
    app.include_router(oauth.router)
    app.include_router(audit.router)
    app.include_router(scim.router)
    app.include_router(insights_api.router)
    app.include_router(ui_router)
    app.include_router(session.router)
    app.include_router(tokens.router)
    app.mount("/auth/oidc", session.oidc_app(svc))
    app.add_middleware(AuditMiddleware, store=store)
    return app


def _start_rules(svc: Services, box: SecretBox) -> list[asyncio.Task[None]]:
    """The rules engine (a cycle after each commit, and a tick) and the notification outbox."""
    settings = svc.settings
    engine = RuleEngine(
        svc.store,
        EngineSettings(
            lateness_minutes=settings.rules_lateness_minutes,
            idle_seconds=settings.rules_idle_seconds,
            notify_max_age=timedelta(hours=settings.notify_max_age_hours),
        ),
    )
    svc.engine = EngineLoop(engine, settings.rules_tick_seconds, svc.metrics)
    svc.committer.on_commit(svc.engine.poke)
    svc.http = httpx.AsyncClient(follow_redirects=False)
    svc.outbox = Outbox(svc.store, notify_settings(settings, svc.store, box), svc.http, metrics=svc.metrics)
    return [
        asyncio.create_task(svc.engine.run(), name="rules-engine"),
        asyncio.create_task(svc.outbox.run(), name="notifier"),
    ]


def _start_handover(svc: Services, box: SecretBox) -> list[asyncio.Task[None]]:
    """The export job runner and the forwarders configured for `serve`."""
    from signwatch.export.forward import Forwarder
    from signwatch.export.jobs import Exporter

    settings = svc.settings
    svc.export_key = kept_secret(svc.store, box, "export_url_key").encode()
    svc.export_dir = export_dir(settings)
    svc.exporter = Exporter(svc.store, svc.export_dir)
    from signwatch.retention import RetentionJob

    tasks = [
        asyncio.create_task(svc.exporter.run(), name="exporter"),
        asyncio.create_task(RetentionJob(svc.store, settings).run(), name="retention"),
    ]
    key = notify_settings(settings, svc.store, box).signing_key  # HTTPS sinks sign like alert webhooks
    for config in settings.forwarders:
        forwarder = Forwarder(svc.store, box, config, signing_key=key)
        tasks.append(asyncio.create_task(_forever(forwarder.run), name=f"forwarder:{config.name}"))
    return tasks


async def _forever(run: Callable[[], Awaitable[object]]) -> None:
    """Keep a background loop alive: log a crash, wait, start again."""
    while True:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task failed; restarting in 5 s")
        await asyncio.sleep(5.0)


def export_dir(settings: Settings) -> Path:
    if settings.export_dir is not None:
        return settings.export_dir
    from sqlalchemy.engine import make_url

    url = make_url(settings.db) if settings.db.startswith("sqlite") else None
    base = Path(url.database).resolve().parent if url is not None and url.database else Path.cwd()
    return base / "exports"


def notify_settings(settings: Settings, store: Store, box: SecretBox) -> NotifySettings:
    """Channel settings; the webhook signing key is the configured one, else one generated once and kept."""
    if settings.notify_signing_key is not None:
        key = settings.notify_signing_key.get_secret_value()
    else:
        key = kept_secret(store, box, "notify_signing_key")
    return NotifySettings(
        signing_key=key,
        allow_private=tuple(settings.notify_allow_private),
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_from=settings.smtp_from,
        smtp_starttls=settings.smtp_starttls,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )


async def _start_pollers(svc: Services) -> list[asyncio.Task[None]]:
    """Background Atlas pollers configured for `serve` (sources/atlas_poll.py)."""
    if not svc.settings.pollers:
        return []
    from signwatch.sources.atlas_poll import start_background_pollers

    return await start_background_pollers(svc)
