"""The ASGI app: `create_app(settings, store)` wires services, routers and the one error shape."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from signwatch import __version__
from signwatch.api import data, errors, system, webhooks
from signwatch.api.deps import Services
from signwatch.api.errors import error_response
from signwatch.config import Settings
from signwatch.crypto import load_box
from signwatch.geo import GeoResolver
from signwatch.ingest import GroupCommitter, Ingestor, KeyRing
from signwatch.metrics import Metrics
from signwatch.store import Store

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
        svc.ready = True
        try:
            yield
        finally:
            svc.ready = False
            for task in pollers:
                task.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
            await committer.stop()

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
    return app


async def _start_pollers(svc: Services) -> list[asyncio.Task[None]]:
    """Background Atlas pollers configured for `serve` (sources/atlas_poll.py)."""
    if not svc.settings.pollers:
        return []
    from signwatch.sources.atlas_poll import start_background_pollers

    return await start_background_pollers(svc)
