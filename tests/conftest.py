"""Shared fixtures: a real store on both backends (SQLite file, the machine's PostgreSQL), apps and clients."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from signwatch.api import create_app
from signwatch.config import Settings
from signwatch.crypto import load_box
from signwatch.store import SqlStore, open_store
from signwatch.tenants import add_tenant

PG_URL = os.environ.get("SIGNWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "test-secret-passphrase"
KEY = "acme-api-key-0123456789"
OTHER_KEY = "globex-api-key-0123456789"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run on the machine's real server, dropped afterwards."""
    url = make_url(PG_URL)
    name = f"signwatch_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:  # pragma: no cover - CI starts PostgreSQL (.ci/run)
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    try:
        yield url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'signwatch.db'}"
        return
    url = request.getfixturevalue("pg_database")
    store = open_store(url)
    store.upgrade()
    store.purge_all_for_tests()
    store.close()
    yield url


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = open_store(db_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(db=db_url, secret_key=SECRET, export_dir=tmp_path / "exports")  # type: ignore[arg-type]


@pytest.fixture
def tenants(store: SqlStore, settings: Settings) -> dict[str, str]:
    """Two tenants, acme (Europe/Berlin) and globex (America/New_York), with their API keys."""
    box = load_box(SECRET, settings.db)
    add_tenant(store, box, "acme", KEY, "Europe/Berlin")
    add_tenant(store, box, "globex", OTHER_KEY, "America/New_York")
    return {"acme": KEY, "globex": OTHER_KEY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """An ASGI app (signwatch's, or a test receiver) served by uvicorn on a free loopback port in a background
    thread: real HTTP (or HTTPS with a certificate), and the app's real lifespan unless `lifespan="off"`."""

    def __init__(
        self,
        app: object,
        *,
        lifespan: str = "on",
        ssl_certfile: str | Path | None = None,
        ssl_keyfile: str | Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan=lifespan,  # type: ignore[arg-type]
            loop="asyncio",
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live(settings: Settings, store: SqlStore, tenants: dict[str, str]) -> Iterator[LiveServer]:
    with LiveServer(create_app(settings, store)) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live app."""
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c
