"""Pulling a DocuSign Monitor stream: from a real server speaking the Monitor API (another signwatch's
compatible endpoint), into a second store, resumable by its stored cursor, each row stored once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from httpx import Client

from signwatch.config import Settings
from signwatch.crypto import load_box
from signwatch.events import Geo
from signwatch.sources.monitor_pull import position_name, pull_monitor
from signwatch.store import EventFilter, Scope, SqlStore, open_store
from signwatch.tenants import add_tenant
from tests.api.test_data import send, token
from tests.conftest import KEY, SECRET


def test_pull_resumes_and_stores_each_row_once(
    client: Client, store: SqlStore, settings: Settings, tmp_path: Path
) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:0{i}:00Z") for i in range(4)]
    reader = token(store, "monitor:read")["Authorization"].removeprefix("Bearer ")
    base = str(client.base_url)
    mine = open_store(f"sqlite:///{tmp_path / 'dual.db'}")
    mine.upgrade()
    add_tenant(mine, load_box(SECRET, mine.url), "ds-acme", "ds-acme-key-0123456789", "Europe/Berlin")
    try:
        first = asyncio.run(pull_monitor(mine, "ds-acme", base, reader, lambda ip: Geo()))
        assert first.stored == 4 and first.cursor == mine.get_position(position_name("ds-acme"))
        again = asyncio.run(pull_monitor(mine, "ds-acme", base, reader, lambda ip: Geo()))
        assert again.rows == 0 and again.stored == 0  # resumed from the cursor: nothing new
        ids.append(send(client, "acme", KEY, at="2026-11-20T11:00:00Z"))
        more = asyncio.run(pull_monitor(mine, "ds-acme", base, reader, lambda ip: Geo()))
        assert more.stored == 1
        counts = mine.event_counts(Scope.all())
        assert counts == {("ds-acme", "envelope.sent"): 5}
        page = mine.read_events(Scope.all(), 0, 10, EventFilter())
        assert {e.source for e in page.events} == {"docusign-monitor"}
    finally:
        mine.close()
