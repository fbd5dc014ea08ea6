"""Migration 0009 converts a filled ``events`` table into partitions on PostgreSQL: every row
kept as it was, every client id still a duplicate, ids going on from where they were; and back."""

from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from analytics_app import ROOT, partitions
from analytics_app.extensions import db

from conftest import postgres_database
from helpers import Client, make_event, make_token

BEFORE, PARTITIONED = "0008", "0009"
MIGRATIONS = str(ROOT / "migrations")
ROWS = 3000
_FILL = """
INSERT INTO events (client_id, ts, user_id, type, src, payload)
SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE 'old-' || i END,
       now() - make_interval(mins => i * 20), 'user-' || (i % 97), 'page_view', 'web_app',
       jsonb_build_object('page', '/p/' || i)
FROM generate_series(1, :rows) AS i
"""
_ROWS = "SELECT id, client_id, ts, user_id, type, src, payload, created_at FROM events ORDER BY id"


@pytest.fixture
def filled(make_app, backend):
    """An app whose database stops before the conversion, with ``ROWS`` events in it."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite keeps one plain table")
    url, drop = postgres_database()
    app = make_app(DATABASE_URL=url)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        db.session.execute(text(_FILL), {"rows": ROWS})
        db.session.execute(text("DELETE FROM events WHERE id > :last"), {"last": ROWS - 5})
        db.session.commit()
        before = db.session.execute(text(_ROWS)).all()
        db.session.remove()
    yield app, before
    with app.app_context():
        db.engine.dispose()
    drop()


def test_the_conversion_keeps_every_row_and_every_duplicate_guarantee(filled, serve):
    app, before = filled
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=PARTITIONED)
        assert db.session.execute(text(_ROWS)).all() == before
        where = db.session.execute(
            text("SELECT DISTINCT tableoid::regclass::text FROM events")
        ).all()
        assert where == [("events_legacy",)]
        ids = db.session.execute(text("SELECT count(*) FROM event_ids")).scalar()
        assert ids == sum(1 for row in before if row.client_id is not None)
        made = partitions.make_ahead()
        upgrade(directory=MIGRATIONS)  # the later migrations, which the code ingesting needs
        db.session.remove()
    assert made[0] == f"events_p{datetime.now(UTC) + timedelta(days=1):%Y%m%d}"

    client = Client(serve(app).url, make_token())
    old = before[1]
    retry = make_event(id=old.client_id, ts=old.ts.isoformat(), user_id=old.user_id)
    fresh = make_event(user_id="after-the-conversion")
    assert client.ingest([retry, fresh]).json() == {"ingested": 1, "duplicates": 1}
    with app.app_context():
        (new_id,) = db.session.execute(
            text("SELECT id FROM events WHERE user_id = 'after-the-conversion'")
        ).one()
        db.session.remove()
    assert new_id > ROWS  # the identity goes on after the highest id ever given


def test_the_conversion_runs_back_to_one_table(filled):
    app, before = filled
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=PARTITIONED)
        partitions.make_ahead()
        downgrade(directory=MIGRATIONS, revision=BEFORE)
        assert db.session.execute(text(_ROWS)).all() == before
        kind = db.session.execute(
            text("SELECT relkind FROM pg_class WHERE relname = 'events'")
        ).scalar()
        assert kind == "r"
        duplicate = text(
            "INSERT INTO events (client_id, ts, user_id, type) VALUES (:id, now(), 'u', 't')"
        )
        with pytest.raises(IntegrityError, match="uq_events_client_id"):
            db.session.execute(duplicate, {"id": before[1].client_id})
        db.session.rollback()
        upgrade(directory=MIGRATIONS)
        db.session.remove()
