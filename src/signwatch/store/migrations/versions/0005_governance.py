"""Governance: the monitor's hash-chained audit trail, and per-tenant retention with legal hold.

Revision ID: 0005_governance
Revises: 0004_principals
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_governance"
down_revision = "0004_principals"
branch_labels = None
depends_on = None

US = sa.BigInteger
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("at_us", US, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_id", sa.String(40)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("tenant", sa.String(64)),
        sa.Column("target", sa.String(200)),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("result_count", sa.BigInteger),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "retention",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("events_days", sa.Integer),
        sa.Column("deliveries_days", sa.Integer),
        sa.Column("alerts_days", sa.Integer),
        sa.Column("legal_hold", sa.Boolean, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("retention")
    op.drop_table("audit_log")
