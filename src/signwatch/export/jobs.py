"""Export (design §2 export/jobs): export jobs — files of an event-time range, and signed, expiring URLs.

A job is queued by the API, claimed by the one exporter of the installation (lease `exporter`), and
streamed to a file in `export_dir` batch by batch (memory stays flat whatever the export's size), hashed
(SHA-256) as it is written, optionally gzip-compressed. Its download URL is presigned: an HMAC over the
method, path and expiry (like S3's presigned URLs), so a SIEM can fetch it without a bearer token; a
tampered or foreign signature is refused (403), an expired one too (410).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from signwatch.export.formats import get_format
from signwatch.store import Scope, Store
from signwatch.store.base import ExportJobRecord

log = logging.getLogger(__name__)
DEFAULT_EXPIRY = timedelta(hours=1)
MAX_EXPIRY = timedelta(days=7)
COMPRESSIONS = ("gzip", "none")
_EXTENSIONS = {"json": "ndjson", "ndjson": "ndjson", "csv": "csv", "ocsf": "ocsf.ndjson", "ecs": "ecs.ndjson"}


class BadSignature(Exception):
    """The URL's signature does not match (tampered, or signed by another installation): 403."""


class Expired(Exception):
    """The URL's expiry has passed: 410."""


def new_job_id() -> str:
    return "xj_" + secrets.token_hex(10)


def file_name(job: ExportJobRecord) -> str:
    ext = _EXTENSIONS.get(job.format, job.format)
    return f"{job.id}.{ext}" + (".gz" if job.compression == "gzip" else "")


def sign(key: bytes, method: str, path: str, expires: int) -> str:
    return hmac.new(key, f"{method.upper()}\n{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def presign(key: bytes, path: str, now: datetime, expires_in: timedelta = DEFAULT_EXPIRY) -> tuple[str, datetime]:
    """`path?expires=…&signature=…` valid until the returned time."""
    if not timedelta(0) < expires_in <= MAX_EXPIRY:
        raise ValueError(f"expiry must be between 1 second and {MAX_EXPIRY.days} days")
    until = int((now + expires_in).timestamp())
    return f"{path}?expires={until}&signature={sign(key, 'GET', path, until)}", datetime.fromtimestamp(
        until, now.tzinfo
    )


def check(key: bytes, method: str, path: str, expires: str | None, signature: str | None, now: datetime) -> None:
    """Raise BadSignature or Expired unless the presigned URL is valid now. The signature is checked first (in
    constant time), so an expired URL says so only to someone who holds a genuine one."""
    if not expires or not signature or not expires.isdigit():
        raise BadSignature("missing or malformed signature")
    if not hmac.compare_digest(sign(key, method, path, int(expires)), signature):
        raise BadSignature("the signature does not match")
    if int(expires) <= now.timestamp():
        raise Expired("the link has expired")


@dataclass(frozen=True, slots=True)
class Written:
    name: str
    bytes: int
    sha256: str
    records: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256, "records": self.records}


class _Hashing:
    """A binary sink that counts and hashes what goes through it to the file underneath."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def run_job(store: Store, job: ExportJobRecord, directory: Path) -> Written:
    """Write the job's file (one record per line) and return what was written; raises on failure."""
    fmt = get_format(job.format)
    directory.mkdir(parents=True, exist_ok=True)
    name = file_name(job)
    partial = directory / f".{name}.partial"
    records = 0
    with partial.open("wb") as raw:
        hashing = _Hashing(raw)
        out: Any = gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) if job.compression == "gzip" else hashing
        if fmt.header is not None:
            out.write(fmt.header + b"\n")
        scope = Scope(job.tenants)
        for batch in store.iter_events_by_time(scope, job.occurred_from, job.occurred_to, job.tenant):
            out.write(b"".join(fmt.record(e) + b"\n" for e in batch))
            records += len(batch)
        if out is not hashing:
            out.close()
        raw.flush()
        os.fsync(raw.fileno())
    partial.replace(directory / name)
    return Written(name, hashing.size, hashing.digest.hexdigest(), records)


class Exporter:
    """Runs queued export jobs, one at a time, in the process holding the `exporter` lease."""

    def __init__(self, store: Store, directory: Path, poll_seconds: float = 1.0) -> None:
        self.store = store
        self.directory = directory
        self.poll = poll_seconds
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while not await asyncio.to_thread(self.store.try_lease, "exporter"):
            await asyncio.sleep(5.0)
        while True:
            job = await asyncio.to_thread(self.store.claim_export_job)
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.poll)
                self.wake.clear()
                continue
            await self.execute(job)

    async def execute(self, job: ExportJobRecord) -> None:
        try:
            written = await asyncio.to_thread(run_job, self.store, job, self.directory)
        except Exception as exc:
            log.exception("export job %s failed", job.id)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            await asyncio.to_thread(self.store.finish_export_job, job.id, "failed", 0, [], reason)
            return
        await asyncio.to_thread(
            self.store.finish_export_job, job.id, "done", written.records, [written.as_dict()], None
        )
