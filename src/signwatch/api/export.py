"""Export API (design §2 export/): `/monitor/v2/export` pages by cursor, export jobs and signed downloads.

Pages are in ingestion order behind the same opaque cursor as the data API (DESIGN.md §5): `format=json`
answers `{"data", "endCursor", "hasMore"}`; the line formats (ndjson, csv, cef, ocsf, ecs) answer one
record per line, with the cursor in the `X-Signwatch-End-Cursor` / `X-Signwatch-Has-More` headers and a
`Link: <…>; rel="next"`, so a SIEM stores the cursor after each page and resumes exactly there.
json and ndjson pages are written by the database (`ExportSql.read_event_lines` and its parts) and streamed
as they are written, the same bytes as `Event.to_wire()` through orjson; the other formats go through `Event`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response, StreamingResponse

from signwatch.api.data import event_filter, parse_bound, parse_limit
from signwatch.api.deps import require, services
from signwatch.api.errors import ApiError
from signwatch.api.responses import ORJSONResponse
from signwatch.auth.tokens import Caller
from signwatch.events import rfc3339, utcnow
from signwatch.export import cursor as cursors
from signwatch.export import jobs
from signwatch.export.formats import FORMATS, get_format
from signwatch.store import EventFilter, Scope, SqlStore
from signwatch.store.base import ExportJobRecord
from signwatch.store.exports_sql import LinePlan

router = APIRouter(prefix="/monitor/v2/export", tags=["export"])
FILES_PATH = "/monitor/v2/export/files"
RENDER_PART = 2000  # rows the database renders in one go (json, ndjson pages)
RENDER_AHEAD = 2  # parts rendered at once, each in a worker thread (SQLite and psycopg release the GIL)


@router.get("", summary="Events in ingestion order, in a SIEM format, resumable by cursor")
async def export_page(
    request: Request,
    caller: Annotated[Caller, Depends(require("export:read"))],
    cursor: Annotated[str | None, Query(description="endCursor of the previous page")] = None,
    limit: Annotated[str | None, Query(description="1-10000, default 1000")] = None,
    format: Annotated[str, Query(description="json, ndjson, csv, ocsf, ecs, cef")] = "json",
    tenant: Annotated[str | None, Query(description="Tenant slug(s) within the token's tenants")] = None,
    type: Annotated[str | None, Query(description="Event type(s), comma-separated")] = None,
    stream: Annotated[str, Query(description="events, or audit (the monitor's own trail; scope admin)")] = "events",
) -> Response:
    if stream == "audit":
        return await _audit_page(request, caller, cursor, limit, format)
    if stream != "events":
        raise ApiError(400, "stream must be events or audit", field="stream")
    try:
        fmt = get_format(format)
    except ValueError as exc:
        raise ApiError(400, str(exc), field="format") from exc
    flt = event_filter(caller, None, None, type, None, tenant)
    n = parse_limit(limit)
    try:
        after = cursors.decode(cursor)
    except cursors.BadCursor as exc:
        raise ApiError(400, str(exc), field="cursor") from exc
    store = services(request).store
    if format in ("json", "ndjson") and isinstance(store, SqlStore):
        return await _rendered_page(request, store, caller, after, n, flt, format)
    page = await run_in_threadpool(store.read_events, caller.scope, after, n, flt)
    request.state.audit_count = len(page.events)
    end = cursors.encode(page.last_seq)
    if format == "json":
        body = {"data": [e.to_wire() for e in page.events], "endCursor": end, "hasMore": page.has_more}
        return ORJSONResponse(body)
    lines = [fmt.record(e) for e in page.events]
    if fmt.header is not None:
        lines.insert(0, fmt.header)
    content = b"".join(line + b"\n" for line in lines)
    return Response(content, media_type=fmt.content_type, headers=_cursor_headers(request, end, page.has_more))


async def _rendered_page(
    request: Request, store: SqlStore, caller: Caller, after: int, n: int, flt: EventFilter, format: str
) -> Response:
    """json and ndjson pages as the database writes them (the same bytes as `Event.to_wire()` through orjson,
    without an `Event` per row): planned first (rows and cursor, for the headers), then streamed part by part."""
    plan = await run_in_threadpool(store.plan_event_lines, caller.scope, after, n, flt, RENDER_PART)
    request.state.audit_count = plan.count
    end = cursors.encode(plan.last_seq)
    if format == "json":
        tail = b"]," + orjson.dumps({"endCursor": end, "hasMore": plan.has_more})[1:]
        body = _rendered(store, caller.scope, flt, plan, b",", b'{"data":[', tail, b"")
        return StreamingResponse(body, media_type="application/json")
    body = _rendered(store, caller.scope, flt, plan, b"\n", b"", b"", b"\n")
    headers = _cursor_headers(request, end, plan.has_more)
    return StreamingResponse(body, media_type="application/x-ndjson", headers=headers)


async def _rendered(
    store: SqlStore, scope: Scope, flt: EventFilter, plan: LinePlan, separator: bytes, head: bytes, tail: bytes,
    last: bytes,
) -> AsyncIterator[bytes]:  # fmt: skip
    """`head`, the plan's parts joined by `separator` (`last` after the last record), `tail`. The parts are
    rendered RENDER_AHEAD at a time in worker threads (SQLite and psycopg let go of the GIL meanwhile), so
    the database writes the next part while this one is sent: memory holds a few parts, never the page."""
    rendering: deque[asyncio.Future[bytes]] = deque()
    todo = iter(plan.parts)
    sent = False
    try:
        if head:
            yield head
        while True:
            while len(rendering) < RENDER_AHEAD and (part := next(todo, None)) is not None:
                work = run_in_threadpool(store.render_event_lines, scope, flt, part, separator.decode())
                rendering.append(asyncio.ensure_future(work))
            if not rendering:
                break
            lines = await rendering.popleft()
            if lines:  # b"" when a filter or retention left no rows in this part
                if sent:
                    yield separator
                yield lines
                sent = True
        if sent and last:
            yield last
        if tail:
            yield tail
    finally:
        for pending in rendering:  # the client went away: those parts are not awaited
            pending.cancel()


def _cursor_headers(request: Request, end: str, has_more: bool) -> dict[str, str]:
    """A line format's cursor: `X-Signwatch-End-Cursor`, `X-Signwatch-Has-More` and `Link: <…>; rel="next"`."""
    query = {k: v for k, v in request.query_params.items() if k != "cursor"}
    next_url = f"{request.url.path}?{urlencode({**query, 'cursor': end})}"
    return {
        "X-Signwatch-End-Cursor": end,
        "X-Signwatch-Has-More": "true" if has_more else "false",
        "Link": f'<{next_url}>; rel="next"',
    }


