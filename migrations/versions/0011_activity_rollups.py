"""Activity rollups: users per day, first and last seen, sessions and page views per day.

Kept per rolled zone and finished local day by the rollup, so reports over a range read rows
of that range instead of raw events (``analytics_app.models.activity``). Filled by the next
rollup run over the days it recomputes; ``flask --app wsgi analytics rollup --start …``
fills earlier days.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "user_days",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("date", "tz", "user_id", name="pk_user_days"),
    )
    op.create_index("ix_user_days_user_id_tz_date", "user_days", ["user_id", "tz", "date"])
    op.create_table(
        "users_seen",
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=True),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "tz", name="pk_users_seen"),
    )
    op.create_index("ix_users_seen_tz_first_date", "users_seen", ["tz", "first_date"])
    op.create_index("ix_users_seen_tz_last_date", "users_seen", ["tz", "last_date"])
    op.create_table(
        "session_days",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("first_ts", Timestamp, nullable=False),
        sa.Column("last_ts", Timestamp, nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_session_days"),
    )
    op.create_index("ix_session_days_date_tz_shared", "session_days", ["date", "tz", "shared"])
    op.create_index(
        "ix_session_days_session_id", "session_days", ["session_id"], postgresql_using="hash"
    )
    op.create_table(
        "page_days",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("page", sa.Text(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_page_days"),
    )
    op.create_index("ix_page_days_date_tz", "page_days", ["date", "tz"])


def downgrade():
    op.drop_table("page_days")
    op.drop_table("session_days")
    op.drop_table("users_seen")
    op.drop_table("user_days")
