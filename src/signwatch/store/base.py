"""The store interface: records that cross it, the tenant scope every query takes, and the `Store` protocol."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

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

    def sees(self, tenant: str | None, tenants: frozenset[str] | None) -> bool:
        """Whether a record about `tenant` — or, without one, covering `tenants` (None: every tenant) — is
        visible here: a record never reveals a tenant outside the scope (rules, silences, export jobs)."""
        if self.tenants is None:
            return True
        if tenant is not None:
            return tenant in self.tenants
        return tenants is not None and tenants <= self.tenants


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
    expires_at: datetime | None = None
    principal_id: str | None = None
    user_id: str | None = None  # the SCIM user a personal token belongs to (offboarding revokes it)
    kind: str = "api"  # api (created by an operator or a user) | access (OAuth) | session (dashboard cookie)


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    """A service principal: an OAuth client (client credentials and/or JWT bearer with registered keys)."""

    id: str  # the client id
    name: str
    scopes: frozenset[str]
    tenants: frozenset[str] | None
    secret_hash: str | None
    public_keys: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None = None


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


@dataclass(frozen=True, slots=True)
class RuleRecord:
    id: str
    name: str
    tenants: frozenset[str] | None  # the tenants the rule covers; None: every tenant
    spec: dict[str, Any]  # RuleSpec as JSON (camelCase)
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert: an episode of a rule's condition for one (tenant, group key), with its lifecycle."""

    id: str
    rule_id: str
    rule_name: str
    tenant: str
    group_key: str
    severity: str
    mode: str
    state: str  # open | acknowledged | resolved
    fired_at: datetime
    resolved_at: datetime | None
    window_start: datetime
    window_end: datetime
    value: float
    threshold: float | None
    expected: float | None
    details: dict[str, Any]
    silenced_by: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    resolve_note: str | None = None
    seq: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    fired_from: datetime | None = None
    fired_to: datetime | None = None
    states: tuple[str, ...] = ()
    rule_id: str | None = None
    severities: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    id: str
    tenant: str | None
    tenants: frozenset[str] | None
    rule_id: str | None
    group_key: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    owner: str
    created_by: str | None
    created_at: datetime

    def matches(self, rule_id: str, tenant: str, group_key: str, at: datetime) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and (self.tenant is None or self.tenant == tenant)
            and (self.tenants is None or tenant in self.tenants)
            and (self.rule_id is None or self.rule_id == rule_id)
            and (self.group_key is None or self.group_key == group_key)
        )


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: str
    alert_id: str
    change: str  # fired | resolved
    recipient: str
    state: str  # pending | sent | dead
    attempts: int
    next_at: datetime
    last_error: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """What one evaluation decided, written in one transaction: alerts, their events and notifications."""

    inserts: list[AlertRecord] = field(default_factory=list)
    updates: list[AlertRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    notifications: list[NotificationRecord] = field(default_factory=list)
    position: tuple[str, str] | None = None

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.events or self.notifications or self.position)


@dataclass(frozen=True, slots=True)
class ExportJobRecord:
    id: str
    tenants: frozenset[str] | None  # the creator's scope
    tenant: str | None
    format: str
    compression: str  # gzip | none
    occurred_from: datetime
    occurred_to: datetime
    status: str  # queued | running | done | failed
    records: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)  # {name, bytes, sha256, records}
    error: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ForwarderRecord:
    name: str
    sink: str  # encrypted sink URL
    sink_display: str  # without secrets
    format: str
    tenant: str | None
    position: int  # last sequence number the sink acknowledged
    forwarded: int = 0
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetentionRecord:
    """A tenant's retention in days (None: the documented default) and legal hold (nothing is purged)."""

    tenant: str
    events_days: int | None = None
    deliveries_days: int | None = None
    alerts_days: int | None = None
    legal_hold: bool = False


class StaleVersion(Exception):
    """A conditional write (If-Match) found the record changed since the version the caller read."""


