"""Ingest: Delivery → verdict → archive → normalize → enrich → dedupe → append, by group commit.

`Ingestor.receive` is the whole path of one webhook delivery, free of HTTP: the web layer hands it the raw
bytes and turns the `Receipt` back into a response. Every delivery, refused or not, reaches the store
through `GroupCommitter`, which writes whatever has queued up in one transaction and answers each
submitter only after that commit (DESIGN.md §6).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from signwatch.crypto import SecretBox
from signwatch.events import Event, Geo, to_us, utcnow
from signwatch.metrics import Metrics
from signwatch.sources import atlas, docusign
from signwatch.sources.signatures import verify
from signwatch.store import DeliveryRecord, Store, StoreUnavailable, WriteItem, WriteOutcome

log = logging.getLogger(__name__)
ARCHIVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "user-agent",
        "x-atlas-signature",
        "atlas-account",
        "x-request-id",
        "x-forwarded-for",
        "x-real-ip",
        "x-atlas-delivery",
        "x-atlas-event",
        "x-atlas-timestamp",
    }
)
SIGNATURE_HEADER = "x-atlas-signature"
CONNECT_SIGNATURE_PREFIX = "x-docusign-signature-"


def archived(name: str) -> bool:
    """Whether a request header is kept with the raw delivery (signatures, routing, tracing)."""
    return name in ARCHIVED_HEADERS or name.startswith(CONNECT_SIGNATURE_PREFIX)


_PROCESS_TAG = secrets.token_hex(3)  # tells apart processes sharing one database
_SERIAL = itertools.count()


def new_delivery_id(at: datetime) -> str:
    """Time-ordered unique delivery id: receipt time, process tag, per-process serial."""
    return f"dlv_{to_us(at):015x}{_PROCESS_TAG}{next(_SERIAL) & 0xFFFFFFFF:08x}"


@dataclass(frozen=True, slots=True)
class Receipt:
    """The verdict on one delivery, as the web layer answers it."""

    status: int
    verdict: str
    message: str
    delivery_id: str
    event_id: str | None = None
    field: str | None = None
    retry_after: int | None = None

    @property
    def error_code(self) -> str:
        return self.verdict


class GroupCommitter:
    """Writes queued items in one transaction per round, on one writer thread; answers after the commit.

    A round takes everything queued while the previous commit ran: batches grow with load, and a lone
    request is written at once (no waiting for company).
    """

    def __init__(self, store: Store, metrics: Metrics, max_batch: int = 2000) -> None:
        self._store = store
        self._metrics = metrics
        self._max_batch = max_batch
        self._pending: list[tuple[WriteItem, asyncio.Future[WriteOutcome]]] = []
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signwatch-writer")
        self._listeners: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the event loop) after every commit that stored a new event."""
        self._listeners.append(listener)

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task = asyncio.create_task(self._run(), name="group-committer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None and self._idle is not None:
            while self._pending or not self._idle.is_set():
                await asyncio.sleep(0.005)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def submit(self, item: WriteItem) -> WriteOutcome:
        """Queue `item`; return its outcome once committed. Raises StoreUnavailable if the commit failed."""
        if self._wake is None:
            raise StoreUnavailable("the writer is not running")
        fut: asyncio.Future[WriteOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        assert self._wake is not None and self._idle is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                self._idle.clear()
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit(loop, batch)
            self._idle.set()

    async def _commit(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[WriteItem, asyncio.Future[WriteOutcome]]]
    ) -> None:
        items = [b[0] for b in batch]
        started = time.perf_counter()
        try:
            outcomes = await loop.run_in_executor(self._executor, self._store.write_batch, items)
        except Exception as exc:  # every failure to commit is answered 503, never lost silently
            self._metrics.commit_failures.inc()
            log.error("group commit of %d items failed: %s", len(items), exc)
            error = exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(str(exc))
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(error)
            return
        self._metrics.batch_size.observe(len(items))
        self._metrics.commit_seconds.observe(time.perf_counter() - started)
        for (_, fut), outcome in zip(batch, outcomes, strict=True):
            if not fut.done():
                fut.set_result(outcome)
        if "stored" in outcomes:
            for listener in self._listeners:
                listener()


class KeyRing:
    """Decrypted webhook keys per tenant (current + rotating-out), cached briefly, refreshed on a miss."""

    def __init__(self, store: Store, box: SecretBox, ttl_seconds: float = 5.0) -> None:
        self._store = store
        self._box = box
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}

    def keys(self, tenant: str, *, fresh: bool = False) -> tuple[str, ...] | None:
        """The valid keys of `tenant`, or None when the tenant does not exist."""
        now = time.monotonic()
        hit = self._cache.get(tenant)
        if hit is not None and not fresh and now - hit[0] < self._ttl:
            return hit[1] or None
        record = self._store.get_tenant(tenant)
        keys: tuple[str, ...] = ()
        if record is not None:
            keys = (self._box.decrypt(record.api_key),)
            expires = record.previous_key_expires
            if record.previous_api_key and expires is not None and expires > utcnow():
                keys += (self._box.decrypt(record.previous_api_key),)
        self._cache[tenant] = (now, keys)
        return keys or None

    def stale(self, tenant: str, min_age: float = 1.0) -> bool:
        hit = self._cache.get(tenant)
        return hit is None or time.monotonic() - hit[0] >= min_age


