"""The store's tables (SQLAlchemy Core), shared by the SQLite and PostgreSQL backends.

Times are integer microseconds since the epoch (`*_us`): sortable, exact and identical on both backends.
Migrations in `migrations/versions/` create exactly these tables; a test checks they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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
