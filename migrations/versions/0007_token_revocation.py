"""Revoked tokens: when and by whom, and an index of the revoked ones by expiry.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
_REVOKED = sa.text("revoked_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("revoked_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(255), nullable=True))
    op.create_index(
        "ix_api_tokens_revoked_expires_at",
        "api_tokens",
        ["expires_at"],
        postgresql_where=_REVOKED,
        sqlite_where=_REVOKED,
    )


def downgrade():
    op.drop_index("ix_api_tokens_revoked_expires_at", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
