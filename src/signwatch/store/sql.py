"""The SQL store: one implementation of `Store` for SQLite (WAL, one writer) and PostgreSQL.

Writes go through `write_batch`, one transaction per group commit. On PostgreSQL every writing transaction
first takes one advisory lock, so sequence numbers are handed out in commit order: whatever `seq` a reader
can see, every lower one is already visible, which is the safe watermark cursors rely on (DESIGN.md §5).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from signwatch.events import (
    ONCE_PER_ENVELOPE,
    Actor,
    EnvelopeState,
    Event,
    Geo,
    advance,
    from_us,
    to_us,
    transition_id,
    utcnow,
)
from signwatch.store import schema as t
from signwatch.store.alerts_sql import AlertSql
from signwatch.store.audit_sql import AuditSql
from signwatch.store.base import (
    AlreadyExists,
    DeliveryRecord,
    EventFilter,
    EventPage,
    NotFound,
    Scope,
    StoreUnavailable,
    TenantRecord,
    WriteItem,
    WriteOutcome,
)
from signwatch.store.exports_sql import ExportSql
from signwatch.store.identity_sql import IdentitySql
from signwatch.store.insights_sql import InsightSql
from signwatch.store.principals_sql import PrincipalSql
from signwatch.store.replay_sql import ReplaySql
from signwatch.store.rollups_sql import RollupSql

LEASE_SPACE = 0x5157  # pg_try_advisory_lock(space, key) namespace of process leases
WRITER_LOCK_KEY = 0x5157_0001  # pg_advisory_xact_lock key serialising writers (see module docstring)
_CHUNK = 500  # ids per IN (...) list


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _chunks(seq: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class _Insert:
    """One table's INSERT as driver SQL, run with executemany over positional rows.

    Measured against one multi-row INSERT per batch: executemany was faster (2.5 against 3.0 ms for a
    25-event commit alone, and faster in the server too), so it stays.
    """

    def __init__(self, table: Any, mark: str, skip: tuple[str, ...] = (), suffix: str = "") -> None:
        self.columns = [c.name for c in table.columns if c.name not in skip]
        marks = ", ".join([mark] * len(self.columns))
        self.sql = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES ({marks}){suffix}"

    def execute(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Rows built by the `_*_row` functions, whose keys follow the table's column order (tested)."""
        conn.exec_driver_sql(self.sql, [tuple(r.values()) for r in rows])

    def execute_values(self, conn: Connection, values: list[tuple[Any, ...]]) -> None:
        """Rows already as tuples in `columns` order (the `_*_values` functions): no dict per row."""
        conn.exec_driver_sql(self.sql, values)


class _HotSql:
    """The write path's statements as driver SQL, built once per dialect: no per-batch compile or caching."""

    def __init__(self, dialect: str) -> None:
        self.mark = "?" if dialect == "sqlite" else "%s"
        self.insert_delivery = _Insert(t.deliveries, self.mark)
        self.insert_event = _Insert(t.events, self.mark, skip=("seq",))
        env_cols = [c.name for c in t.envelopes.columns]
        self.envelope_cols = env_cols
        updates = ", ".join(f"{c} = excluded.{c}" for c in env_cols if c not in ("tenant", "envelope_id"))
        self.upsert_envelope = _Insert(
            t.envelopes, self.mark, suffix=f" ON CONFLICT (tenant, envelope_id) DO UPDATE SET {updates}"
        )

        self.token_cols = [c.name for c in t.tokens.columns]
        self.token_by_hash = f"SELECT {', '.join(self.token_cols)} FROM tokens WHERE token_hash = {self.mark}"

    def marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)


