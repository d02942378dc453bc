"""Identity, continued: which IdP groups grant which scopes, tenants and alerts; dashboard sessions.

A dashboard session is a token of kind `session` (short-lived, kept in a cookie), so offboarding that
revokes a user's tokens ends their sessions in the same statement.

Revision ID: 0007_groups
Revises: 0006_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_groups"
down_revision = "0006_identity"
branch_labels = None
depends_on = None

US = sa.BigInteger


def upgrade() -> None:
    op.add_column("tokens", sa.Column("kind", sa.String(16), nullable=False, server_default="api"))
    op.create_table(
        "group_mappings",
        sa.Column("group_key", sa.String(256), primary_key=True),  # the group's displayName, case-folded
        sa.Column("group_name", sa.String(256), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("tenants", sa.Text),  # JSON list; NULL: every tenant
        sa.Column("alert_severity", sa.String(16)),  # members receive alerts of at least this severity
        sa.Column("updated_us", US, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("group_mappings")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("kind")
