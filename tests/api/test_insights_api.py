"""Dashboard data over real HTTP: a small world ingested through the webhooks and folded by the live engine,
then every figure of the four insight pages checked exactly, on both backends; tenant isolation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from httpx import Client

from signwatch.config import Settings
from signwatch.store import SqlStore
from tests.api.test_alerts_api import burst_rule, wait_for_alerts
from tests.api.test_data import send, token
from tests.conftest import KEY, OTHER_KEY, SECRET

BASE = "/monitor/v2/insights"
WEEK = {"from": "2026-11-16T00:00:00Z", "to": "2026-11-23T00:00:00Z"}  # Monday to Monday: buckets of an hour
GB_1, GB_2, GB_3, US, AU = "81.2.69.142", "81.2.69.160", "185.86.151.11", "8.8.8.8", "1.1.1.1"  # geoip2fast


def acme(client: Client, event: str, at: str, who: str, ip: str, bu: str = "sales") -> None:
    send(client, "acme", KEY, event=event, at=at, email=f"{who}@acme.example", user_id=f"usr_{who}", ip=ip, bu=bu)


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Settings:
    """The live engine never hands time over to the wall clock here: alerts open at the end stay open."""
    return Settings(db=db_url, secret_key=SECRET, export_dir=tmp_path / "exports", rules_idle_seconds=86_400)  # type: ignore[arg-type]


@pytest.fixture
def world(client: Client, store: SqlStore) -> dict[str, str]:
    """acme (Europe/Berlin): dave's baseline four weeks before the week; alice, bob and carol in it. globex
        (America/New_York): zed, the latest. A burst rule (3 sends in 10 minutes by one actor) fires for dave, alice
    and zed; zed's alone is still open when the engine's clock stops at zed's sends."""
    admin = token(store, "admin")
    burst_rule(client, admin, severity="high")
    for i in range(10):
        acme(client, "envelope.sent", f"2026-11-02T10:{i:02d}:00Z", "dave", GB_1)
    acme(client, "envelope.voided", "2026-11-02T11:00:00Z", "dave", GB_1)
    for i in range(2):
        acme(client, "envelope.declined", f"2026-11-02T11:1{i}:00Z", "dave", GB_1)
    for i in range(6):
        acme(client, "envelope.completed", f"2026-11-03T10:0{i}:00Z", "dave", GB_1)
    for i in range(4):  # Wednesday 10:00 in Berlin: business hours
        acme(client, "envelope.sent", f"2026-11-18T09:0{i}:00Z", "alice", GB_1)
    acme(client, "envelope.sent", "2026-11-20T05:00:00Z", "alice", US)  # 06:00 in Berlin, from a new country
    for i in range(2):  # 17:30 UTC is business time in UTC, but 18:30 in Berlin: off hours
        acme(client, "envelope.sent", f"2026-11-19T17:3{i}:00Z", "bob", GB_3, bu="legal")
    acme(client, "envelope.voided", "2026-11-19T12:00:00Z", "bob", GB_3, bu="legal")
    for i in range(3):
        acme(client, "envelope.signed", f"2026-11-18T13:0{i}:00Z", "carol", GB_2)
    acme(client, "envelope.declined", "2026-11-18T14:00:00Z", "carol", GB_2)
    for i in range(2):
        acme(client, "envelope.completed", f"2026-11-18T15:0{i}:00Z", "carol", GB_2)
    for i in range(3):  # 22:30 UTC, off hours in UTC, is 17:30 in New York: business hours there
        send(client, "globex", OTHER_KEY, at=f"2026-11-20T22:3{i}:00Z", email="zed@globex.example", user_id="usr_zed",
             ip=AU, bu="ops")  # fmt: skip
    alerts = wait_for_alerts(client, admin, 3)
    assert len(alerts) == 3
    deadline = time.monotonic() + 30
    while len({store.get_position("engine.rollups"), store.get_position("engine.evaluated"), str(store.log_end())}) > 1:
        assert time.monotonic() < deadline, "the engine did not settle"  # folded and evaluated, alert.* events too
        time.sleep(0.05)
    return {a["groupKey"]: a["id"] for a in alerts}


