"""Export API over real HTTP: cursor pages in every format resume with no gap or repeat; export jobs write
hashed files behind presigned URLs (403 tampered, 410 expired); scopes and tenants."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import time
from typing import Any

import orjson
import pytest
from httpx import Client

from signwatch.api import export as export_api
from signwatch.export import cursor as cursors
from signwatch.store import EventFilter, Scope, SqlStore
from tests.api.test_data import send, token
from tests.conftest import KEY, OTHER_KEY


def pull(client: Client, headers: dict[str, str], fmt: str, limit: int, cursor: str | None = None) -> list[bytes]:
    """Every record line after `cursor`, page by page, following the cursor headers."""
    lines: list[bytes] = []
    for _ in range(100):
        params: dict[str, Any] = {"format": fmt, "limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = client.get("/monitor/v2/export", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.content.splitlines()
        if fmt == "csv":
            body = body[1:]  # the header line of each page
        lines.extend(body)
        cursor = resp.headers["x-signwatch-end-cursor"]
        assert resp.headers["link"].endswith('rel="next"') and cursor in resp.headers["link"]
        if resp.headers["x-signwatch-has-more"] == "false":
            return lines
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "cef", "ocsf", "ecs"])
def test_line_formats_page_without_gaps_and_carry_id_and_seq(client: Client, store: SqlStore, fmt: str) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:{i:02d}:00Z") for i in range(7)]
    auth = token(store, "export:read")
    lines = pull(client, auth, fmt, limit=3)
    assert len(lines) == 7
    text = b"\n".join(lines).decode()
    for event_id in ids:
        assert text.count(event_id) >= 1
    if fmt in ("ndjson", "ocsf", "ecs"):
        docs = [orjson.loads(line) for line in lines]
        assert len(docs) == 7
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert [r[1] for r in rows] == ids


def test_json_pages_and_resume(client: Client, store: SqlStore) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:{i:02d}:00Z") for i in range(5)]
    auth = token(store, "export:read")
    first = client.get("/monitor/v2/export", params={"limit": 2}, headers=auth).json()
    assert [e["id"] for e in first["data"]] == ids[:2] and first["hasMore"] is True
    rest = client.get("/monitor/v2/export", params={"cursor": first["endCursor"]}, headers=auth).json()
    assert [e["id"] for e in rest["data"]] == ids[2:] and rest["hasMore"] is False
    late = send(client, "acme", KEY, at="2026-01-01T00:00:00Z")  # late, by event time: still next in line
    more = client.get("/monitor/v2/export", params={"cursor": rest["endCursor"]}, headers=auth).json()
    assert [e["id"] for e in more["data"]] == [late]
    empty = client.get("/monitor/v2/export", params={"cursor": more["endCursor"]}, headers=auth).json()
    assert empty["data"] == [] and empty["endCursor"]
    bad = client.get("/monitor/v2/export", params={"format": "xml"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "format"


def test_json_and_ndjson_pages_are_the_python_encoders_bytes(
    client: Client, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database writes these pages, in parts streamed in order (three rows a part here): the bytes are those
    of `Event.to_wire()` through orjson, the cursor that of `read_events`; an empty page still moves on."""
    monkeypatch.setattr(export_api, "RENDER_PART", 3)
    for i in range(8):
        send(client, "acme" if i % 3 else "globex", KEY if i % 3 else OTHER_KEY, at=f"2026-11-20T10:{i:02d}:00.5Z")
    auth = token(store, "export:read")
    page = store.read_events(Scope.all(), 0, 7, EventFilter())
    wire = [e.to_wire() for e in page.events]
    ndjson = client.get("/monitor/v2/export", params={"format": "ndjson", "limit": 7}, headers=auth)
    assert ndjson.content == b"".join(orjson.dumps(w) + b"\n" for w in wire)
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    assert ndjson.headers["x-signwatch-has-more"] == "true"
    end = ndjson.headers["x-signwatch-end-cursor"]
    assert end == cursors.encode(page.last_seq)
    json_page = client.get("/monitor/v2/export", params={"limit": 7}, headers=auth)
    assert json_page.content == orjson.dumps({"data": wire, "endCursor": end, "hasMore": True})
    acme = token(store, "export:read", frozenset({"acme"}))
    rest = client.get("/monitor/v2/export", params={"format": "ndjson", "cursor": end}, headers=acme)
    assert [orjson.loads(line)["tenant"] for line in rest.content.splitlines()] == ["acme"]
    caught_up = rest.headers["x-signwatch-end-cursor"]
    empty = client.get("/monitor/v2/export", params={"format": "ndjson", "cursor": caught_up}, headers=acme)
    assert empty.content == b"" and empty.headers["x-signwatch-end-cursor"] == caught_up
    assert empty.headers["x-signwatch-has-more"] == "false"
    none = client.get("/monitor/v2/export", params={"cursor": caught_up}, headers=acme)
    assert none.content == orjson.dumps({"data": [], "endCursor": caught_up, "hasMore": False})


