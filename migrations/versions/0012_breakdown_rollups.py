"""Breakdown rollups (PostgreSQL): users numbered densely, and per day and value the events
and a bitmap of users, so a breakdown over a range ORs bitmaps instead of reading its events
(``analytics_app.models.breakdowns``). SQLite gets nothing: its breakdowns read raw events.

Filled by the next rollup run for every finished day it has rolled whose events are all
still stored; ``flask --app wsgi analytics rollup --start …`` recomputes earlier days.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BIT

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CHUNK_BITS = 65536


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "user_numbers",
        sa.Column("number", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_user_numbers"),
        sa.UniqueConstraint("user_id", name="uq_user_numbers_user_id"),
    )
    op.create_table(
        "breakdown_bits",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(80), nullable=False),
        sa.Column("type", sa.String(64), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("users", BIT(CHUNK_BITS), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_breakdown_bits"),
    )
    op.create_index(
        "ix_breakdown_bits_tz_dimension_date",
        "breakdown_bits",
        ["tz", "dimension", "date", "days"],
    )
    op.create_table(
        "breakdown_covers",
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(80), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column("overflowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tz", "dimension", "date", "days", name="pk_breakdown_covers"),
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("breakdown_covers")
    op.drop_table("breakdown_bits")
    op.drop_table("user_numbers")