def get(client: Client, path: str, headers: dict[str, str], **params: Any) -> Any:
    resp = client.get(BASE + path, params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_overview_counts_rates_baselines_and_open_alerts(
    client: Client, store: SqlStore, world: dict[str, str]
) -> None:
    body = get(client, "/overview", token(store, "monitor:read", frozenset({"acme"})), **WEEK)
    assert (body["from"], body["to"], body["bucket"]) == ("2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z", "1h")
    assert len(body["series"]) == 7 * 24 and body["series"][0]["t"] == "2026-11-16T00:00:00Z"
    assert body["series"][-1]["t"] == "2026-11-22T23:00:00Z"
    at = {p["t"]: p for p in body["series"]}
    assert at["2026-11-18T09:00:00Z"]["sent"] == 4 and at["2026-11-18T13:00:00Z"]["signed"] == 3
    assert at["2026-11-19T17:00:00Z"] == {"t": "2026-11-19T17:00:00Z", "sent": 2, "signed": 0, "completed": 0,
                                          "declined": 0, "voided": 0}  # fmt: skip
    for name, total in (("sent", 7), ("signed", 3), ("completed", 2), ("declined", 1), ("voided", 1)):
        assert sum(p[name] for p in body["series"]) == total == body["totals"][name]
    assert body["totals"]["events"] == 14
    assert body["rates"] == {
        "void": {"value": pytest.approx(1 / 7), "baseline": pytest.approx(0.1)},
        "decline": {"value": pytest.approx(1 / 7), "baseline": pytest.approx(0.2)},
        "completion": {"value": pytest.approx(2 / 7), "baseline": pytest.approx(0.6)},
    }
    assert body["baselineFrom"] == "2026-10-19T00:00:00Z"
    assert body["tenants"] == [
        {"tenant": "acme", "sent": 7, "signed": 3, "completed": 2, "declined": 1, "voided": 1, "events": 14}
    ]
    assert body["businessUnits"] == [
        {"tenant": "acme", "businessUnit": "sales", "sent": 5, "signed": 3, "completed": 2, "declined": 1,
         "voided": 0, "events": 11},
        {"tenant": "acme", "businessUnit": "legal", "sent": 2, "signed": 0, "completed": 0, "declined": 0,
         "voided": 1, "events": 3},
    ]  # fmt: skip
    # acme's alerts cleared as the engine's clock moved on; zed's, of another tenant, is open
    assert body["openAlerts"] == {"total": 0, "bySeverity": {"low": 0, "medium": 0, "high": 0, "critical": 0},
                                  "latest": []}  # fmt: skip
    # one business unit; every tenant for an all-tenant token
    legal = get(client, "/overview", token(store), businessUnit="legal", **WEEK)
    assert legal["totals"] == {"sent": 2, "signed": 0, "completed": 0, "declined": 0, "voided": 1, "events": 3}
    assert legal["rates"]["void"] == {"value": 0.5, "baseline": None}
    everyone = get(client, "/overview", token(store), **WEEK)
    assert [(t["tenant"], t["sent"]) for t in everyone["tenants"]] == [("acme", 7), ("globex", 3)]
    assert everyone["totals"]["sent"] == 10 and everyone["openAlerts"]["total"] == 1
    [latest] = everyone["openAlerts"]["latest"]
    assert latest["id"] == world["zed@globex.example"] and latest["state"] == "open" and latest["severity"] == "high"
    assert everyone["openAlerts"]["bySeverity"]["high"] == 1 and {"ruleId", "firedAt", "evidence"} <= set(latest)


def test_a_range_is_widened_to_whole_hours_with_five_minute_buckets(
    client: Client, store: SqlStore, world: dict[str, str]
) -> None:
    body = get(client, "/overview", token(store), range="24h", to="2026-11-19T12:30:00Z")
    assert (body["from"], body["to"], body["bucket"]) == ("2026-11-18T12:00:00Z", "2026-11-19T13:00:00Z", "5m")
    assert len(body["series"]) == 25 * 12
    assert body["totals"] == {"sent": 0, "signed": 3, "completed": 2, "declined": 1, "voided": 1, "events": 7}
    assert body["rates"]["void"]["value"] is None  # nothing sent: no rate
    assert {p["t"]: p["signed"] for p in body["series"] if p["signed"]} == {"2026-11-18T13:00:00Z": 3}
    year = get(client, "/overview", token(store), range="365d", to="2026-11-23T00:00:00Z")
    assert (year["from"], year["to"], year["bucket"]) == ("2025-11-23T00:00:00Z", "2026-11-23T00:00:00Z", "1d")
    assert len(year["series"]) == 365 and year["totals"]["sent"] == 20  # dave's ten, alice's five, bob's two, zed's
    day = get(client, "/overview", token(store), **{"from": "2026-11-18", "to": "2026-11-18"})  # one whole day
    assert (day["from"], day["to"], day["totals"]["sent"]) == ("2026-11-18T00:00:00Z", "2026-11-19T00:00:00Z", 4)


def test_geography_flags_new_countries_and_networks(client: Client, store: SqlStore, world: dict[str, str]) -> None:
    body = get(client, "/geography", token(store, "monitor:read", frozenset({"acme"})), **WEEK)
    assert body["countries"] == [
        {"country": "GB", "name": "United Kingdom", "events": 13, "users": 3, "firstSeen": "2026-11-02T10:00:00Z",
         "new": False},
        {"country": "US", "name": "United States", "events": 1, "users": 1, "firstSeen": "2026-11-20T05:00:00Z",
         "new": True},
    ]  # fmt: skip
    nets = {n["network"]: n for n in body["networks"]}
    assert list(nets) == ["81.2.69.0/24", "185.86.151.0/24", "8.8.8.0/24"]
    assert nets["81.2.69.0/24"] == {
        "network": "81.2.69.0/24", "asn": None, "asnName": "Andrews & Arnold Ltd", "country": "GB", "events": 10,
        "users": 2, "firstSeen": "2026-11-02T10:00:00Z", "new": False,
    }  # fmt: skip
    assert (nets["185.86.151.0/24"]["users"], nets["185.86.151.0/24"]["new"]) == (1, True)
    assert (nets["8.8.8.0/24"]["country"], nets["8.8.8.0/24"]["asnName"], nets["8.8.8.0/24"]["new"]) == (
        "US",
        "GOOGLE",
        True,
    )
    # the four weeks before: dave alone, from one network; nothing was new in the week for an all-tenant token
    before = get(client, "/geography", token(store), **{"from": "2026-10-19T00:00:00Z", "to": "2026-11-16T00:00:00Z"})
    assert before["countries"] == [{"country": "GB", "name": "United Kingdom", "events": 19, "users": 1,
                                    "firstSeen": "2026-11-02T10:00:00Z", "new": True}]  # fmt: skip
    assert [(n["network"], n["events"], n["users"]) for n in before["networks"]] == [("81.2.69.0/24", 19, 1)]
    # a window inside a day, part of an hour of activity: the hour is whole, and so are its users
    hour = get(client, "/geography", token(store), **{"from": "2026-11-18T13:20:00Z", "to": "2026-11-18T13:40:00Z"})
    assert (hour["from"], hour["to"]) == ("2026-11-18T13:00:00Z", "2026-11-18T14:00:00Z")
    assert [(c["country"], c["events"], c["users"]) for c in hour["countries"]] == [("GB", 3, 1)]


def test_users_rank_senders_and_signers_with_off_hours_places_and_flags(
    client: Client, store: SqlStore, world: dict[str, str]
) -> None:
    body = get(client, "/users", token(store, "monitor:read", frozenset({"acme"})), **WEEK)
    assert [(u["user"], u["sent"], u["events"]) for u in body["senders"]] == [
        ("alice@acme.example", 5, 5), ("bob@acme.example", 2, 3)
    ]  # fmt: skip
    alice, bob = body["senders"]
    assert alice["offHoursShare"] == pytest.approx(1 / 5)  # the send at 06:00 in Berlin
    assert bob["offHoursShare"] == pytest.approx(2 / 3)  # 18:30 in Berlin, though business time in UTC
    assert (alice["countries"], alice["networks"], bob["countries"], bob["networks"]) == (2, 2, 1, 1)
    assert alice["tenant"] == "acme" and bob["flags"] == []
    [flag] = alice["flags"]
    assert flag["alertId"] == world["alice@acme.example"] and flag["ruleName"] == "burst"
    assert (flag["severity"], flag["firedAt"]) == ("high", "2026-11-18T09:03:00Z")
    [carol] = body["signers"]
    assert (carol["user"], carol["signed"], carol["events"], carol["offHoursShare"]) == (
        "carol@acme.example",
        3,
        6,
        0.0,
    )
    # dave's alert fired before the week: not a flag of this week; zed's is globex's, off hours in UTC only
    everyone = get(client, "/users", token(store), limit="1", **WEEK)
    assert [u["user"] for u in everyone["senders"]] == ["alice@acme.example"]
    globex = get(client, "/users", token(store), tenant="globex", **WEEK)
    [zed] = globex["senders"]
    assert (zed["user"], zed["offHoursShare"], len(zed["flags"])) == ("zed@globex.example", 0.0, 1)
    weeks = get(client, "/users", token(store), **{"from": "2026-10-19T00:00:00Z", "to": "2026-11-16T00:00:00Z"})
    assert [(u["user"], [f["alertId"] for f in u["flags"]]) for u in weeks["senders"]] == [
        ("dave@acme.example", [world["dave@acme.example"]])
    ]


def test_one_user_timeline_places_and_alerts(client: Client, store: SqlStore, world: dict[str, str]) -> None:
    auth = token(store, "monitor:read", frozenset({"acme"}))
    body = get(client, "/users/alice%40acme.example", auth, **WEEK)
    assert (body["user"], body["tenant"], body["bucket"], body["from"]) == (
        "alice@acme.example", "acme", "1h", "2026-11-16T00:00:00Z"
    )  # fmt: skip
    assert len(body["timeline"]) == 168 and sum(p["sent"] for p in body["timeline"]) == 5
    assert {p["t"]: p["sent"] for p in body["timeline"] if p["sent"]} == {
        "2026-11-18T09:00:00Z": 4, "2026-11-20T05:00:00Z": 1
    }  # fmt: skip
    assert body["offHoursShare"] == pytest.approx(0.2) and body["totals"]["events"] == 5
    assert body["countries"] == [
        {"country": "GB", "name": "United Kingdom", "events": 4, "firstSeen": "2026-11-18T09:00:00Z"},
        {"country": "US", "name": "United States", "events": 1, "firstSeen": "2026-11-20T05:00:00Z"},
    ]
    assert body["networks"] == [
        {"network": "81.2.69.0/24", "country": "GB", "events": 4, "firstSeen": "2026-11-18T09:00:00Z", "new": True},
        {"network": "8.8.8.0/24", "country": "US", "events": 1, "firstSeen": "2026-11-20T05:00:00Z", "new": True},
    ]
    assert [a["id"] for a in body["alerts"]] == [world["alice@acme.example"]]
    by_id = get(client, "/users/usr_bob", auth, range="24h", to="2026-11-19T18:00:00Z")  # the id works too
    assert by_id["user"] == "bob@acme.example" and by_id["bucket"] == "5m" and len(by_id["timeline"]) == 24 * 12
    points = {p["t"]: p for p in by_id["timeline"] if p["sent"] or p["voided"]}
    assert [(t, p["sent"], p["voided"]) for t, p in points.items()] == [
        ("2026-11-19T12:00:00Z", 0, 1), ("2026-11-19T17:30:00Z", 2, 0)
    ]  # fmt: skip
    carol = get(client, "/users/carol@acme.example", auth, **WEEK)
    assert [
        (p["signed"], p["declined"], p["other"])
        for p in carol["timeline"]
        if p["signed"] or p["declined"] or p["other"]
    ] == [
        (3, 0, 0),
        (0, 1, 0),
        (0, 0, 2),
    ]  # fmt: skip  completed is "other" on a user's timeline
    missing = client.get(f"{BASE}/users/nobody@acme.example", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_tenant_isolation(client: Client, store: SqlStore, world: dict[str, str]) -> None:
    globex = token(store, "monitor:read", frozenset({"globex"}))
    for path in ("/overview", "/geography", "/users"):
        resp = client.get(BASE + path, params=WEEK, headers=globex)
        assert resp.status_code == 200 and b"acme" not in resp.content, path
        refused = client.get(BASE + path, params={**WEEK, "tenant": "acme"}, headers=globex)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_tenant"
    overview = get(client, "/overview", globex, **WEEK)
    assert overview["totals"]["sent"] == 3 and overview["openAlerts"]["total"] == 1
    geo = get(client, "/geography", globex, **WEEK)
    assert [c["country"] for c in geo["countries"]] == ["AU"] and geo["countries"][0]["new"] is True
    for user in ("alice@acme.example", "usr_alice"):
        resp = client.get(f"{BASE}/users/{user}", params=WEEK, headers=globex)
        assert resp.status_code == 404 and b"acme" not in resp.content.replace(user.encode(), b"")
    assert client.get(f"{BASE}/overview", headers={}).status_code == 401
    assert client.get(f"{BASE}/overview", headers=token(store, "export:read")).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "2d"}, "range"),
        ({"from": "2026-11-20T00:00:00Z", "to": "2026-11-19T00:00:00Z"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ({"range": "365d", "bucket": "5m"}, "bucket"),
        ({"bucket": "2h"}, "bucket"),
    ],
)
def test_bad_windows_are_refused(client: Client, store: SqlStore, params: dict[str, str], field: str) -> None:
    resp = client.get(f"{BASE}/overview", params=params, headers=token(store))
    assert resp.status_code == 400 and resp.json()["error"]["field"] == field
    resp = client.get(f"{BASE}/users", params={"limit": "0"}, headers=token(store))
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "limit"


