"""Funnel rollups (PostgreSQL): per rolled zone, finished day and user, the day's events as
kinds and instants, so a funnel reads short rows instead of raw events
(``analytics_app.models.funnels``). SQLite gets nothing: its funnels read raw events.

Filled by the next rollup run for every finished day it has rolled whose events are all
still stored; ``flask --app wsgi analytics rollup --start …`` recomputes earlier days.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "funnel_kinds",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("src", sa.String(64), nullable=True),
        sa.Column("kept", JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_funnel_kinds"),
        sa.UniqueConstraint(
            "type",
            "src",
            "kept",
            name="uq_funnel_kinds_type_src_kept",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "funnel_days",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("kinds", ARRAY(sa.Integer()), nullable=False),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("date", "tz", "number", name="pk_funnel_days"),
    )
    op.create_index("ix_funnel_days_number", "funnel_days", ["number"])
    op.create_index("ix_funnel_days_date", "funnel_days", ["date"], postgresql_using="brin")
    op.create_table(
        "funnel_covers",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("keys", ARRAY(sa.String(64)), nullable=False),
        sa.PrimaryKeyConstraint("date", "tz", name="pk_funnel_covers"),
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("funnel_covers")
    op.drop_table("funnel_days")
    op.drop_table("funnel_kinds")
