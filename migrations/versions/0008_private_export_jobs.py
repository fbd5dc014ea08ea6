"""Export jobs get a random public id and an owner; dashboard user ids are never reused.

Existing jobs each get a public id. Their owner comes from ``requested_by``: a token subject
as it is; ``dashboard:<email>`` the user of that email who existed when the job was made (a
later account of the same email is another person), or none (then admins alone see it).

SQLite reuses the highest row id after a delete unless the table is AUTOINCREMENT, so
``dashboard_users`` is rebuilt that way there: an id then names one account for good.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_OWNERS = [
    """UPDATE export_jobs SET owner_sub = requested_by
       WHERE requested_by NOT LIKE 'dashboard:%'""",
    """UPDATE export_jobs SET owner_user_id = (
           SELECT u.id FROM dashboard_users u
           WHERE 'dashboard:' || u.email = export_jobs.requested_by
             AND u.created_at <= export_jobs.created_at)
       WHERE requested_by LIKE 'dashboard:%'""",
]


def _rebuild_users(autoincrement):
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "dashboard_users",
            recreate="always",
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ):
            pass


def upgrade():
    with op.batch_alter_table("export_jobs") as batch:
        batch.add_column(sa.Column("public_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("owner_user_id", BigId, nullable=True))
        batch.add_column(sa.Column("owner_sub", sa.String(255), nullable=True))
    connection = op.get_bind()
    for (job_id,) in connection.execute(sa.text("SELECT id FROM export_jobs")).all():
        connection.execute(
            sa.text("UPDATE export_jobs SET public_id = :public_id WHERE id = :id"),
            {"public_id": secrets.token_urlsafe(16), "id": job_id},
        )
    for statement in _OWNERS:
        connection.execute(sa.text(statement))
    with op.batch_alter_table("export_jobs") as batch:
        batch.alter_column("public_id", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_export_jobs_public_id", ["public_id"])
        batch.create_check_constraint("one_owner", "owner_user_id IS NULL OR owner_sub IS NULL")
        batch.create_index("ix_export_jobs_owner_user_id", ["owner_user_id"])
        batch.create_index("ix_export_jobs_owner_sub", ["owner_sub"])
    _rebuild_users(autoincrement=True)


def downgrade():
    _rebuild_users(autoincrement=False)
    with op.batch_alter_table("export_jobs") as batch:
        batch.drop_index("ix_export_jobs_owner_sub")
        batch.drop_index("ix_export_jobs_owner_user_id")
        batch.drop_constraint(op.f("ck_export_jobs_one_owner"), type_="check")
        batch.drop_constraint("uq_export_jobs_public_id", type_="unique")
        batch.drop_column("owner_sub")
        batch.drop_column("owner_user_id")
        batch.drop_column("public_id")