async def _audit_page(request: Request, caller: Caller, cursor: str | None, limit: str | None, format: str) -> Response:
    """The audit trail through the export API (`stream=audit`): json pages or ndjson lines, same cursors."""
    if not caller.has("admin"):
        raise ApiError(403, "exporting the audit trail needs the admin scope", code="insufficient_scope")
    if format not in ("json", "ndjson"):
        raise ApiError(400, "the audit trail exports as json or ndjson", field="format")
    n = parse_limit(limit)
    try:
        after = cursors.decode(cursor)
    except cursors.BadCursor as exc:
        raise ApiError(400, str(exc), field="cursor") from exc
    page = await run_in_threadpool(services(request).store.read_audit, after, n + 1, caller.scope.tenants)
    more, page = len(page) > n, page[:n]
    request.state.audit_count = len(page)
    end = cursors.encode(page[-1].seq if page and page[-1].seq else after)
    if format == "json":
        return ORJSONResponse({"data": [r.wire() for r in page], "endCursor": end, "hasMore": more})
    headers = {"X-Signwatch-End-Cursor": end, "X-Signwatch-Has-More": "true" if more else "false"}
    content = b"".join(orjson.dumps(r.wire()) + b"\n" for r in page)
    return Response(content, media_type="application/x-ndjson", headers=headers)