class Ingestor:
    """Turns raw deliveries into archived deliveries and stored events."""

    def __init__(
        self,
        committer: GroupCommitter,
        keyring: KeyRing,
        geo: Callable[[str], Geo],
        metrics: Metrics,
        *,
        archive_refused_bytes: int = 64 * 1024,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._committer = committer
        self._keyring = keyring
        self._geo = geo
        self._metrics = metrics
        self._archive_refused = archive_refused_bytes
        self._clock = clock
        self._by_verdict: dict[tuple[str, str], Any] = {}

    async def receive(
        self,
        *,
        tenant: str | None,
        path: str,
        headers: dict[str, str],
        body: bytes,
        body_size: int,
        too_large: bool = False,
        source: str = "atlas",
    ) -> Receipt:
        """Verify, parse, normalize and durably keep one delivery (Atlas, or DocuSign Connect with
        `source="docusign-connect"`); always archive it."""
        started = time.perf_counter()
        received = self._clock()
        delivery_id = new_delivery_id(received)
        if source == "atlas":
            signature = headers.get(SIGNATURE_HEADER)
            receipt, event = self._judge(delivery_id, received, signature, tenant, body, too_large)
        else:
            signature = ",".join(v for k, v in sorted(headers.items()) if k.startswith(CONNECT_SIGNATURE_PREFIX))
            receipt, event = self._judge_connect(delivery_id, received, headers, tenant, body, too_large)
        kept = {k: v for k, v in headers.items() if archived(k)}
        if event is None:
            refused = body[: self._archive_refused]
            delivery = DeliveryRecord(
                delivery_id,
                received,
                tenant if receipt.verdict != "unknown_tenant" else None,
                source,
                path,
                kept,
                signature,
                refused,
                body_size,
                len(refused) < body_size,
                receipt.verdict,  # type: ignore[arg-type]
                receipt.status,
                receipt.message,
            )
        else:
            delivery = DeliveryRecord(delivery_id, received, tenant, source, path, kept, signature, body, body_size)
        try:
            outcome = await self._committer.submit(WriteItem(delivery=delivery, event=event))
        except StoreUnavailable:
            receipt = Receipt(503, "unavailable", "the store cannot commit; retry later", delivery_id, retry_after=5)
        else:
            if outcome == "stored":
                receipt = Receipt(202, "stored", "stored", delivery_id, event_id=event.id if event else None)
            elif outcome == "duplicate":
                receipt = Receipt(200, "duplicate", "already stored", delivery_id, event_id=event.id if event else None)
        counter = self._by_verdict.get((source, receipt.verdict))
        if counter is None:
            counter = self._metrics.deliveries.labels(source, receipt.verdict)
            self._by_verdict[(source, receipt.verdict)] = counter
        counter.inc()
        self._metrics.ingest_latency.observe(time.perf_counter() - started)
        return receipt

    def _judge(
        self, did: str, received: datetime, signature: str | None, tenant: str | None, body: bytes, too_large: bool
    ) -> tuple[Receipt, Event | None]:
        if too_large:
            return Receipt(413, "too_large", "the body exceeds the size limit", did, field="body"), None
        if not tenant:
            return Receipt(
                401,
                "unknown_tenant",
                "no tenant: use /webhooks/atlas/{tenant} or Atlas-Account",
                did,
                field="tenant",
            ), None
        keys = self._keyring.keys(tenant)
        if keys is None and self._keyring.stale(tenant):
            keys = self._keyring.keys(tenant, fresh=True)
        if keys is None:
            return Receipt(401, "unknown_tenant", "unknown tenant", did, field="tenant"), None
        if not signature:
            return Receipt(401, "bad_signature", "missing X-Atlas-Signature", did, field="X-Atlas-Signature"), None
        ok = verify(body, signature, keys)
        if not ok and self._keyring.stale(tenant):
            ok = verify(body, signature, self._keyring.keys(tenant, fresh=True) or ())
        if not ok:
            return Receipt(
                401, "bad_signature", "signature does not match the body", did, field="X-Atlas-Signature"
            ), None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return Receipt(400, "bad_json", "the body is not JSON", did, field="body"), None
        try:
            event = atlas.parse_event(payload, tenant=tenant, received_at=received, geo=self._geo, delivery_id=did)
        except atlas.PayloadError as exc:
            return Receipt(400, "invalid", str(exc), did, field=exc.field), None
        return Receipt(202, "stored", "stored", did, event_id=event.id), event

    def _judge_connect(
        self, did: str, received: datetime, headers: dict[str, str], tenant: str | None, body: bytes, too_large: bool
    ) -> tuple[Receipt, Event | None]:
        """DocuSign Connect: any X-DocuSign-Signature-N matching any of the tenant's keys (docs/docusign.md)."""
        if too_large:
            return Receipt(413, "too_large", "the body exceeds the size limit", did, field="body"), None
        keys = self._keyring.keys(tenant, fresh=self._keyring.stale(tenant)) if tenant else None
        if keys is None:
            return Receipt(401, "unknown_tenant", "unknown tenant", did, field="tenant"), None
        field = "X-DocuSign-Signature-1"
        if not any(k.startswith(CONNECT_SIGNATURE_PREFIX) for k in headers):
            return Receipt(401, "bad_signature", "missing X-DocuSign-Signature-1", did, field=field), None
        if not docusign.verify_connect(body, headers, keys):
            return Receipt(401, "bad_signature", "no signature matches the body", did, field=field), None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return Receipt(400, "bad_json", "the body is not JSON", did, field="body"), None
        try:
            event = docusign.parse_connect(
                payload, tenant=tenant or "", received_at=received, geo=self._geo, delivery_id=did
            )
        except atlas.PayloadError as exc:
            return Receipt(400, "invalid", str(exc), did, field=exc.field), None
        return Receipt(202, "stored", "stored", did, event_id=event.id), event


# -- replay ------------------------------------------------------------------------------------------------
@dataclass
class ReplayReport:
    deliveries: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    truncated: int = 0


REPLAYABLE = frozenset({"stored", "duplicate", "bad_json", "invalid", "bad_signature", "unknown_tenant"})


def replay(
    store: Store,
    keyring: KeyRing,
    geo: Callable[[str], Geo],
    received_from: datetime,
    received_to: datetime,
    tenant: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Re-run archived deliveries through verification and normalization, idempotently.

    Deliveries refused at the time (bad JSON, bad signature, unknown tenant) are judged again with today's
    keys and code; events already stored are re-normalized in place (same id and seq); new ones appended.
    """
    report = ReplayReport()
    with _gc_paused():
        for batch in store.iter_deliveries(received_from, received_to, tenant):
            _replay_batch(store, keyring, geo, batch, report)
            if progress is not None:
                progress(len(batch))
    return report


def _replay_batch(
    store: Store, keyring: KeyRing, geo: Callable[[str], Geo], batch: list[DeliveryRecord], report: ReplayReport
) -> None:
    report.deliveries += len(batch)
    keys_of: dict[str, tuple[str, ...] | None] = {}  # the keyring once per tenant and batch, not per delivery
    events: list[Event] = []
    for d in batch:
        if d.verdict not in REPLAYABLE or d.body_truncated:
            report.truncated += d.body_truncated
            report.refused += 1
            continue
        slug = d.tenant or _claimed_tenant(d)
        if not slug:
            report.refused += 1
            continue
        keys = keys_of[slug] if slug in keys_of else keys_of.setdefault(slug, keyring.keys(slug))
        event = _renormalize(d, slug, keys, geo) if keys is not None else None
        if event is None:
            report.refused += 1
        else:
            events.append(event)
    inserted, updated, unchanged = store.apply_replay(events)
    report.inserted += inserted
    report.updated += updated
    report.unchanged += unchanged


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No automatic cyclic collection during a bulk run. Its objects are freed by reference counting; what
    a full collection adds is a walk over every object of the process, the geo database's large lists among
    them, again and again as batches come and go: 7-10 % of a replay's CPU (bench/bulk.py, 100,000)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _renormalize(d: DeliveryRecord, slug: str, keys: tuple[str, ...], geo: Callable[[str], Geo]) -> Event | None:
    """One archived delivery judged again with today's keys and code: its event, or None if still refused."""
    if d.source == "docusign-connect":
        if not docusign.verify_connect(d.body, d.headers, keys):
            return None
        parse = docusign.parse_connect
    else:
        if not verify(d.body, d.signature, keys):
            return None
        parse = atlas.parse_event
    try:
        return parse(orjson.loads(d.body), tenant=slug, received_at=d.received_at, geo=geo, delivery_id=d.id)
    except (orjson.JSONDecodeError, atlas.PayloadError):
        return None


def _claimed_tenant(d: DeliveryRecord) -> str | None:
    claimed = d.headers.get("atlas-account")
    if claimed:
        return claimed
    prefix = "/webhooks/atlas/"
    return d.path[len(prefix) :] if d.path.startswith(prefix) else None


__all__ = ["GroupCommitter", "Ingestor", "KeyRing", "Receipt", "ReplayReport", "replay"]
