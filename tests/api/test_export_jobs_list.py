"""`GET /monitor/v2/export/jobs`: the jobs a caller can see, newest first, with download URLs; never a job of a
tenant outside the caller's scope (the dashboard's Exports page lists them)."""

from __future__ import annotations

from httpx import Client

from signwatch.store import SqlStore
from tests.api.test_data import token


def test_jobs_are_listed_newest_first_and_by_scope(client: Client, store: SqlStore) -> None:
    everyone = token(store, "export:read")
    acme = token(store, "export:read", frozenset({"acme"}))
    globex = token(store, "export:read", frozenset({"globex"}))
    made = []
    for auth, tenant in ((acme, "acme"), (globex, "globex"), (everyone, None)):
        body = {"from": "2026-11-20", "to": "2026-11-21", **({"tenant": tenant} if tenant else {})}
        created = client.post("/monitor/v2/export/jobs", json=body, headers=auth)
        assert created.status_code == 202, created.text
        made.append(created.json()["id"])
    assert [j["id"] for j in client.get("/monitor/v2/export/jobs", headers=everyone).json()["data"]] == made[::-1]
    assert [j["id"] for j in client.get("/monitor/v2/export/jobs", headers=acme).json()["data"]] == [made[0]]
    assert [j["id"] for j in client.get("/monitor/v2/export/jobs", headers=globex).json()["data"]] == [made[1]]
    limited = client.get("/monitor/v2/export/jobs", params={"limit": 1}, headers=everyone).json()["data"]
    assert [j["id"] for j in limited] == [made[2]]
    assert client.get("/monitor/v2/export/jobs", headers=token(store, "monitor:read")).status_code == 403
    assert client.get("/monitor/v2/export/jobs").status_code == 401