def _by_tenant(events: Sequence[Event]) -> dict[str, list[str]]:
    """Distinct envelope ids per tenant, sorted."""
    out: dict[str, set[str]] = {}
    for e in events:
        out.setdefault(e.tenant, set()).add(e.envelope_id)
    return {tenant: sorted(ids) for tenant, ids in out.items()}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlStore(RollupSql, AlertSql, ExportSql, AuditSql, IdentitySql, PrincipalSql, ReplaySql, InsightSql):
    """`Store` over SQLAlchemy Core. Thread-safe; on SQLite all writes are serialised by one lock."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.dialect = "postgresql" if self.url.startswith("postgresql") else "sqlite"
        self._write_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._leases: dict[str, Any] = {}
        self._closed = False
        if self.dialect == "sqlite":
            self.engine: Engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            database = self.engine.url.database
            if database and database != ":memory:":
                lock_path = Path(database).resolve().with_name(Path(database).name + ".writer.lock")
                self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        else:
            self.engine = create_engine(self.url, pool_size=8, max_overflow=8, pool_pre_ping=True)
        self._insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        self._sql = _HotSql(self.dialect)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def upgrade(self) -> None:
        from signwatch.store.migrate import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        self._closed = True
        self._release_leases()
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One writing transaction: BEGIN IMMEDIATE on SQLite, the writers' advisory lock on PostgreSQL.

        On SQLite, writers of every process first take an exclusive lock on `<db>.writer.lock`: a waiting
        writer wakes the moment the previous one commits, where SQLite's own busy handler would sleep and
        poll (up to 100 ms at a time: the tail latency of several `serve` workers on one file).
        """
        with self._write_lock, self._file_lock(), self.engine.connect() as conn:
            conn.info["writing"] = True
            try:
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")
                    yield conn
            finally:
                conn.info["writing"] = False

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # -- leases ----------------------------------------------------------------------------------------------
    def try_lease(self, name: str) -> bool:
        """Become the one process running `name` (the rules engine, the notifier) until `close`.

        PostgreSQL: a session advisory lock on a connection kept for the purpose; SQLite: an exclusive,
        non-blocking lock on `<db>.<name>.lock`. Either is released when the process dies.
        """
        if self._closed:
            return False
        if name in self._leases:
            return True
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
        if self.dialect == "postgresql":
            conn = self.engine.connect()
            got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LEASE_SPACE}, {key - 2**31})").scalar())
            conn.commit()
            if not got:
                conn.close()
                return False
            self._leases[name] = conn
            return True
        database = self.engine.url.database
        if not database or database == ":memory:":
            self._leases[name] = None
            return True
        path = Path(database).resolve().with_name(f"{Path(database).name}.{name}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._leases[name] = fd
        return True

    def release_lease(self, name: str) -> None:
        """Give up `name` (a stopping `serve` hands the engine over at once, without waiting to exit)."""
        held = self._leases.pop(name, None)
        if isinstance(held, int):
            os.close(held)
        elif held is not None:
            held.exec_driver_sql("SELECT pg_advisory_unlock_all()")
            held.commit()
            held.close()

    def _release_leases(self) -> None:
        for name in list(self._leases):
            self.release_lease(name)

    # -- tenants -----------------------------------------------------------------------------------------
    def add_tenant(self, record: TenantRecord) -> None:
        try:
            with self._writing() as conn:
                conn.execute(
                    insert(t.tenants).values(
                        slug=record.slug,
                        timezone=record.timezone,
                        business_hours=_dumps(record.business_hours),
                        api_key=record.api_key,
                        previous_api_key=record.previous_api_key,
                        previous_key_expires_us=_us(record.previous_key_expires),
                        created_us=to_us(record.created_at),
                    )
                )
        except IntegrityError as exc:
            raise AlreadyExists(record.slug) from exc

    def get_tenant(self, slug: str) -> TenantRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.tenants).where(t.tenants.c.slug == slug)).first()
        return _tenant(row) if row else None

    def list_tenants(self) -> list[TenantRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.tenants).order_by(t.tenants.c.slug)).all()
        return [_tenant(r) for r in rows]

    def set_tenant_keys(
        self, slug: str, api_key: str, previous_api_key: str | None, previous_key_expires: datetime | None
    ) -> None:
        with self._writing() as conn:
            conn.execute(
                update(t.tenants)
                .where(t.tenants.c.slug == slug)
                .values(
                    api_key=api_key,
                    previous_api_key=previous_api_key,
                    previous_key_expires_us=_us(previous_key_expires),
                )
            )

    def set_tenant_calendar(self, slug: str, timezone: str, business_hours: dict[str, object]) -> None:
        with self._writing() as conn:
            done = conn.execute(
                update(t.tenants)
                .where(t.tenants.c.slug == slug)
                .values(timezone=timezone, business_hours=_dumps(business_hours))
            ).rowcount
            if not done:
                raise NotFound(slug)

    # -- the write path ----------------------------------------------------------------------------------
    def write_batch(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Archive every delivery and append every new event of `items` in one transaction.

        Returns, per item, whether its event was stored, was a duplicate, or there was none (archived).
        Raises StoreUnavailable when the commit fails: nothing of the batch is kept then.
        """
        try:
            with self._writing() as conn:
                return self._write(conn, items)
        except (OperationalError, IntegrityError, SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc

    def _write(self, conn: Connection, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        now_us = to_us(utcnow())
        candidates = [it.event for it in items if it.event is not None]
        # A hook's once-per-envelope event is also a duplicate of the poller's view of it (the transition id).
        # A polled event is checked by (tenant, envelope, type) instead, which covers that id too.
        alts = {
            e.id: transition_id(e.tenant, "atlas", e.envelope_id, e.type)
            for e in candidates
            if e.source != "poll" and e.type in ONCE_PER_ENVELOPE
        }
        existing = self._existing_ids(conn, [*(e.id for e in candidates), *alts.values()])
        polled = [e for e in candidates if e.source == "poll"]
        seen_transitions = self._existing_transitions(conn, polled) if polled else set()
        outcomes: list[WriteOutcome] = []
        fresh: list[Event] = []
        delivery_values: list[tuple[Any, ...]] = []
        for item in items:
            ev = item.event
            outcome: WriteOutcome = "archived"
            if ev is not None:
                if ev.source == "poll":
                    transition = (ev.tenant, ev.envelope_id, ev.type)
                    is_dup = ev.id in existing or transition in seen_transitions
                    if not is_dup:
                        seen_transitions.add(transition)
                else:
                    alt = alts.get(ev.id)
                    is_dup = ev.id in existing or (alt is not None and alt in existing)
                if is_dup:
                    outcome = "duplicate"
                else:
                    outcome = "stored"
                    existing.add(ev.id)
                    fresh.append(ev)
            outcomes.append(outcome)
            if item.delivery is not None:
                delivery_values.append(_delivery_values(item.delivery, outcome, ev))
        if delivery_values:
            self._sql.insert_delivery.execute_values(conn, delivery_values)
        if fresh:
            self._sql.insert_event.execute_values(conn, [_event_values(e, now_us) for e in fresh])
            self._advance_envelopes(conn, fresh)
        for item in items:
            if item.position is not None:
                self._put_position(conn, *item.position, now_us)
        return outcomes

    def _write_events(self, conn: Connection, events: Sequence[Event], now_us: int) -> None:
        """Append events produced by signwatch itself (alert.*), skipping ids already stored."""
        existing = self._existing_ids(conn, [e.id for e in events])
        fresh = [e for e in events if e.id not in existing]
        if fresh:
            self._sql.insert_event.execute(conn, [_event_row(e, now_us) for e in fresh])

    def _existing_ids(self, conn: Connection, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are stored events."""
        unique = sorted(set(ids))
        found: set[str] = set()
        for chunk in _chunks(unique):
            sql = f"SELECT id FROM events WHERE id IN ({self._sql.marks(len(chunk))})"
            found.update(r[0] for r in conn.exec_driver_sql(sql, tuple(chunk)))
        return found

    def _existing_transitions(self, conn: Connection, events: Sequence[Event]) -> set[tuple[str, str, str]]:
        """(tenant, envelope, type) already recorded from any source: what a poller must not add again."""
        found: set[tuple[str, str, str]] = set()
        for tenant, envelope_ids in _by_tenant(events).items():  # (tenant = ? AND envelope_id IN …): an index
            for chunk in _chunks(envelope_ids):
                sql = (
                    f"SELECT tenant, envelope_id, type FROM events WHERE tenant = {self._sql.mark} "
                    f"AND envelope_id IN ({self._sql.marks(len(chunk))})"
                )
                found.update((r[0], r[1], r[2]) for r in conn.exec_driver_sql(sql, (tenant, *chunk)))
        return found

    def _advance_envelopes(self, conn: Connection, events: Sequence[Event]) -> None:
        """Move each envelope's state through its lifecycle events of the batch, in event time, and write the
        envelopes whose state changed: one row per envelope, however many of its events the batch holds."""
        by_envelope: dict[tuple[str, str], list[Event]] = {}
        for e in events:
            if e.type.startswith("envelope."):
                by_envelope.setdefault((e.tenant, e.envelope_id), []).append(e)
        if not by_envelope:
            return
        stored: dict[tuple[str, str], Any] = {}
        cols = ", ".join(self._sql.envelope_cols)
        tenants: dict[str, list[str]] = {}
        for tenant, envelope_id in by_envelope:
            tenants.setdefault(tenant, []).append(envelope_id)
        for tenant, envelope_ids in tenants.items():  # (tenant = ? AND id IN …) uses the key
            for chunk in _chunks(sorted(envelope_ids)):
                sql = (
                    f"SELECT {cols} FROM envelopes WHERE tenant = {self._sql.mark} "
                    f"AND envelope_id IN ({self._sql.marks(len(chunk))})"
                )
                for found in conn.exec_driver_sql(sql, (tenant, *chunk)):
                    stored[(found.tenant, found.envelope_id)] = found
        changed: list[tuple[Any, ...]] = []
        for key, lifecycle in by_envelope.items():
            row = stored.get(key)
            state = _envelope(row) if row is not None else None
            if len(lifecycle) > 1:
                lifecycle.sort(key=lambda e: e.occurred_at)  # stable: arrival order among equal times
            for ev in lifecycle:
                new = advance(state, ev)
                if new is not None:
                    state = new
            if state is not None:
                values = _envelope_values(state)
                if row is None or values != tuple(row):
                    changed.append(values)
        if changed:
            self._sql.upsert_envelope.execute_values(conn, changed)

    # -- reads -------------------------------------------------------------------------------------------
    def high_water(self, conn: Connection) -> int:
        return int(conn.execute(select(func.coalesce(func.max(t.events.c.seq), 0))).scalar_one())

    def log_end(self) -> int:
        """The highest sequence number committed: where a reader that has seen everything stands."""
        with self.engine.connect() as conn:
            return self.high_water(conn)

    def read_events(self, scope: Scope, after_seq: int, limit: int, flt: EventFilter) -> EventPage:
        """Events after `after_seq` in ingestion order, at most `limit`, within `scope` and `flt`.

        When the page is not full, `last_seq` advances to the high-water mark read first, so a filtered
        cursor never rescans what it has passed and an empty page still moves on.
        """
        c = t.events.c
        with self.engine.connect() as conn:
            hw = self.high_water(conn)
            q = select(t.events).where(c.seq > after_seq, c.seq <= hw)
            q = q.where(*_filters(scope, flt)).order_by(c.seq).limit(limit + 1)
            rows = conn.execute(q).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        events = [_event(r) for r in rows]
        last = rows[-1].seq if has_more else max(hw, after_seq)
        return EventPage(events=events, last_seq=int(last), has_more=has_more)

    def get_events_by_id(self, scope: Scope, ids: Sequence[str]) -> list[Event]:
        out: list[Event] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                q = select(t.events).where(t.events.c.id.in_(chunk), *_filters(scope, EventFilter()))
                out.extend(_event(r) for r in conn.execute(q.order_by(t.events.c.seq)))
        return out

    def event_counts(self, scope: Scope) -> dict[tuple[str, str], int]:
        c = t.events.c
        q = select(c.tenant, c.type, func.count()).where(*_filters(scope, EventFilter()))
        with self.engine.connect() as conn:
            rows = conn.execute(q.group_by(c.tenant, c.type)).all()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def get_envelope(self, scope: Scope, tenant: str, envelope_id: str) -> EnvelopeState | None:
        if not scope.allows(tenant):
            return None
        c = t.envelopes.c
        with self.engine.connect() as conn:
            row = conn.execute(select(t.envelopes).where(c.tenant == tenant, c.envelope_id == envelope_id)).first()
        return _envelope(row) if row else None

    def get_envelope_statuses(self, scope: Scope, tenant: str, envelope_ids: Sequence[str]) -> dict[str, str]:
        """Current status of each known envelope among `envelope_ids` (what a poller compares against)."""
        if not scope.allows(tenant):
            return {}
        c = t.envelopes.c
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(envelope_ids)):
                q = select(c.envelope_id, c.status).where(c.tenant == tenant, c.envelope_id.in_(chunk))
                out.update((r[0], r[1]) for r in conn.execute(q))
        return out

    # -- positions and meta ------------------------------------------------------------------------------
    def get_position(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.positions.c.value).where(t.positions.c.name == name)).scalar()

    def set_position(self, name: str, value: str) -> None:
        with self._writing() as conn:
            self._put_position(conn, name, value, to_us(utcnow()))

    def _put_position(self, conn: Connection, name: str, value: str, now_us: int) -> None:
        stmt = self._insert(t.positions).values(name=name, value=value, updated_us=now_us)
        conn.execute(
            stmt.on_conflict_do_update(index_elements=[t.positions.c.name], set_={"value": value, "updated_us": now_us})
        )

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta_default(self, key: str, value: str) -> str:
        """Set `key` unless it is set already; return the value in force."""
        with self._writing() as conn:
            stmt = self._insert(t.meta).values(key=key, value=value).on_conflict_do_nothing()
            conn.execute(stmt)
            return str(conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar_one())

    def purge_all_for_tests(self) -> None:
        """Empty every table (test fixtures on a shared PostgreSQL database)."""
        with self._writing() as conn:
            for table in reversed(t.metadata.sorted_tables):
                conn.execute(delete(table))


