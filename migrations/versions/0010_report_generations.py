"""Report generations: counters that ingest, erasure, retention and the rollup bump in the
transaction that changes events, so cached reports are invalidated by the writes themselves.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "report_generations",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", BigId, nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_report_generations")),
    )


def downgrade():
    op.drop_table("report_generations")