def test_scopes_and_tenants(client: Client, store: SqlStore) -> None:
    send(client, "acme", KEY)
    send(client, "globex", OTHER_KEY)
    assert client.get("/monitor/v2/export", headers=token(store, "monitor:read")).status_code == 403
    globex = token(store, "export:read", frozenset({"globex"}))
    data = client.get("/monitor/v2/export", headers=globex).json()["data"]
    assert {e["tenant"] for e in data} == {"globex"}
    assert client.get("/monitor/v2/export", params={"tenant": "acme"}, headers=globex).status_code == 403


def wait_done(client: Client, headers: dict[str, str], job_id: str, **params: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job = client.get(f"/monitor/v2/export/jobs/{job_id}", params=params, headers=headers).json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_export_job_writes_a_hashed_file_behind_a_presigned_url(
    client: Client, store: SqlStore, compression: str
) -> None:
    ids = [send(client, "acme", KEY, at=f"2026-11-20T10:{i:02d}:00Z") for i in range(4)]
    send(client, "acme", KEY, at="2026-11-22T10:00:00Z")  # outside the range
    auth = token(store, "export:read")
    body = {"from": "2026-11-20", "to": "2026-11-21", "format": "ndjson", "compression": compression}
    created = client.post("/monitor/v2/export/jobs", json=body, headers=auth)
    assert created.status_code == 202, created.text
    assert created.json()["status"] in ("queued", "running", "done")
    job = wait_done(client, auth, created.json()["id"])
    assert job["status"] == "done" and job["records"] == 4
    [f] = job["files"]
    got = client.get(f["url"])  # presigned: no bearer token
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == f["sha256"] and len(got.content) == f["bytes"]
    raw = gzip.decompress(got.content) if compression == "gzip" else got.content
    assert [orjson.loads(line)["id"] for line in raw.splitlines()] == ids
    url = f["url"]
    tampered = url.replace("signature=", "signature=0")
    assert client.get(tampered).status_code == 403
    other_file = url.replace(f["name"], "other.ndjson")
    assert client.get(other_file).status_code == 403
    expired = wait_done(client, auth, created.json()["id"], expiresIn=1)["files"][0]["url"]
    time.sleep(2.1)
    gone = client.get(expired)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "expired"
    too_long = client.get(f"/monitor/v2/export/jobs/{job['id']}", params={"expiresIn": 8 * 86400}, headers=auth)
    assert too_long.status_code == 400


def test_export_jobs_respect_tenants(client: Client, store: SqlStore) -> None:
    send(client, "acme", KEY, at="2026-11-20T10:00:00Z")
    send(client, "globex", OTHER_KEY, at="2026-11-20T10:00:00Z")
    globex = token(store, "export:read", frozenset({"globex"}))
    created = client.post("/monitor/v2/export/jobs", json={"from": "2026-11-20", "to": "2026-11-20"}, headers=globex)
    job = wait_done(client, globex, created.json()["id"])
    assert job["records"] == 1
    acme = token(store, "export:read", frozenset({"acme"}))
    assert client.get(f"/monitor/v2/export/jobs/{job['id']}", headers=acme).status_code == 404
    bad = client.post(
        "/monitor/v2/export/jobs", json={"from": "2026-11-20", "to": "2026-11-20", "tenant": "acme"}, headers=globex
    )
    assert bad.status_code == 403
    assert client.post("/monitor/v2/export/jobs", json={"from": "2026-11-20"}, headers=globex).status_code == 400
