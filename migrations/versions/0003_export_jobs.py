"""Export jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "export_jobs",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("params", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("created_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_export_jobs"),
    )


def downgrade():
    op.drop_table("export_jobs")
