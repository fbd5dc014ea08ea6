"""Dashboard users, their sessions, and the record of minted API tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "dashboard_users",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.Column("last_sign_in_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_users"),
        sa.UniqueConstraint("email", name="uq_dashboard_users_email"),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["dashboard_users.id"],
            name="fk_dashboard_sessions_user_id_dashboard_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dashboard_sessions_user_id", "dashboard_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("scopes", sa.String(255), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_api_tokens"),
    )
    op.create_index("ix_api_tokens_created_at", "api_tokens", ["created_at"])


def downgrade():
    op.drop_table("api_tokens")
    op.drop_table("dashboard_sessions")
    op.drop_table("dashboard_users")