@dataclass(frozen=True, slots=True)
class ScimUserRecord:
    """A provisioned person (SCIM User). `attributes` holds the validated resource's other attributes
    (name, emails, displayName…) as JSON; `groups` (id, displayName) is filled on reads."""

    id: str
    user_name: str
    active: bool
    external_id: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    groups: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class GroupMapping:
    """What membership of an identity-provider group grants (`signwatch groups map`): scopes on a set of
    tenants (None: every tenant) and, with `alert_severity`, alerts of at least that severity by email."""

    group_name: str
    scopes: frozenset[str]
    tenants: frozenset[str] | None
    alert_severity: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ScimGroupRecord:
    """A provisioned group (SCIM Group); `members` are SCIM user ids."""

    id: str
    display_name: str
    external_id: str | None
    members: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    version: int = 1


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

    def set_tenant_calendar(self, slug: str, timezone: str, business_hours: dict[str, object]) -> None: ...

    # tokens
    def add_token(self, record: TokenRecord) -> None: ...
    def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...
    def list_tokens(self) -> list[TokenRecord]: ...
    def revoke_token(self, id_or_name: str, at: datetime) -> int: ...

    # service principals (OAuth clients)
    def add_principal(self, record: PrincipalRecord) -> None: ...
    def get_principal(self, id_or_name: str) -> PrincipalRecord | None: ...
    def list_principals(self) -> list[PrincipalRecord]: ...
    def disable_principal(self, id_or_name: str, at: datetime) -> int: ...

    # the write path
    def write_batch(self, items: Sequence[WriteItem]) -> list[WriteOutcome]: ...

    # reads
    def read_events(self, scope: Scope, after_seq: int, limit: int, flt: EventFilter) -> EventPage: ...
    def log_end(self) -> int: ...
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
    def try_lease(self, name: str) -> bool: ...
    def release_lease(self, name: str) -> None: ...

    # hand-over: export jobs, forwarders, events by event time
    def put_export_job(self, record: ExportJobRecord) -> None: ...
    def get_export_job(self, job_id: str) -> ExportJobRecord | None: ...
    def list_export_jobs(self, limit: int = 100) -> list[ExportJobRecord]: ...
    def claim_export_job(self) -> ExportJobRecord | None: ...
    def finish_export_job(
        self, job_id: str, status: str, records: int, files: list[dict[str, Any]], error: str | None
    ) -> None: ...
    def iter_events_by_time(
        self, scope: Scope, occurred_from: datetime, occurred_to: datetime, tenant: str | None, batch: int = 5000
    ) -> Iterator[list[Event]]: ...
    def count_events_after(self, seq: int, tenant: str | None) -> int: ...
    def seq_before(self, ingested: datetime) -> int: ...
    def get_forwarder(self, name: str) -> ForwarderRecord | None: ...
    def list_forwarders(self) -> list[ForwarderRecord]: ...
    def register_forwarder(self, record: ForwarderRecord) -> ForwarderRecord: ...
    def advance_forwarder(self, name: str, expected: int, position: int, count: int, at: datetime) -> bool: ...
    def forwarder_failed(self, name: str, error: str, at: datetime) -> None: ...

    # governance: the audit trail, retention
    def append_audit(self, records: Sequence[Any]) -> list[Any]: ...
    def read_audit(self, after_seq: int, limit: int, tenants: frozenset[str] | None = None) -> list[Any]: ...
    def iter_audit(self, batch: int = 5000) -> Iterator[list[Any]]: ...
    def get_retention(self, tenant: str) -> RetentionRecord | None: ...
    def set_retention(self, record: RetentionRecord, at: datetime) -> None: ...
    def purge(self, table: str, tenant: str, before: datetime) -> int: ...

    # rules (design §7)
    def put_rule(self, record: RuleRecord) -> None: ...
    def get_rule(self, rule_id: str) -> RuleRecord | None: ...
    def list_rules(self) -> list[RuleRecord]: ...
    def delete_rule(self, rule_id: str) -> None: ...

    # rule inputs: rollups, sightings, envelope milestones, evidence
    def apply_rollups(self, events: Sequence[Event], positions: Sequence[tuple[str, str]], now_us: int) -> None: ...
    def minute_counts(
        self,
        tenant: str,
        types: Sequence[str],
        group: str,
        start_minute: int,
        end_minute: int,
        flt: dict[str, Any] | None = None,
        *,
        per_hour: bool = False,
    ) -> dict[tuple[str, str], dict[int, int]]: ...
    def sightings_between(self, tenant: str, first_day: int, last_day: int, kind: str) -> list[Any]: ...
    def envelope_spans(self, tenant: str, group: str, sent_from_us: int, sent_to_us: int) -> list[Any]: ...
    def events_between(
        self,
        tenant: str,
        types: Sequence[str],
        from_us_: int,
        to_us_: int,
        limit: int = 2000,
        group: str = "tenant",
        key: str | None = None,
    ) -> list[Event]: ...

    # alerts, silences, notifications
    def alerts_of_rule(self, rule_id: str, tenant: str, since: datetime) -> list[AlertRecord]: ...
    def open_alerts_of_rule(self, rule_id: str) -> list[AlertRecord]: ...
    def alerts_since(self, since: datetime) -> list[AlertRecord]: ...
    def apply_alert_changes(self, changes: AlertChanges) -> None: ...
    def list_alerts(
        self, scope: Scope, flt: AlertFilter, after_seq: int, limit: int
    ) -> tuple[list[AlertRecord], bool]: ...
    def get_alert(self, scope: Scope, alert_id: str) -> AlertRecord | None: ...
    def annotate_alert(
        self, alert_id: str, state: str, by: str, note: str | None, at: datetime, event: Event | None = None
    ) -> None: ...
    def add_silence(self, record: SilenceRecord) -> None: ...
    def list_silences(self) -> list[SilenceRecord]: ...
    def delete_silence(self, silence_id: str) -> None: ...
    def due_notifications(self, now: datetime, limit: int = 100) -> list[NotificationRecord]: ...
    def list_notifications(self, states: Sequence[str] = ()) -> list[NotificationRecord]: ...
    def mark_notification(
        self, notification_id: str, state: str, attempts: int, next_at: datetime, error: str | None
    ) -> None: ...

    # SCIM identities (offboarding: deactivation, deletion or losing the last group revokes the user's tokens)
    def add_scim_user(self, record: ScimUserRecord) -> None: ...
    def get_scim_user(self, user_id: str) -> ScimUserRecord | None: ...
    def list_scim_users(self, user_name: str | None = None) -> list[ScimUserRecord]: ...
    def put_scim_user(self, record: ScimUserRecord, if_version: int | None = None) -> int: ...
    def delete_scim_user(self, user_id: str, at: datetime) -> int: ...
    def add_scim_group(self, record: ScimGroupRecord) -> None: ...
    def get_scim_group(self, group_id: str) -> ScimGroupRecord | None: ...
    def list_scim_groups(self) -> list[ScimGroupRecord]: ...
    def put_scim_group(self, record: ScimGroupRecord, if_version: int | None = None) -> int: ...
    def delete_scim_group(self, group_id: str, at: datetime) -> int: ...
    def put_group_mapping(self, mapping: GroupMapping) -> None: ...
    def delete_group_mapping(self, group_name: str, at: datetime) -> int: ...
    def list_group_mappings(self) -> list[GroupMapping]: ...
    def alert_subscribers(self, tenant: str, thresholds: Collection[str]) -> list[str]: ...

    # dashboard data: coarse rollups kept with the fold (store/insights_sql.py; minutes since the epoch)
    def level_totals(
        self, scope: Scope, dim: str, types: Sequence[str], lo: int, hi: int, key: str | None = None
    ) -> dict[tuple[str, str, str], int]: ...
    def level_series(
        self, scope: Scope, dim: str, types: Sequence[str], step: int, lo: int, hi: int, key: str | None = None
    ) -> dict[tuple[str, int], int]: ...
    def actor_ranks(self, scope: Scope, lo: int, hi: int, limit: int) -> dict[tuple[str, str], tuple[int, int]]: ...
    def actor_counts(
        self, scope: Scope, lo: int, hi: int, actors: Sequence[str] | None = None
    ) -> dict[tuple[str, str], list[int]]: ...
    def top_networks(self, scope: Scope, lo: int, hi: int, limit: int) -> list[tuple[str, int]]: ...
    def actor_series(self, tenant: str, actor: str, step: int, lo: int, hi: int) -> dict[int, list[int]]: ...
    def find_actor(self, scope: Scope, user: str) -> list[tuple[str, str, int]]: ...
    def place_users(
        self, scope: Scope, from_us: int, to_us: int, by: str, keys: Sequence[str] | None = None
    ) -> dict[str, int]: ...
    def actor_places(
        self, scope: Scope, from_us: int, to_us: int, actors: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, int]]: ...
    def spans(self, scope: Scope, actor: str = "", nets: Sequence[str] | None = None) -> list[Any]: ...
    def country_firsts(self, scope: Scope) -> dict[str, int]: ...
    def actor_net_counts(self, tenant: str, actor: str, from_us: int, to_us: int) -> dict[tuple[str, str], int]: ...
    def open_alert_summary(self, scope: Scope, latest: int = 5) -> tuple[dict[str, int], list[AlertRecord]]: ...
    def alerts_of_groups(
        self, scope: Scope, group_keys: Sequence[str], from_us: int, to_us: int
    ) -> list[AlertRecord]: ...
