"""Alert rules: rules, per-minute rollups, network sightings, alerts, silences and the notification outbox.

Revision ID: 0002_rules
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_rules"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

US = sa.BigInteger
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tenants", sa.Text),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_us", US, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )
    op.create_table(
        "rollups",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("dim", sa.String(1), primary_key=True),
        sa.Column("type", sa.String(100), primary_key=True),
        sa.Column("minute", sa.BigInteger, primary_key=True),
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_table(
        "sightings",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("actor", sa.String(320), primary_key=True),
        sa.Column("net", sa.String(220), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("first_us", US, nullable=False),
        sa.Column("ip_address", sa.String(64)),
        sa.Column("country", sa.String(8)),
    )
    op.create_index("ix_sightings_tenant_day", "sightings", ["tenant", "day"])
    op.create_table(
        "alerts",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("rule_id", sa.String(40), nullable=False),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(320), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fired_us", US, nullable=False),
        sa.Column("resolved_us", US),
        sa.Column("window_start_us", US, nullable=False),
        sa.Column("window_end_us", US, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float),
        sa.Column("expected", sa.Float),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("silenced_by", sa.String(40)),
        sa.Column("acked_by", sa.String(200)),
        sa.Column("acked_us", US),
        sa.Column("ack_note", sa.Text),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolve_note", sa.Text),
        sa.Column("created_us", US, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )
    op.create_index("ix_alerts_rule_group", "alerts", ["rule_id", "tenant", "group_key", "fired_us"])
    op.create_index("ix_alerts_tenant_fired", "alerts", ["tenant", "fired_us"])
    op.create_table(
        "silences",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant", sa.String(64)),
        sa.Column("tenants", sa.Text),
        sa.Column("rule_id", sa.String(40)),
        sa.Column("group_key", sa.String(320)),
        sa.Column("starts_us", US, nullable=False),
        sa.Column("ends_us", US, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_us", US, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("alert_id", sa.String(40), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_us", US, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_us", US, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )
    op.create_index("ix_notifications_due", "notifications", ["state", "next_us"])


def downgrade() -> None:
    for table in ("notifications", "silences", "alerts", "sightings", "rollups", "rules"):
        op.drop_table(table)
