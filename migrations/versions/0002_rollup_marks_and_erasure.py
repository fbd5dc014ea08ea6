"""Rollup marks, erased users and erasure jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "rollup_marks",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("first_ts", Timestamp, nullable=False),
        sa.Column("last_ts", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_marks"),
    )
    op.create_table(
        "erased_users",
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("erased_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_erased_users"),
    )
    op.create_table(
        "erasure_jobs",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("events_deleted", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("requested_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_erasure_jobs"),
    )


def downgrade():
    op.drop_table("erasure_jobs")
    op.drop_table("erased_users")
    op.drop_table("rollup_marks")
