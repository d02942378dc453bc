"""The SQL store's hand-over records (design §2 export/): export jobs, forwarder checkpoints, events read
back by event time for jobs (keyset over (occurred_us, seq), so memory stays flat in an export's size), and
export pages rendered as JSON by the database itself.

`read_event_lines` is the export's hot path: the database writes each event's wire JSON (`Event.to_wire()`
as orjson writes it, byte for byte: same keys in the same order, RFC 3339 times as `rfc3339` writes them,
`attributes` embedded as stored, which is orjson's own output) and joins the page into one string, so no row
becomes a Python object. `tests/export/test_rendered_lines.py` holds both backends to the Python encoder.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    String,
    and_,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from signwatch.events import Event, from_us, to_us
from signwatch.store import schema as t
from signwatch.store.base import EventFilter, ExportJobRecord, ForwarderRecord, Scope


@dataclass(frozen=True, slots=True)
class LinePlan:
    """A page of `read_events` before it is rendered: how many rows, the cursor after it (as in `EventPage`),
    and its seq range cut into `parts` for `render_event_lines`, each (after, upto): the page's rows with
    after < seq <= upto. The cuts are even in seq, not in rows: a filter can leave more rows in one part."""

    count: int
    last_seq: int  # the position to resume after (cursor)
    has_more: bool
    parts: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class LinePage:
    """A page of events as wire JSON rendered by the database: `body` is the records joined by the separator
    asked for (no separator after the last one), `count` of them; the cursor fields as in `EventPage`."""

    body: bytes
    count: int
    last_seq: int
    has_more: bool


class ExportSql:
    """Mixin for SqlStore (which provides `engine` and `_writing`)."""

    engine: Any

    # -- export jobs -------------------------------------------------------------------------------------------
    def put_export_job(self, record: ExportJobRecord) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                insert(t.export_jobs).values(
                    id=record.id,
                    tenants=None if record.tenants is None else json.dumps(sorted(record.tenants)),
                    tenant=record.tenant,
                    format=record.format,
                    compression=record.compression,
                    from_us=to_us(record.occurred_from),
                    to_us=to_us(record.occurred_to),
                    status=record.status,
                    records=record.records,
                    files=json.dumps(record.files),
                    error=record.error,
                    created_by=record.created_by,
                    created_us=to_us(record.created_at) if record.created_at else 0,
                )
            )

    def get_export_job(self, job_id: str) -> ExportJobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.export_jobs).where(t.export_jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def list_export_jobs(self, limit: int = 100) -> list[ExportJobRecord]:
        """The newest export jobs first."""
        c = t.export_jobs.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.export_jobs).order_by(c.created_us.desc(), c.id.desc()).limit(limit)).all()
        return [_job(r) for r in rows]

    def claim_export_job(self) -> ExportJobRecord | None:
        """Take the oldest queued job (marking it running), or None."""
        c = t.export_jobs.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                select(t.export_jobs).where(c.status == "queued").order_by(c.created_us).limit(1)
            ).first()
            if row is None:
                return None
            now_us = to_us(datetime.now().astimezone())
            conn.execute(update(t.export_jobs).where(c.id == row.id).values(status="running", started_us=now_us))
        job = _job(row)
        return ExportJobRecord(**{**_fields(job), "status": "running", "started_at": from_us(now_us)})

    def finish_export_job(
        self, job_id: str, status: str, records: int, files: list[dict[str, Any]], error: str | None
    ) -> None:
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(t.export_jobs)
                .where(t.export_jobs.c.id == job_id)
                .values(
                    status=status,
                    records=records,
                    files=json.dumps(files),
                    error=error,
                    finished_us=to_us(datetime.now().astimezone()),
                )
            )

    def iter_events_by_time(
        self, scope: Scope, occurred_from: datetime, occurred_to: datetime, tenant: str | None, batch: int = 5000
    ) -> Iterator[list[Event]]:
        """Events with event time in [from, to), in (event time, seq) order, `batch` at a time."""
        from signwatch.store.sql import _event

        c = t.events.c
        lo, hi = to_us(occurred_from), to_us(occurred_to)
        after = (lo - 1, 0)
        while True:
            q = select(t.events).where(
                c.occurred_us >= lo,
                c.occurred_us < hi,
                or_(c.occurred_us > after[0], and_(c.occurred_us == after[0], c.seq > after[1])),
            )
            if scope.tenants is not None:
                q = q.where(c.tenant.in_(sorted(scope.tenants)))
            if tenant is not None:
                q = q.where(c.tenant == tenant)
            with self.engine.connect() as conn:
                rows = conn.execute(q.order_by(c.occurred_us, c.seq).limit(batch)).all()
            if not rows:
                return
            yield [_event(r) for r in rows]
            after = (rows[-1].occurred_us, rows[-1].seq)

    def plan_event_lines(self, scope: Scope, after_seq: int, limit: int, flt: EventFilter, part: int) -> LinePlan:
        """The page `read_events(scope, after_seq, limit, flt)` would answer, cut into parts of about `part`
        rows: its rows are counted in the database, none is read into Python."""
        c = t.events.c
        with self.engine.connect() as conn:
            hw = int(conn.execute(select(func.coalesce(func.max(c.seq), 0))).scalar_one())
            where = _page_filters(scope, flt, after_seq, hw)
            page = select(c.seq).where(*where).order_by(c.seq).limit(limit).subquery()
            count, last = conn.execute(select(func.count(), func.max(page.c.seq))).one()
            has_more = False
            if count == limit:
                has_more = conn.execute(select(c.seq).where(c.seq > last, *where).limit(1)).first() is not None
        if not count:
            return LinePlan(0, max(hw, after_seq), False, ())
        cuts = -(-count // part)
        bounds = [after_seq + (last - after_seq) * i // cuts for i in range(cuts)] + [last]
        parts = tuple(itertools.pairwise(bounds))
        return LinePlan(count, last if has_more else max(hw, after_seq), has_more, parts)

    def render_event_lines(self, scope: Scope, flt: EventFilter, part: tuple[int, int], separator: str = "\n") -> bytes:
        """One part of a `LinePlan`: its events' wire JSON, written and joined by `separator` in the database
        (b"" when it has no rows: a filter left none there, or retention purged them meanwhile)."""
        after, upto = part
        c = t.events.c
        lines = (
            select(c.seq, literal_column(_LINE[self.engine.dialect.name]).label("line"))
            .where(*_page_filters(scope, flt, after, upto))
            .order_by(c.seq)
            .limit(upto - after)
            .subquery()
        )
        body: ColumnElement[Any]
        if self.engine.dialect.name == "sqlite":
            # A LIMIT subquery is not flattened: SQLite runs it as a co-routine and the aggregate takes its rows in
            # its ORDER BY order (3.44 would let the order be written inside group_concat).
            body = cast(func.group_concat(lines.c.line, separator), LargeBinary)
        else:
            ordered = aggregate_order_by(literal(separator, String), lines.c.seq)
            body = func.convert_to(func.string_agg(lines.c.line, ordered), "UTF8")
        with self.engine.connect() as conn:
            text = conn.execute(select(body)).scalar()
        return bytes(text or b"")

    def read_event_lines(
        self, scope: Scope, after_seq: int, limit: int, flt: EventFilter, separator: str = "\n"
    ) -> LinePage:
        """`read_events` with each event as its wire JSON, written by the database, the page joined by
        `separator`: the same rows in the same order, the same cursor."""
        plan = self.plan_event_lines(scope, after_seq, limit, flt, limit)
        parts = [self.render_event_lines(scope, flt, part, separator) for part in plan.parts]
        body = separator.encode().join(p for p in parts if p)
        return LinePage(body, plan.count, plan.last_seq, plan.has_more)

    def seq_before(self, ingested: datetime) -> int:
        """The last sequence number ingested before `ingested`: where a time-based cursor resumes after."""
        c = t.events.c
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(c.seq)).where(c.ingested_us < to_us(ingested))).scalar()
        return int(value or 0)

    def count_events_after(self, seq: int, tenant: str | None) -> int:
        c = t.events.c
        q = select(func.count()).select_from(t.events).where(c.seq > seq)
        if tenant is not None:
            q = q.where(c.tenant == tenant)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    # -- forwarders --------------------------------------------------------------------------------------------
    def get_forwarder(self, name: str) -> ForwarderRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.forwarders).where(t.forwarders.c.name == name)).first()
        return None if row is None else _forwarder(row)

    def list_forwarders(self) -> list[ForwarderRecord]:
        with self.engine.connect() as conn:
            return [_forwarder(r) for r in conn.execute(select(t.forwarders).order_by(t.forwarders.c.name))]

    def register_forwarder(self, record: ForwarderRecord) -> ForwarderRecord:
        """Create the forwarder, or update its sink and format keeping its checkpoint; returns what is kept."""
        c = t.forwarders.c
        now_us = to_us(datetime.now().astimezone())
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(
                update(t.forwarders)
                .where(c.name == record.name)
                .values(sink=record.sink, sink_display=record.sink_display, format=record.format, tenant=record.tenant)
            ).rowcount
            if not done:
                conn.execute(
                    insert(t.forwarders).values(
                        name=record.name,
                        sink=record.sink,
                        sink_display=record.sink_display,
                        format=record.format,
                        tenant=record.tenant,
                        position=record.position,
                        forwarded=0,
                        updated_us=now_us,
                    )
                )
            row = conn.execute(select(t.forwarders).where(c.name == record.name)).one()
        return _forwarder(row)

    def advance_forwarder(self, name: str, expected: int, position: int, count: int, at: datetime) -> bool:
        """Move the checkpoint from `expected` to `position` (after the sink acknowledged); False when another
        process moved it meanwhile (then this one must not resend or skip)."""
        c = t.forwarders.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            done = conn.execute(
                update(t.forwarders)
                .where(c.name == name, c.position == expected)
                .values(
                    position=position,
                    forwarded=c.forwarded + count,
                    last_ok_us=to_us(at),
                    last_error=None,
                    updated_us=to_us(at),
                )
            ).rowcount
        return bool(done)

    def forwarder_failed(self, name: str, error: str, at: datetime) -> None:
        c = t.forwarders.c
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(t.forwarders)
                .where(c.name == name)
                .values(last_error=error[:500], last_error_us=to_us(at), updated_us=to_us(at))
            )


def _page_filters(scope: Scope, flt: EventFilter, after: int, upto: int) -> list[Any]:
    from signwatch.store.sql import _filters

    c = t.events.c
    return [c.seq > after, c.seq <= upto, *_filters(scope, flt)]


def _opt(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _job(row: Any) -> ExportJobRecord:
    return ExportJobRecord(
        id=row.id,
        tenants=None if row.tenants is None else frozenset(json.loads(row.tenants)),
        tenant=row.tenant,
        format=row.format,
        compression=row.compression,
        occurred_from=from_us(row.from_us),
        occurred_to=from_us(row.to_us),
        status=row.status,
        records=row.records,
        files=json.loads(row.files),
        error=row.error,
        created_by=row.created_by,
        created_at=from_us(row.created_us),
        started_at=_opt(row.started_us),
        finished_at=_opt(row.finished_us),
    )


def _fields(job: ExportJobRecord) -> dict[str, Any]:
    return {name: getattr(job, name) for name in ExportJobRecord.__slots__}


def _forwarder(row: Any) -> ForwarderRecord:
    return ForwarderRecord(
        name=row.name,
        sink=row.sink,
        sink_display=row.sink_display,
        format=row.format,
        tenant=row.tenant,
        position=row.position,
        forwarded=row.forwarded,
        last_ok_at=_opt(row.last_ok_us),
        last_error=row.last_error,
        last_error_at=_opt(row.last_error_us),
        updated_at=_opt(row.updated_us),
    )


# -- the wire JSON, written by the database ----------------------------------------------------------------------
# `Event.to_wire()`, key by key: the column, or the members of a nested object. Columns ending in _us are times.
_Wire = tuple[tuple[str, "str | _Wire"], ...]
_WIRE: _Wire = (
    ("id", "id"),
    ("seq", "seq"),
    ("tenant", "tenant"),
    ("source", "source"),
    ("type", "type"),
    ("occurredAt", "occurred_us"),
    ("ingestedAt", "ingested_us"),
    ("envelopeId", "envelope_id"),
    ("actor", (("id", "actor_id"), ("email", "actor_email"))),
    ("ipAddress", "ip_address"),
    ("geo", (("country", "country"), ("asn", "asn"), ("network", "network"), ("city", "city"))),
    ("userAgent", "user_agent"),
    ("clientReferenceId", "client_reference_id"),
    ("businessUnit", "business_unit"),
    ("attributes", "attributes"),
    ("deliveryId", "delivery_id"),
)


def _sqlite_time(us: str) -> str:
    """`rfc3339(from_us(us))` in SQLite: whole seconds by `datetime` (the cheapest of its date functions), the
    fraction without its trailing zeros (none at all on a whole second), Z. The fraction is the floor
    remainder, so times before 1970 come out as Python writes them too."""
    frac = f"(({us} % 1000000 + 1000000) % 1000000)"
    digits = " ".join(f"WHEN {us} % {10**k} THEN {7 - k}" for k in range(1, 6))
    return (
        f"replace(datetime(({us} - {frac}) / 1000000, 'unixepoch'), ' ', 'T') || CASE WHEN {frac} = 0 THEN 'Z' "
        f"ELSE '.' || substr({frac} + 1000000, 2, CASE {digits} ELSE 1 END) || 'Z' END"
    )


def _sqlite_line() -> str:
    """json_object up to businessUnit (whose value is a string or null, so `rtrim(…, '}')` takes off just the
    closing brace), then `attributes` as stored — orjson's JSON already, not parsed again — and deliveryId."""

    def members(wire: _Wire) -> str:
        args = []
        for key, column in wire:
            if not isinstance(column, str):
                value = f"json_object({members(column)})"
            else:
                value = _sqlite_time(column) if column.endswith("_us") else column
            args.append(f"'{key}', {value}")
        return ", ".join(args)

    assert [key for key, _ in _WIRE[-2:]] == ["attributes", "deliveryId"]
    tail = """',"attributes":' || attributes || ',"deliveryId":' || json_quote(delivery_id) || '}'"""
    return f"rtrim(json_object({members(_WIRE[:-2])}), '}}') || ({tail})"  # the short tail first: one long copy


