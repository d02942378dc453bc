"""`signwatch demo`: a server on embedded SQLite, demo tenants, the default rule pack (active) and a token,
21 days of simulated history streamed through real signed webhooks, a summary of the alerts the injected
incidents fired, then live traffic until Ctrl-C (or exit after the summary with SIGNWATCH_DEMO_ONCE=1)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from signwatch.auth.tokens import create_token
from signwatch.crypto import load_box
from signwatch.events import parse_time, utcnow
from signwatch.rules.defaults import DEFAULT_FOR, install_defaults
from signwatch.rules.live import EVALUATED
from signwatch.simulate import LiveFeed, SimConfig, demo_tenants, generate, run_live, send_events, write_labels
from signwatch.simulate.world import SimTenant
from signwatch.store import AlreadyExists, Scope, SqlStore, open_store
from signwatch.store.base import AlertFilter, AlertRecord
from signwatch.tenants import add_tenant


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def run_demo(data_dir: Path, port: int, days: float, once: bool, console: Console) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{(data_dir / 'signwatch.db').resolve()}"
    store = open_store(db)
    store.upgrade()
    box = load_box(os.environ.get("SIGNWATCH_SECRET_KEY"), db)
    tenants = demo_tenants(3)
    for t in tenants:
        with contextlib.suppress(AlreadyExists):  # a second demo run reuses its data directory
            add_tenant(store, box, t.slug, t.api_key, t.timezone)
    install_defaults(store, tenant=None, active=True, now=utcnow(), by="demo")
    _, token = create_token(store, "demo-reader", frozenset({"monitor:read"}), None)
    if not _port_free(port):
        console.print(f"[red]port {port} is taken[/red]: set SIGNWATCH_DEMO_PORT")
        return 1
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SIGNWATCH_DB": db}
    proc = subprocess.Popen(
        [sys.executable, "-m", "signwatch", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(url, proc)
        console.print(f"signwatch serving at {url} (data in {data_dir})")
        run = generate(SimConfig.last_days(tenants, days, utcnow()))
        labels = data_dir / "incident-labels.jsonl"
        write_labels(labels, run.labels)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as progress:
            task = progress.add_task(f"streaming {days:g} days of history", total=len(run.events))
            report = asyncio.run(
                send_events(run.events, tenants, url, concurrency=64, progress=lambda n: progress.advance(task, n))
            )
        if report.by_status.get(202, 0) + report.by_status.get(200, 0) != len(run.events):
            console.print(f"[yellow]not every delivery was acknowledged: {dict(report.by_status)}[/yellow]")
        _summary(console, store, url, token, labels, Counter(str(label["kind"]) for label in run.labels))
        _wait_for_engine(store)
        _alerts(console, store, run.labels)
        _dashboard(console, store, url, open_browser=not once)
        if once:
            return 0
        console.print("streaming live traffic; Ctrl-C to stop")
        asyncio.run(_live(LiveFeed(run), tenants, url))
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        store.close()


def _wait_for_engine(store: SqlStore, timeout: float = 120) -> None:
    """Until the server's rules engine has evaluated every event streamed (it runs behind ingest)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(store.get_position(EVALUATED) or 0) >= store.log_end():
            return
        time.sleep(0.2)


def _alerts(console: Console, store: SqlStore, labels: list[dict[str, Any]]) -> None:
    """The alerts the default pack fired, each beside the injected incident it caught (if any)."""
    alerts, _ = store.list_alerts(Scope.all(), AlertFilter(), 0, 1000)
    alerts = [a for a in alerts if a.fired_at >= min((parse_time(x["start"]) for x in labels), default=a.fired_at)]
    table = Table(title=f"alerts fired ({len(alerts)})")
    for column in ("fired (UTC)", "rule", "tenant", "group", "state", "incident caught"):
        table.add_column(column)
    caught: set[int] = set()
    for a in alerts:
        match = next((i for i, x in enumerate(labels) if _catches(a, x)), None)
        if match is not None:
            caught.add(match)
        table.add_row(
            a.fired_at.strftime("%Y-%m-%d %H:%M"), a.rule_name, a.tenant, a.group_key, a.state,
            labels[match]["kind"] if match is not None else "-",
        )  # fmt: skip
    console.print(table)
    console.print(f"incidents caught: {len(caught)} of {len(labels)}; browse them at /monitor/v2/alerts")


def _catches(alert: AlertRecord, label: dict[str, Any]) -> bool:
    if alert.tenant != label["tenant"] or DEFAULT_FOR.get(str(label["kind"])) != alert.rule_name:
        return False
    return (
        parse_time(label["start"]) - timedelta(minutes=5)
        <= alert.fired_at
        <= parse_time(label["end"]) + timedelta(days=1, hours=2)
    )


def _dashboard(console: Console, store: SqlStore, url: str, *, open_browser: bool) -> None:
    """The dashboard's address and a sign-in link (a day-long analyst token, consumed from the URL fragment);
    opened in a browser when there is a display."""
    scopes = frozenset({"monitor:read", "rules:write", "alerts:write", "export:read"})
    _, token = create_token(store, "demo-analyst", scopes, None, expires_at=utcnow() + timedelta(days=1))
    link = f"{url}/ui/login#token={token}"
    console.print(f"dashboard: {url}/ui/  sign in (valid for a day): {link}", soft_wrap=True)
    if open_browser and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"):
        import webbrowser

        webbrowser.open(link)


async def _live(feed: LiveFeed, tenants: tuple[SimTenant, ...], url: str) -> None:
    await run_live(feed, tenants, url, interval=5.0)


def _summary(console: Console, store: SqlStore, url: str, token: str, labels: Path, by_kind: Counter[str]) -> None:
    counts = store.event_counts(Scope.all())
    tenants = sorted({t for t, _ in counts})
    types = sorted({ty for _, ty in counts}, key=lambda ty: -sum(v for (_, y), v in counts.items() if y == ty))
    table = Table(title="events stored", show_footer=True)
    table.add_column("type", footer="total")
    for t in tenants:
        table.add_column(t, justify="right", footer=str(sum(v for (tt, _), v in counts.items() if tt == t)))
    table.add_column("all", justify="right", footer=str(sum(counts.values())))
    for ty in types:
        row = [counts.get((t, ty), 0) for t in tenants]
        table.add_row(ty, *map(str, row), str(sum(row)))
    console.print(table)
    console.print(
        f"incidents injected: {sum(by_kind.values())} ({', '.join(f'{k} {v}' for k, v in sorted(by_kind.items()))});"
        f" labels in {labels}"
    )
    console.print(f"API: {url}   OpenAPI: {url}/openapi.json   metrics: {url}/metrics")
    console.print("read token (monitor:read):")
    print(token)
    print(f'curl -H "Authorization: Bearer {token}" "{url}/monitor/v2/data?limit=5"', flush=True)