# -- row <-> record --------------------------------------------------------------------------------------
def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's `begin` listener issues BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # an acknowledgement survives power loss, not just kill -9
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("writing") else "BEGIN")


def _us(at: datetime | None) -> int | None:
    return None if at is None else to_us(at)


def _at(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _filters(scope: Scope, flt: EventFilter) -> list[Any]:
    c = t.events.c
    out: list[Any] = []
    if scope.tenants is not None:
        out.append(c.tenant.in_(sorted(scope.tenants)))
    if flt.tenants:
        out.append(c.tenant.in_(flt.tenants))
    if flt.occurred_from is not None:
        out.append(c.occurred_us >= to_us(flt.occurred_from))
    if flt.occurred_to is not None:
        out.append(c.occurred_us < to_us(flt.occurred_to))
    if flt.types:
        out.append(c.type.in_(flt.types))
    if flt.actor:
        out.append(or_(c.actor_id == flt.actor, c.actor_email == flt.actor))
    return out


def _tenant(row: Any) -> TenantRecord:
    return TenantRecord(
        slug=row.slug,
        timezone=row.timezone,
        business_hours=json.loads(row.business_hours),
        api_key=row.api_key,
        previous_api_key=row.previous_api_key,
        previous_key_expires=_at(row.previous_key_expires_us),
        created_at=from_us(row.created_us),
    )


def _delivery_values(d: DeliveryRecord, outcome: WriteOutcome, ev: Event | None) -> tuple[Any, ...]:
    """A delivery as the deliveries INSERT's values, in the table's column order (tested)."""
    return (
        d.id,
        to_us(d.received_at),
        d.tenant,
        d.source,
        d.path,
        _dumps(d.headers),
        d.signature,
        d.body,
        d.body_size,
        d.body_truncated,
        d.verdict if outcome == "archived" else outcome,
        _STATUS_OF_OUTCOME.get(outcome, d.status_code),
        d.reason,
        ev.id if ev is not None else None,
    )


def _delivery_row(d: DeliveryRecord, outcome: WriteOutcome, ev: Event | None) -> dict[str, Any]:
    return dict(zip(_DELIVERY_COLUMNS, _delivery_values(d, outcome, ev), strict=True))


_STATUS_OF_OUTCOME = {"stored": 202, "duplicate": 200}
_DELIVERY_COLUMNS = tuple(c.name for c in t.deliveries.columns)


def _delivery(row: Any) -> DeliveryRecord:
    """A deliveries row (all columns, in the table's order) as a record, unpacked by position (replay reads
    every archived delivery through here)."""
    (
        id_, received_us, tenant, source, path, headers, signature, body, body_size, body_truncated, verdict,
        status_code, reason, event_id,
    ) = row  # fmt: skip
    return DeliveryRecord(
        id=id_,
        received_at=from_us(received_us),
        tenant=tenant,
        source=source,
        path=path,
        headers=orjson.loads(headers),
        signature=signature,
        body=bytes(body),
        body_size=body_size,
        body_truncated=bool(body_truncated),
        verdict=verdict,
        status_code=status_code,
        reason=reason,
        event_id=event_id,
    )


def _event_values(e: Event, ingested_us: int) -> tuple[Any, ...]:
    """An event as the events INSERT's values: `_EVENT_COLUMNS` without `seq`, in that order (tested)."""
    actor, geo = e.actor, e.geo
    return (
        e.id,
        e.tenant,
        e.source,
        e.type,
        to_us(e.occurred_at),
        ingested_us,
        e.envelope_id,
        actor.id,
        actor.email,
        e.ip_address,
        geo.country,
        geo.asn,
        geo.network,
        geo.city,
        e.user_agent,
        e.client_reference_id,
        e.business_unit,
        _dumps(e.attributes),
        e.delivery_id,
    )


def _event_row(e: Event, ingested_us: int) -> dict[str, Any]:
    return dict(zip(_EVENT_COLUMNS[1:], _event_values(e, ingested_us), strict=True))


def _event(row: Any) -> Event:
    """An events row (all columns, in the table's order: `_EVENT_COLUMNS`, tested) as an Event. Unpacked by
    position: by name costs twice as much, on the path every export and data page takes."""
    (
        seq, id_, tenant, source, type_, occurred_us, ingested_us, envelope_id, actor_id, actor_email,
        ip_address, country, asn, network, city, user_agent, client_reference_id, business_unit, attributes,
        delivery_id,
    ) = row  # fmt: skip
    return Event(
        id=id_,
        seq=seq,
        tenant=tenant,
        source=source,
        type=type_,
        occurred_at=from_us(occurred_us),
        ingested_at=from_us(ingested_us),
        envelope_id=envelope_id,
        actor=Actor(actor_id, actor_email),
        ip_address=ip_address,
        geo=Geo(country, asn, network, city),
        user_agent=user_agent,
        client_reference_id=client_reference_id,
        business_unit=business_unit,
        attributes=orjson.loads(attributes),
        delivery_id=delivery_id,
    )


_EVENT_COLUMNS = (
    "seq", "id", "tenant", "source", "type", "occurred_us", "ingested_us", "envelope_id", "actor_id", "actor_email",
    "ip_address", "country", "asn", "network", "city", "user_agent", "client_reference_id", "business_unit",
    "attributes", "delivery_id",
)  # fmt: skip


def _envelope(row: Any) -> EnvelopeState:
    return EnvelopeState(
        tenant=row.tenant,
        envelope_id=row.envelope_id,
        status=row.status,
        sent_at=_at(row.sent_us),
        completed_at=_at(row.completed_us),
        last_event_at=_at(row.last_event_us),
        sender_id=row.sender_id,
        sender_email=row.sender_email,
        business_unit=row.business_unit,
    )


def _envelope_values(s: EnvelopeState) -> tuple[Any, ...]:
    """An envelope state as the envelopes upsert's values, in the table's column order (tested)."""
    return (
        s.tenant,
        s.envelope_id,
        s.status,
        _us(s.sent_at),
        _us(s.completed_at),
        _us(s.last_event_at),
        s.sender_id,
        s.sender_email,
        s.business_unit,
    )


def _envelope_row(s: EnvelopeState) -> dict[str, Any]:
    return dict(zip(_ENVELOPE_COLUMNS, _envelope_values(s), strict=True))


_ENVELOPE_COLUMNS = tuple(c.name for c in t.envelopes.columns)
