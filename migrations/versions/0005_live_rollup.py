"""Today's distinct users kept by the rollup, and the boundary that tells ingest when to mark.

``rollup_boundary`` holds one row: the instant before which some rollup (a finished day, or
the covered part of today) may already include events. Ingest marks a batch reaching back
before it. On PostgreSQL two functions move and read it under one advisory lock, so a batch
committing after the boundary moved has always seen the new value (see
``analytics_app.reports.rollups``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)

# Any fixed bigint; only these two functions use it.
_LOCK = 4_632_117_019
_READ = f"""
CREATE FUNCTION rollup_covered_before() RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock_shared({_LOCK});
    SELECT covered_before FROM rollup_boundary;
$$
"""
_ADVANCE = f"""
CREATE FUNCTION advance_rollup_boundary(instant timestamptz) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock({_LOCK});
    UPDATE rollup_boundary SET covered_before = greatest(covered_before, instant);
$$
"""


def upgrade():
    boundary = op.create_table(
        "rollup_boundary",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("covered_before", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_boundary"),
        sa.CheckConstraint("id = 1", name="ck_rollup_boundary_one_row"),
    )
    op.bulk_insert(boundary, [{"id": 1, "covered_before": None}])
    op.create_table(
        "live_days",
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("covered_until", Timestamp, nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tz", "date", name="pk_live_days"),
    )
    op.create_table(
        "live_day_users",
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("tz", "date", "user_id", name="pk_live_day_users"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_READ)
        op.execute(_ADVANCE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION advance_rollup_boundary(timestamptz)")
        op.execute("DROP FUNCTION rollup_covered_before()")
    op.drop_table("live_day_users")
    op.drop_table("live_days")
    op.drop_table("rollup_boundary")
