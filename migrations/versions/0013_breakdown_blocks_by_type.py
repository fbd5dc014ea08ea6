"""Breakdown blocks rebuilt with the rows narrowed to one type (PostgreSQL).

Blocks of days held only the rows of all types; they now hold the rows narrowed to one type
too, which breakdowns filtered by a type or a source read. The old blocks go; the next
rollup builds them again from their days (``rollup.breakdowns.backfill``), which are kept.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DELETE FROM breakdown_bits WHERE days > 1")
    op.execute("DELETE FROM breakdown_covers WHERE days > 1")


def downgrade():
    pass
