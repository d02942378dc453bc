"""Dashboard data: few-valued dims by hour, day and 16-day period; actors and networks as hourly running totals.

The rules engine keeps these with its per-minute fold from now on; the events it has folded already are
folded into them here, once (the events kept: an install whose retention purged events starts its dashboard
history at the oldest event left). Tables without a rowid on SQLite: their key is how they are read.

Revision ID: 0008_insights
Revises: 0007_groups
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_insights"
down_revision = "0007_groups"
branch_labels = None
depends_on = None

US = sa.BigInteger
TENANT, ACTOR = sa.String(64), sa.String(320)
NO_ROWID = {"sqlite_with_rowid": False}


def upgrade() -> None:
    op.create_table(
        "rollup_levels",
        sa.Column("tenant", TENANT, primary_key=True),
        sa.Column("dim", sa.String(1), primary_key=True),
        sa.Column("type", sa.String(100), primary_key=True),
        sa.Column("level", sa.String(1), primary_key=True),  # h | d | p (16 days)
        sa.Column("bucket", sa.BigInteger, primary_key=True),
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        **NO_ROWID,
    )
    op.create_table(
        "running_totals",
        sa.Column("tenant", TENANT, primary_key=True),
        sa.Column("dim", sa.String(1), primary_key=True),  # a (actor) | n (network)
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("hour", sa.BigInteger, primary_key=True),
        *(sa.Column(f"c{i}", sa.BigInteger, nullable=False) for i in range(6)),
        **NO_ROWID,
    )
    op.create_table(
        "actors",
        sa.Column("tenant", TENANT, primary_key=True),
        sa.Column("actor", ACTOR, primary_key=True),
        sa.Column("actor_id", sa.String(200)),
        sa.Column("first_us", US, nullable=False),
        sa.Column("last_us", US, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("sent", sa.BigInteger, nullable=False),
        sa.Column("signed", sa.BigInteger, nullable=False),
        **NO_ROWID,
    )
    op.create_table(
        "actor_nets",
        sa.Column("tenant", TENANT, primary_key=True),
        sa.Column("actor", ACTOR, primary_key=True),
        sa.Column("net", sa.String(64), primary_key=True),
        sa.Column("country", sa.String(8), primary_key=True),
        sa.Column("hour", sa.BigInteger, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        **NO_ROWID,
    )
    op.create_table(
        "actor_net_spans",
        sa.Column("tenant", TENANT, primary_key=True),
        sa.Column("actor", ACTOR, primary_key=True),
        sa.Column("net", sa.String(64), primary_key=True),
        sa.Column("country", sa.String(8), primary_key=True),
        sa.Column("asn", sa.String(200)),
        sa.Column("first_us", US, nullable=False),
        sa.Column("last_us", US, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        **NO_ROWID,
    )
    _backfill()


def _backfill() -> None:
    from signwatch.store.insights_sql import backfill

    conn = op.get_bind()
    rolled = conn.execute(sa.text("SELECT value FROM positions WHERE name = 'engine.rollups'")).scalar()
    if rolled:
        backfill(conn, "?" if conn.dialect.name == "sqlite" else "%s", int(rolled))


def downgrade() -> None:
    for table in ("actor_net_spans", "actor_nets", "actors", "running_totals", "rollup_levels"):
        op.drop_table(table)