def test_aggregates_do_not_depend_on_arrival_order_and_survive_a_purge(store: SqlStore) -> None:
    """The same events folded in event-time order (acme) and shuffled, in uneven batches (globex): every window
    reads the same, and matches counting the events by hand; purging before a cut keeps later windows right."""
    import random
    from datetime import UTC, datetime, timedelta

    from signwatch.events import Actor, Event, Geo, to_us
    from signwatch.store import Scope

    rng = random.Random(5)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    types = ("envelope.sent", "envelope.signed", "envelope.viewed", "envelope.voided")
    made = []
    for i in range(400):
        who, ip = rng.choice(("ann", "ben", "cat", "dov")), f"10.0.{rng.randrange(4)}.{rng.randrange(1, 250)}"
        at = start + timedelta(minutes=rng.randrange(6 * 1440))
        made.append((i, rng.choice(types), at, f"{who}@x.example", ip))

    def events(tenant: str) -> list[Event]:
        return [Event(id=f"ev_{tenant}_{i}", tenant=tenant, source="atlas", type=typ, occurred_at=at, envelope_id="e",
                      actor=Actor(None, who), ip_address=ip, geo=Geo("DE"), business_unit="sales")
                for i, typ, at, who, ip in made]  # fmt: skip

    ordered = sorted(events("acme"), key=lambda e: e.occurred_at)
    for k in range(0, len(ordered), 50):
        store.apply_rollups(ordered[k : k + 50], [], 0)
    shuffled = events("globex")
    rng.shuffle(shuffled)
    k = 0
    while k < len(shuffled):
        step = rng.randrange(1, 90)
        store.apply_rollups(shuffled[k : k + step], [], 0)
        k += step
    lo0 = to_us(start) // 60_000_000
    for lo, hi in ((lo0, lo0 + 6 * 1440), (lo0 + 7 * 60, lo0 + 2 * 1440 + 60), (lo0 + 1440, lo0 + 1500)):
        by_hand: dict[str, list[int]] = {}
        for _, typ, at, who, _ in made:
            if lo <= to_us(at) // 60_000_000 < hi:
                counts = by_hand.setdefault(who, [0, 0, 0])
                counts[0] += 1
                counts[1] += typ == "envelope.sent"
                counts[2] += typ == "envelope.signed"
        for tenant in ("acme", "globex"):
            got = store.actor_counts(Scope.of(tenant), lo, hi)
            assert {who: c[:3] for (_, who), c in got.items()} == by_hand
            ranks = store.actor_ranks(Scope.of(tenant), lo, hi, 10)
            assert {who: r for (_, who), r in ranks.items()} == {
                w: (c[1], c[2]) for w, c in by_hand.items() if c[1] or c[2]
            }
        assert store.top_networks(Scope.of("acme"), lo, hi, 10) == store.top_networks(Scope.of("globex"), lo, hi, 10)
        series = [store.actor_series(t, "ann@x.example", 60, lo, hi) for t in ("acme", "globex")]
        assert series[0] == series[1] and sum(c[0] for c in series[0].values()) == by_hand["ann@x.example"][0]
    late = (lo0 + 3 * 1440, lo0 + 6 * 1440)
    before = store.actor_counts(Scope.of("acme"), *late), store.top_networks(Scope.of("acme"), *late, 10)
    assert store.purge_insights("acme", (lo0 + 3 * 1440) * 60_000_000) > 0
    assert (store.actor_counts(Scope.of("acme"), *late), store.top_networks(Scope.of("acme"), *late, 10)) == before


