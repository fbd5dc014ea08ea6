"""Events, metrics and the ingest audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=True),
        sa.Column("ts", Timestamp, nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("src", sa.String(64), nullable=True),
        sa.Column("payload", Json, nullable=True),
        sa.Column("created_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("client_id", name="uq_events_client_id"),
    )
    op.create_index("ix_events_ts_user_id", "events", ["ts", "user_id"])
    op.create_index("ix_events_user_id_ts", "events", ["user_id", "ts"])

    op.create_table(
        "metrics",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("dimensions", Json, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.UniqueConstraint("date", "name", "dimensions", name="uq_metrics_date_name_dimensions"),
    )

    op.create_table(
        "ingest_audit",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("received_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("http_status", sa.SmallInteger(), nullable=False),
        sa.Column("events_received", sa.Integer(), nullable=False),
        sa.Column("events_stored", sa.Integer(), nullable=False),
        sa.Column("events_duplicate", sa.Integer(), nullable=False),
        sa.Column("events_refused", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_audit"),
    )
    op.create_index("ix_ingest_audit_received_at", "ingest_audit", ["received_at"])


def downgrade():
    op.drop_table("ingest_audit")
    op.drop_table("metrics")
    op.drop_table("events")