@router.post("/jobs", status_code=202, summary="Export an event-time range to a file")
async def create_job(
    request: Request,
    caller: Annotated[Caller, Depends(require("export:read"))],
    body: Annotated[dict[str, Any], Body(description='{"from", "to", "format", "compression", "tenant"?}')],
) -> Response:
    for key in ("from", "to"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise ApiError(400, f"{key} is required: a date (YYYY-MM-DD) or an RFC 3339 time", field=key)
    start = parse_bound(body["from"], "from", end=False)
    stop = parse_bound(body["to"], "to", end=True)
    assert start is not None and stop is not None
    if start >= stop:
        raise ApiError(400, "from must be before to", field="from")
    fmt = body.get("format", "ndjson")
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ApiError(400, f"format must be one of {', '.join(FORMATS)}", field="format")
    compression = body.get("compression", "gzip")
    if compression not in jobs.COMPRESSIONS:
        raise ApiError(400, "compression must be gzip or none", field="compression")
    tenant = body.get("tenant")
    if tenant is not None and (not isinstance(tenant, str) or not caller.scope.allows(tenant)):
        raise ApiError(403, "the token does not cover that tenant", code="forbidden_tenant", field="tenant")
    job = ExportJobRecord(
        id=jobs.new_job_id(),
        tenants=caller.scope.tenants,
        tenant=tenant,
        format=fmt,
        compression=compression,
        occurred_from=start,
        occurred_to=stop,
        status="queued",
        created_by=caller.name,
        created_at=utcnow(),
    )
    svc = services(request)
    await run_in_threadpool(svc.store.put_export_job, job)
    if svc.exporter is not None:
        svc.exporter.wake.set()
    return ORJSONResponse(
        _job_wire(request, job, None), status_code=202, headers={"Location": f"{request.url.path}/{job.id}"}
    )


@router.get("/jobs", summary="Export jobs the caller can see, newest first, with signed download URLs")
async def list_jobs(
    request: Request,
    caller: Annotated[Caller, Depends(require("export:read"))],
    limit: Annotated[int, Query(ge=1, le=500, description="Most jobs returned")] = 50,
) -> Response:
    found = await run_in_threadpool(services(request).store.list_export_jobs, 1000)
    visible = [j for j in found if _visible(j, caller)][:limit]
    request.state.audit_count = len(visible)
    return ORJSONResponse({"data": [_job_wire(request, j, jobs.DEFAULT_EXPIRY) for j in visible]})


@router.get("/jobs/{job_id}", summary="An export job: status, counts, files with signed download URLs")
async def get_job(
    request: Request,
    job_id: str,
    caller: Annotated[Caller, Depends(require("export:read"))],
    expiresIn: Annotated[int | None, Query(description="Seconds the URLs stay valid (max 7 days)")] = None,
) -> Response:
    job = await run_in_threadpool(services(request).store.get_export_job, job_id)
    if job is None or not _visible(job, caller):
        raise ApiError(404, f"no export job {job_id!r}")
    expiry = jobs.DEFAULT_EXPIRY if expiresIn is None else timedelta(seconds=expiresIn)
    if not timedelta(0) < expiry <= jobs.MAX_EXPIRY:
        raise ApiError(400, "expiresIn must be between 1 and 604800 seconds (7 days)", field="expiresIn")
    return ORJSONResponse(_job_wire(request, job, expiry))


@router.get("/files/{job_id}/{name}", summary="Download an export file (presigned URL, no bearer token)")
async def download(request: Request, job_id: str, name: str) -> Response:
    svc = services(request)
    path = f"{FILES_PATH}/{job_id}/{name}"
    try:
        jobs.check(
            svc.export_key, "GET", path, request.query_params.get("expires"), request.query_params.get("signature"),
            utcnow(),
        )  # fmt: skip
    except jobs.BadSignature as exc:
        raise ApiError(403, str(exc), code="bad_signature") from exc
    except jobs.Expired as exc:
        raise ApiError(410, str(exc), code="expired") from exc
    job = await run_in_threadpool(svc.store.get_export_job, job_id)
    if job is None or name not in {f["name"] for f in job.files}:
        raise ApiError(404, "no such export file")
    media = "application/gzip" if name.endswith(".gz") else get_format(job.format).content_type
    return FileResponse(svc.export_dir / name, media_type=media, filename=name)


def _visible(job: ExportJobRecord, caller: Caller) -> bool:
    return caller.scope.sees(job.tenant, job.tenants)


def _job_wire(request: Request, job: ExportJobRecord, expiry: timedelta | None) -> dict[str, Any]:
    files = []
    now = utcnow()
    for f in job.files:
        entry = dict(f)
        if expiry is not None:
            url, until = jobs.presign(services(request).export_key, f"{FILES_PATH}/{job.id}/{f['name']}", now, expiry)
            entry.update(url=str(request.base_url).rstrip("/") + url, expiresAt=rfc3339(until))
        files.append(entry)
    return {
        "id": job.id,
        "status": job.status,
        "format": job.format,
        "compression": job.compression,
        "tenant": job.tenant,
        "from": rfc3339(job.occurred_from),
        "to": rfc3339(job.occurred_to),
        "records": job.records,
        "files": files,
        "error": job.error,
        "createdAt": rfc3339(job.created_at) if job.created_at else None,
        "startedAt": rfc3339(job.started_at) if job.started_at else None,
        "finishedAt": rfc3339(job.finished_at) if job.finished_at else None,
    }
