"""Alembic environment: run migrations on the Flask app's engine (PostgreSQL or SQLite)."""

import logging

from alembic import context
from flask import current_app

from analytics_app.models.types import schema_filter

config = context.config
# Records go to the app's JSON log handler (analytics_app.logs); show Alembic's progress.
logging.getLogger("alembic").setLevel(logging.INFO)
logger = logging.getLogger("alembic.env")

migrate = current_app.extensions["migrate"]
engine = migrate.db.engine
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def skip_empty_autogenerate(context, revision, directives):
    """Don't write a migration when ``flask db migrate`` finds no schema change."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    """Emit SQL for the configured URL without connecting (``flask db upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=migrate.db.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations over a connection from the app's engine."""
    args = dict(migrate.configure_args)
    args.setdefault("process_revision_directives", skip_empty_autogenerate)
    with engine.connect() as connection:
        args.setdefault("include_object", schema_filter(connection.dialect.name))
        context.configure(connection=connection, target_metadata=migrate.db.metadata, **args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
