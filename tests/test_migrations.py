"""The migrations build exactly the models' schema, and run down and up again, on both backends."""

import uuid

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from analytics_app import ROOT
from analytics_app.extensions import db
from analytics_app.models.types import schema_filter

from conftest import POSTGRES_URL


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        include = schema_filter(connection.dialect.name)
        context = MigrationContext.configure(connection, opts={"include_object": include})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_events_table_has_bigint_ids_a_unique_client_id_and_query_indexes(app, backend):
    with app.app_context():
        inspector = inspect(db.engine)
        columns = {column["name"]: column for column in inspector.get_columns("events")}
        indexes = {
            index["name"]: index["column_names"] for index in inspector.get_indexes("events")
        }
        uniques = [u["column_names"] for u in inspector.get_unique_constraints("events")]
        primary_key = inspector.get_pk_constraint("events")["constrained_columns"]
        id_key = backend["name"] == "postgresql" and inspector.get_pk_constraint("event_ids")
    assert indexes["ix_events_ts_user_id"] == ["ts", "user_id"]
    if backend["name"] == "postgresql":
        assert str(columns["id"]["type"]) == "BIGINT"
        # Partitioned by ts: every unique index holds it; client ids are unique in event_ids.
        assert primary_key == ["user_id", "ts", "id"]
        assert id_key["constrained_columns"] == ["client_id"]
    else:
        assert primary_key == ["id"]
        assert ["client_id"] in uniques
        assert indexes["ix_events_user_id_ts"] == ["user_id", "ts"]


def test_migrations_downgrade_and_upgrade_cleanly(make_app, backend, tmp_path):
    if backend["name"] == "postgresql":
        name = f"analytics_migrate_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{tmp_path}/fresh.db"
    app = make_app(DATABASE_URL=url)
    directory = str(ROOT / "migrations")
    try:
        with app.app_context():
            upgrade(directory=directory)
            downgrade(directory=directory, revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade(directory=directory)
            assert {"events", "metrics", "ingest_audit"} <= set(
                inspect(db.engine).get_table_names()
            )
            db.engine.dispose()
    finally:
        if backend["name"] == "postgresql":
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
