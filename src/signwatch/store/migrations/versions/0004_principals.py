"""Service principals (OAuth clients) and short-lived access tokens issued to them.

Revision ID: 0004_principals
Revises: 0003_export
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_principals"
down_revision = "0003_export"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("tenants", sa.Text),
        sa.Column("secret_hash", sa.String(64)),
        sa.Column("public_keys", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("disabled_us", sa.BigInteger),
    )
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_us", sa.BigInteger))
        batch.add_column(sa.Column("principal_id", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("principal_id")
        batch.drop_column("expires_us")
    op.drop_table("principals")
