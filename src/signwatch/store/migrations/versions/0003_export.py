"""Hand-over: export jobs (files with signed download URLs) and forwarder checkpoints.

Revision ID: 0003_export
Revises: 0002_rules
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_export"
down_revision = "0002_rules"
branch_labels = None
depends_on = None

US = sa.BigInteger


def upgrade() -> None:
    op.create_index("ix_events_ingested", "events", ["ingested_us"])  # the Monitor stream's time cursors
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenants", sa.Text),
        sa.Column("tenant", sa.String(64)),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("compression", sa.String(8), nullable=False),
        sa.Column("from_us", US, nullable=False),
        sa.Column("to_us", US, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_us", US, nullable=False),
        sa.Column("started_us", US),
        sa.Column("finished_us", US),
    )
    op.create_index("ix_export_jobs_status", "export_jobs", ["status", "created_us"])
    op.create_table(
        "forwarders",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("sink", sa.Text, nullable=False),
        sa.Column("sink_display", sa.Text, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(64)),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("forwarded", sa.BigInteger, nullable=False),
        sa.Column("last_ok_us", US),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_us", US),
        sa.Column("updated_us", US, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("forwarders")
    op.drop_table("export_jobs")
    op.drop_index("ix_events_ingested", "events")
