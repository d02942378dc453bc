"""Running the API: the ASGI server for `signwatch serve` (granian by default, uvicorn as the alternative)."""

from __future__ import annotations

import os
import socket

from fastapi import FastAPI

from signwatch.config import Settings, load_settings
from signwatch.store import open_store


def app_from_env() -> FastAPI:
    """App factory for server processes: settings from the SIGNWATCH_* environment."""
    from signwatch.api import create_app

    settings = load_settings()
    return create_app(settings, open_store(settings.db))


class PortInUse(RuntimeError):
    pass


def ensure_port_free(host: str, port: int) -> None:
    """Refuse to start on a port something already listens on. granian binds with SO_REUSEPORT, so a second
    server would otherwise start silently and the kernel would split the webhooks between the two."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"{host}:{port} is already in use ({exc.strerror})") from exc


def serve(settings: Settings) -> None:
    """Serve until interrupted. Migrations are applied before the server accepts connections."""
    ensure_port_free(settings.host, settings.port)
    store = open_store(settings.db)
    store.upgrade()
    store.close()
    os.environ["SIGNWATCH_DB"] = settings.db
    workers = settings.workers
    if settings.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "signwatch.serving:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            workers=workers,
        )
        return
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "signwatch.serving:app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        workers=workers,
        log_access=False,
    ).serve()
