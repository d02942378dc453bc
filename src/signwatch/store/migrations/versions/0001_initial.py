"""Initial schema: tenants, tokens, deliveries, events, envelopes, positions, meta.

Revision ID: 0001_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

US = sa.BigInteger
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("business_hours", sa.Text, nullable=False),
        sa.Column("api_key", sa.Text, nullable=False),
        sa.Column("previous_api_key", sa.Text),
        sa.Column("previous_key_expires_us", US),
        sa.Column("created_us", US, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("tenants", sa.Text),
        sa.Column("created_us", US, nullable=False),
        sa.Column("revoked_us", US),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("received_us", US, nullable=False),
        sa.Column("tenant", sa.String(64)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("signature", sa.Text),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("body_size", sa.Integer, nullable=False),
        sa.Column("body_truncated", sa.Boolean, nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("event_id", sa.String(40)),
    )
    op.create_index("ix_deliveries_received", "deliveries", ["received_us"])
    op.create_table(
        "events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("occurred_us", US, nullable=False),
        sa.Column("ingested_us", US, nullable=False),
        sa.Column("envelope_id", sa.String(200), nullable=False),
        sa.Column("actor_id", sa.String(200)),
        sa.Column("actor_email", sa.String(320)),
        sa.Column("ip_address", sa.String(64)),
        sa.Column("country", sa.String(8)),
        sa.Column("asn", sa.String(200)),
        sa.Column("network", sa.String(64)),
        sa.Column("city", sa.String(200)),
        sa.Column("user_agent", sa.Text),
        sa.Column("client_reference_id", sa.String(200)),
        sa.Column("business_unit", sa.String(200)),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("delivery_id", sa.String(40)),
    )
    op.create_index("ix_events_tenant_seq", "events", ["tenant", "seq"])
    op.create_index("ix_events_occurred", "events", ["occurred_us"])
    op.create_index("ix_events_tenant_occurred", "events", ["tenant", "occurred_us"])
    op.create_index("ix_events_tenant_envelope", "events", ["tenant", "envelope_id"])
    op.create_table(
        "envelopes",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("envelope_id", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("sent_us", US),
        sa.Column("completed_us", US),
        sa.Column("last_event_us", US),
        sa.Column("sender_id", sa.String(200)),
        sa.Column("sender_email", sa.String(320)),
        sa.Column("business_unit", sa.String(200)),
    )
    op.create_index("ix_envelopes_status", "envelopes", ["tenant", "status", "sent_us"])
    op.create_table(
        "positions",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "positions", "envelopes", "events", "deliveries", "tokens", "tenants"):
        op.drop_table(table)