def _postgresql_line() -> str:
    """One concat() of literal JSON and the values (json_build_object would write `"k" : v` with spaces):
    `to_json` escapes text exactly as orjson does (tested), NULL becomes null; the times as in SQLite, whole
    seconds by to_char on interval arithmetic in whole seconds (exact in the float it goes through)."""
    args: list[str] = []
    text = ""

    def literal(more: str) -> None:
        nonlocal text
        text += more

    def value(expr: str) -> None:
        nonlocal text
        if text:
            args.append("'" + text.replace("'", "''") + "'")  # the literal JSON since the last value
            text = ""
        if expr:
            args.append(expr)

    def members(wire: _Wire) -> None:
        literal("{")
        for n, (key, column) in enumerate(wire):
            literal(("," if n else "") + f'"{key}":')
            if not isinstance(column, str):
                members(column)
            elif column.endswith("_us"):
                frac = f"mod(mod({column}, 1000000) + 1000000, 1000000)"
                seconds = f"({column} - {frac}) / 1000000"
                literal('"')
                value(
                    f"""to_char(timestamp '1970-01-01' + {seconds} * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS')"""
                )
                value(f"CASE WHEN {frac} = 0 THEN '' ELSE '.' || rtrim(lpad({frac}::text, 6, '0'), '0') END")
                literal('Z"')
            elif column in ("seq", "attributes"):
                value(column)  # a number; JSON text as stored
            else:
                value(f"coalesce(to_json({column}), 'null')")
        literal("}")

    members(_WIRE)
    value("")
    return f"concat({', '.join(args)})"


_LINE = {"sqlite": _sqlite_line(), "postgresql": _postgresql_line()}