def test_the_migration_folds_what_the_engine_folded_before_it(tmp_path: Any) -> None:
    """An install upgraded to the dashboard tables gets them filled from the events its engine already folded."""
    from datetime import UTC, datetime, timedelta

    from signwatch.events import Actor, Event, Geo
    from signwatch.store import Scope, WriteItem, open_store
    from signwatch.store.migrate import upgrade

    def world(store: SqlStore) -> None:
        at = datetime(2026, 11, 18, 9, tzinfo=UTC)
        events = [
            Event(id=f"ev_{i}", tenant="acme", source="atlas", type="envelope.sent", envelope_id=f"e{i}",
                  occurred_at=at + timedelta(hours=i), actor=Actor("u1", f"u{i % 3}@x.example"),
                  ip_address=f"81.2.{i % 4}.9", geo=Geo("GB"), business_unit="sales")
            for i in range(60)
        ]  # fmt: skip
        store.write_batch([WriteItem(None, e) for e in events])
        store.apply_rollups(events, [("engine.rollups", str(store.log_end()))], 0)

    old = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old.engine, "0007_groups")
    old._apply_insights = lambda conn, events: None  # type: ignore[method-assign]  # the fold before 0008
    world(old)
    old.close()
    old = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    old.upgrade()
    new = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    new.upgrade()
    world(new)
    lo = int(datetime(2026, 11, 18, tzinfo=UTC).timestamp()) // 60
    for store in (old, new):
        acme = Scope.of("acme")
        off = [sum(1 for i in range(u, 60, 3) if not 8 <= (9 + i) % 24 < 18 or (9 + i) // 24 > 2) for u in range(3)]
        assert store.actor_counts(acme, lo, lo + 3 * 1440) == {  # Wednesday 09:00 UTC on: off hours from Friday 18:00
            ("acme", f"u{u}@x.example"): [20, 20, 0, 0, 0, off[u]] for u in range(3)
        }
        assert store.top_networks(acme, lo, lo + 3 * 1440, 5) == [(f"81.2.{i}.0/24", 15) for i in range(4)]
        assert store.level_totals(Scope.of("acme"), "t", ("envelope.sent",), lo, lo + 3 * 1440) == {
            ("acme", "envelope.sent", ""): 60
        }
    old.close()
    new.close()
