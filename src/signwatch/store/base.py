"""The store interface: records that cross it, the tenant scope every query takes, and the `Store` protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from signwatch.events import EnvelopeState, Event


class StoreUnavailable(Exception):
    """The store could not commit (disk full, database down, lock timeout): answer 503, never 4xx."""


class NotFound(Exception):
    """A named record does not exist."""


class AlreadyExists(Exception):
    """A record with that name exists already."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenants a caller may see: every query takes one, so isolation is enforced in one place."""

    tenants: frozenset[str] | None  # None: every tenant of the install

    @classmethod
    def all(cls) -> Scope:
        return cls(None)

    @classmethod
    def of(cls, *slugs: str) -> Scope:
        return cls(frozenset(slugs))

    def allows(self, tenant: str | None) -> bool:
        return self.tenants is None or (tenant is not None and tenant in self.tenants)


@dataclass(frozen=True, slots=True)
class TenantRecord:
    slug: str
    timezone: str
    business_hours: dict[str, object]
    api_key: str  # encrypted
    previous_api_key: str | None  # encrypted; valid until previous_key_expires
    previous_key_expires: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    name: str
    token_hash: str
    scopes: frozenset[str]
    tenants: frozenset[str] | None
    created_at: datetime
    revoked_at: datetime | None = None


Verdict = Literal[
    "stored",
    "duplicate",
    "bad_signature",
    "unknown_tenant",
    "bad_json",
    "invalid",
    "too_large",
]


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One raw delivery as received: archived with its verdict in the same transaction as its event."""

    id: str
    received_at: datetime
    tenant: str | None
    source: str
    path: str
    headers: dict[str, str]
    signature: str | None
    body: bytes
    body_size: int
    body_truncated: bool = False
    verdict: Verdict = "stored"
    status_code: int = 202
    reason: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class WriteItem:
    """What one request asks the writer to keep: its delivery (always) and its event (when accepted)."""

    delivery: DeliveryRecord | None
    event: Event | None = None
    position: tuple[str, str] | None = None  # (name, value) committed with the event, for pollers


WriteOutcome = Literal["stored", "duplicate", "archived"]


@dataclass(frozen=True, slots=True)
class EventFilter:
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None  # exclusive
    types: tuple[str, ...] = ()
    actor: str | None = None  # actor id or email
    tenants: tuple[str, ...] = ()  # narrows the scope further


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    last_seq: int  # the position to resume after (cursor)
    has_more: bool


@dataclass(frozen=True, slots=True)
class ReplayResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """Everything signwatch keeps. Implemented once in SQL (`SqlStore`) for SQLite and PostgreSQL."""

    dialect: str

    def upgrade(self) -> None: ...
    def close(self) -> None: ...
    def ping(self) -> None: ...

    # tenants
    def add_tenant(self, record: TenantRecord) -> None: ...
    def get_tenant(self, slug: str) -> TenantRecord | None: ...
    def list_tenants(self) -> list[TenantRecord]: ...
    def set_tenant_keys(
        self, slug: str, api_key: str, previous_api_key: str | None, previous_key_expires: datetime | None
    ) -> None: ...

    # tokens
    def add_token(self, record: TokenRecord) -> None: ...
    def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...
    def list_tokens(self) -> list[TokenRecord]: ...
    def revoke_token(self, id_or_name: str, at: datetime) -> int: ...

    # the write path
    def write_batch(self, items: Sequence[WriteItem]) -> list[WriteOutcome]: ...

    # reads
    def read_events(self, scope: Scope, after_seq: int, limit: int, flt: EventFilter) -> EventPage: ...
    def event_counts(self, scope: Scope) -> dict[tuple[str, str], int]: ...
    def get_envelope(self, scope: Scope, tenant: str, envelope_id: str) -> EnvelopeState | None: ...
    def get_events_by_id(self, scope: Scope, ids: Sequence[str]) -> list[Event]: ...
    def get_envelope_statuses(self, scope: Scope, tenant: str, envelope_ids: Sequence[str]) -> dict[str, str]: ...

    # deliveries (replay)
    def iter_deliveries(
        self, received_from: datetime, received_to: datetime, tenant: str | None, batch: int = 5000
    ) -> Iterator[list[DeliveryRecord]]: ...
    def apply_replay(self, events: Sequence[Event]) -> tuple[int, int, int]: ...

    # positions and meta
    def get_position(self, name: str) -> str | None: ...
    def set_position(self, name: str, value: str) -> None: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta_default(self, key: str, value: str) -> str: ...
