"""The store's tables (SQLAlchemy Core), shared by the SQLite and PostgreSQL backends.

Times are integer microseconds since the epoch (`*_us`): sortable, exact and identical on both backends.
Migrations in `migrations/versions/` create exactly these tables; a test checks they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only aliases rowid (and so autoincrements) for a column declared INTEGER PRIMARY KEY.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

tenants = Table(
    "tenants",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("business_hours", Text, nullable=False),
    Column("api_key", Text, nullable=False),
    Column("previous_api_key", Text),
    Column("previous_key_expires_us", BigInteger),
    Column("created_us", BigInteger, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", Text, nullable=False),
    Column("tenants", Text),
    Column("created_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger),
    Column("expires_us", BigInteger),  # OAuth access tokens are short-lived
    Column("principal_id", String(40)),  # the service principal an access token was issued to
    Column("user_id", String(40)),  # the SCIM user a personal token belongs to (offboarding revokes it)
    Column("kind", String(16), nullable=False, server_default="api"),  # api | access | session (dashboard)
    Index("ix_tokens_user", "user_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("received_us", BigInteger, nullable=False),
    Column("tenant", String(64)),
    Column("source", String(32), nullable=False),
    Column("path", String(300), nullable=False),
    Column("headers", Text, nullable=False),
    Column("signature", Text),
    Column("body", LargeBinary, nullable=False),
    Column("body_size", Integer, nullable=False),
    Column("body_truncated", Boolean, nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("reason", Text),
    Column("event_id", String(40)),
    Index("ix_deliveries_received", "received_us"),
)

events = Table(
    "events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("type", String(100), nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("ingested_us", BigInteger, nullable=False),
    Column("envelope_id", String(200), nullable=False),
    Column("actor_id", String(200)),
    Column("actor_email", String(320)),
    Column("ip_address", String(64)),
    Column("country", String(8)),
    Column("asn", String(200)),
    Column("network", String(64)),
    Column("city", String(200)),
    Column("user_agent", Text),
    Column("client_reference_id", String(200)),
    Column("business_unit", String(200)),
    Column("attributes", Text, nullable=False),
    Column("delivery_id", String(40)),
    Index("ix_events_tenant_seq", "tenant", "seq"),
    Index("ix_events_occurred", "occurred_us"),
    Index("ix_events_tenant_occurred", "tenant", "occurred_us"),
    Index("ix_events_tenant_envelope", "tenant", "envelope_id"),
    Index("ix_events_ingested", "ingested_us"),
)

envelopes = Table(
    "envelopes",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("envelope_id", String(200), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("sent_us", BigInteger),
    Column("completed_us", BigInteger),
    Column("last_event_us", BigInteger),
    Column("sender_id", String(200)),
    Column("sender_email", String(320)),
    Column("business_unit", String(200)),
    Index("ix_envelopes_status", "tenant", "status", "sent_us"),
)

positions = Table(
    "positions",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- alert rules (design §7) -------------------------------------------------------------------------------
rules = Table(
    "rules",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tenants", Text),  # JSON list of the tenants the rule covers; NULL: every tenant
    Column("spec", Text, nullable=False),  # the validated RuleSpec as JSON
    Column("created_by", String(200)),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# Per-minute event counts by dimension ("t" tenant, "a" actor, "b" business unit, "c" country), kept by the
# rules engine as it reads the event log; `minute` counts minutes since the epoch (event time).
rollups = Table(
    "rollups",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("dim", String(1), primary_key=True),
    Column("type", String(100), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("key", String(320), primary_key=True),
    Column("n", Integer, nullable=False),
)

# The first time each day an actor acted from a network ("p:<prefix>" or "a:<asn>"): new_network's memory.
sightings = Table(
    "sightings",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("actor", String(320), primary_key=True),
    Column("net", String(220), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("first_us", BigInteger, nullable=False),
    Column("ip_address", String(64)),
    Column("country", String(8)),
    Index("ix_sightings_tenant_day", "tenant", "day"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("rule_id", String(40), nullable=False),
    Column("rule_name", String(200), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("group_key", String(320), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # open | acknowledged | resolved
    Column("fired_us", BigInteger, nullable=False),
    Column("resolved_us", BigInteger),
    Column("window_start_us", BigInteger, nullable=False),
    Column("window_end_us", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float),
    Column("expected", Float),
    Column("details", Text, nullable=False),  # band, explanation, evidence
    Column("silenced_by", String(40)),
    Column("acked_by", String(200)),
    Column("acked_us", BigInteger),
    Column("ack_note", Text),
    Column("resolved_by", String(200)),
    Column("resolve_note", Text),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("ix_alerts_rule_group", "rule_id", "tenant", "group_key", "fired_us"),
    Index("ix_alerts_tenant_fired", "tenant", "fired_us"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant", String(64)),  # NULL: every tenant of the creator's scope (see `tenants`)
    Column("tenants", Text),  # JSON list: the scope of whoever created it; NULL: all
    Column("rule_id", String(40)),
    Column("group_key", String(320)),
    Column("starts_us", BigInteger, nullable=False),
    Column("ends_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("created_by", String(200)),
    Column("created_us", BigInteger, nullable=False),
)

# The notification outbox: written with the alert change, delivered (with retries) by the notifier.
notifications = Table(
    "notifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("alert_id", String(40), nullable=False),
    Column("change", String(16), nullable=False),  # fired | resolved
    Column("recipient", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False),
    Column("next_us", BigInteger, nullable=False),
    Column("last_error", Text),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("ix_notifications_due", "state", "next_us"),
)

# -- hand-over (design §2 export/) --------------------------------------------------------------------------
export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenants", Text),  # JSON list: the creator's scope; NULL: all
    Column("tenant", String(64)),  # narrowed to one tenant
    Column("format", String(16), nullable=False),
    Column("compression", String(8), nullable=False),
    Column("from_us", BigInteger, nullable=False),
    Column("to_us", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("records", BigInteger, nullable=False),
    Column("files", Text, nullable=False),  # JSON list of {name, bytes, sha256, records}
    Column("error", Text),
    Column("created_by", String(200)),
    Column("created_us", BigInteger, nullable=False),
    Column("started_us", BigInteger),
    Column("finished_us", BigInteger),
    Index("ix_export_jobs_status", "status", "created_us"),
)

# A forwarder's durable checkpoint: the last sequence number its sink acknowledged.
forwarders = Table(
    "forwarders",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("sink", Text, nullable=False),  # the sink URL, encrypted (it may hold a token or password)
    Column("sink_display", Text, nullable=False),  # the same without secrets
    Column("format", String(16), nullable=False),
    Column("tenant", String(64)),
    Column("position", BigInteger, nullable=False),
    Column("forwarded", BigInteger, nullable=False),
    Column("last_ok_us", BigInteger),
    Column("last_error", Text),
    Column("last_error_us", BigInteger),
    Column("updated_us", BigInteger, nullable=False),
)

# Service principals (OAuth clients): a hashed secret (client_credentials) and/or registered public keys
# (JWT bearer assertions, RS256), scopes on a set of tenants.
principals = Table(
    "principals",
    metadata,
    Column("id", String(40), primary_key=True),  # the OAuth client id
    Column("name", String(200), nullable=False, unique=True),
    Column("scopes", Text, nullable=False),
    Column("tenants", Text),
    Column("secret_hash", String(64)),
    Column("public_keys", Text, nullable=False),  # JSON list of PEM public keys
    Column("created_us", BigInteger, nullable=False),
    Column("disabled_us", BigInteger),
)

# -- governance (issue: govern the monitor) -----------------------------------------------------------------
# The monitor's own audit trail: append-only, each record carrying the hash of the previous (a chain).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),  # token or principal name, or cli:<user>
    Column("actor_id", String(40)),
    Column("action", String(100), nullable=False),
    Column("tenant", String(64)),
    Column("target", String(200)),
    Column("params", Text, nullable=False),  # JSON
    Column("result_count", BigInteger),
    Column("status", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# Per-tenant retention (days) and legal hold; a tenant without a row keeps the documented defaults.
retention = Table(
    "retention",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("events_days", Integer),
    Column("deliveries_days", Integer),
    Column("alerts_days", Integer),
    Column("legal_hold", Boolean, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# -- identity (SCIM 2.0 provisioning, docs/scim.md) -----------------------------------------------------------
scim_users = Table(
    "scim_users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_name", String(256), nullable=False),
    Column("user_name_key", String(256), nullable=False, unique=True),  # lower-cased: userName is caseExact=false
    Column("external_id", String(256)),
    Column("active", Boolean, nullable=False),
    Column("attributes", Text, nullable=False),  # JSON: name, displayName, emails, …
    Column("version", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

scim_groups = Table(
    "scim_groups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("display_name", String(256), nullable=False),
    Column("external_id", String(256)),
    Column("version", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

scim_members = Table(
    "scim_members",
    metadata,
    Column("group_id", String(40), primary_key=True),
    Column("user_id", String(40), primary_key=True),
    Index("ix_scim_members_user", "user_id"),
)

# Which identity-provider groups grant which scopes on which tenants, and which alerts their members receive
# (`signwatch groups map`). Keyed by the group's displayName, case-folded: the name an IdP sends over SCIM
# and in the ID token's `groups` claim.
group_mappings = Table(
    "group_mappings",
    metadata,
    Column("group_key", String(256), primary_key=True),
    Column("group_name", String(256), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("tenants", Text),  # JSON list; NULL: every tenant
    Column("alert_severity", String(16)),  # members receive alerts of at least this severity; NULL: none
    Column("updated_us", BigInteger, nullable=False),
)

# -- dashboards (docs/api.md, "Dashboard data"): kept with the per-minute fold, read by the insight pages -------
# Few-valued dims summed by hour, day and 16-day period (`level` "h", "d", "p"; `bucket` counts those since the
# epoch, event time): "t" tenant (key "") and "b" business unit per event type and over every type ("*"),
# "c" country over every type.
rollup_levels = Table(
    "rollup_levels",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("dim", String(1), primary_key=True),
    Column("type", String(100), primary_key=True),
    Column("level", String(1), primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    Column("key", String(320), primary_key=True),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Many-valued dims as running totals: per actor ("a") and network ("n", the /24 or /48 of the address), at
# each hour it was active, the counts of every hour up to and including it; a window is then two lookups per
# key whatever its length. Counters: events, sent, signed, declined, voided, off hours (networks: events).
running_totals = Table(
    "running_totals",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("dim", String(1), primary_key=True),
    Column("key", String(320), primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    *(Column(f"c{i}", BigInteger, nullable=False) for i in range(6)),
    sqlite_with_rowid=False,
)

# Every actor: its id, when it first and last acted, its events and the envelopes it sent and signed (all time).
actors = Table(
    "actors",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("actor", String(320), primary_key=True),
    Column("actor_id", String(200)),
    Column("first_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("sent", BigInteger, nullable=False),
    Column("signed", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Events per actor, network ("" without an address) and country ("" unknown) per hour.
actor_nets = Table(
    "actor_nets",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("actor", String(320), primary_key=True),
    Column("net", String(64), primary_key=True),
    Column("country", String(8), primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# When each actor (and, as actor "", the tenant) first and last acted from a network and country, all time.
actor_net_spans = Table(
    "actor_net_spans",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("actor", String(320), primary_key=True),
    Column("net", String(64), primary_key=True),
    Column("country", String(8), primary_key=True),
    Column("asn", String(200)),  # the AS of the latest event
    Column("first_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
