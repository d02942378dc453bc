"""Identity: SCIM 2.0 users, groups and memberships, and the user a personal token belongs to (offboarding).

Revision ID: 0006_identity
Revises: 0005_governance
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_identity"
down_revision = "0005_governance"
branch_labels = None
depends_on = None

US = sa.BigInteger


def upgrade() -> None:
    op.add_column("tokens", sa.Column("user_id", sa.String(40)))
    op.create_index("ix_tokens_user", "tokens", ["user_id"])
    op.create_table(
        "scim_users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_name", sa.String(256), nullable=False),
        sa.Column("user_name_key", sa.String(256), nullable=False, unique=True),
        sa.Column("external_id", sa.String(256)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_us", US, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )
    op.create_table(
        "scim_groups",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("external_id", sa.String(256)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_us", US, nullable=False),
        sa.Column("updated_us", US, nullable=False),
    )
    op.create_table(
        "scim_members",
        sa.Column("group_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), primary_key=True),
    )
    op.create_index("ix_scim_members_user", "scim_members", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_scim_members_user", table_name="scim_members")
    op.drop_table("scim_members")
    op.drop_table("scim_groups")
    op.drop_table("scim_users")
    op.drop_index("ix_tokens_user", table_name="tokens")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("user_id")
