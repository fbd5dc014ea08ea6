"""On PostgreSQL events live in day partitions made ahead by the worker; retention drops them
whole. No event is refused or lost for want of a partition. SQLite keeps one plain table."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from analytics_app import partitions, retention
from analytics_app.extensions import db
from analytics_app.reports import raw

from helpers import Client, count_events, make_event, make_token, query

ADMIN = make_token(sub="partition-admin", scope="analytics:admin")

# Noon three days ago, well inside retention: its day has no partition until one is made.
OLD_DAY = (datetime.now(UTC) - timedelta(days=3)).replace(hour=12, minute=0, second=0)


@pytest.fixture
def postgresql(backend):
    if backend["name"] != "postgresql":
        pytest.skip("SQLite keeps one plain table")


@pytest.fixture(autouse=True)
def _no_partitions(app, backend):
    """Start from the default partition alone (partitions outlive the tables' emptying)."""
    with app.app_context():
        partitions.drop_before(datetime(9999, 1, 1, tzinfo=UTC))
        db.session.remove()


def partition_names(app):
    rows = query(
        app,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass",
    )
    return {name for (name,) in rows}


def where_stored(app):
    """Each event's user id and the partition that holds it."""
    return dict(query(app, "SELECT user_id, tableoid::regclass::text FROM events"))


def day_name(moment):
    return f"events_p{moment:%Y%m%d}"


def test_the_worker_makes_partitions_ahead_and_new_events_land_in_them(app, client, postgresql):
    made = app.extensions["tasks"].partition().get()
    today = datetime.now(UTC)
    ahead = [day_name(today + timedelta(days=n)) for n in range(8)]
    assert made == ahead
    assert set(ahead) <= partition_names(app)
    assert app.extensions["tasks"].partition().get() == []  # a rerun makes nothing twice
    assert client.ingest([make_event(user_id="now", ts=today.isoformat())]).status_code == 200
    assert where_stored(app) == {"now": day_name(today)}


def test_an_event_for_a_day_without_a_partition_is_kept_then_moved_to_its_own(
    app, client, postgresql
):
    assert client.ingest([make_event(user_id="late", ts=OLD_DAY.isoformat())]).json() == {
        "ingested": 1,
        "duplicates": 0,
    }
    assert where_stored(app) == {"late": partitions.DEFAULT}
    with app.app_context():
        made = partitions.make_ahead()
    assert made[0] == day_name(OLD_DAY)
    assert where_stored(app) == {"late": day_name(OLD_DAY)}
    assert count_events(app) == 1


def test_partitions_of_several_days_each_hold_their_span(make_app, postgresql, client):
    app = make_app(EVENT_PARTITION_DAYS="7", EVENT_PARTITIONS_AHEAD_DAYS="0")
    with app.app_context():
        made = partitions.make_ahead()
        spans = partitions.existing()
    first, end = spans[made[0]]
    assert end - first == timedelta(days=7)
    assert (first - datetime(1970, 1, 1, tzinfo=UTC)).days % 7 == 0
    assert first <= datetime.now(UTC) < end


def test_the_cli_makes_partitions_and_says_which(app, backend):
    result = app.test_cli_runner().invoke(args=["analytics", "partitions"])
    assert result.exit_code == 0, result.output
    if backend["name"] == "postgresql":
        assert result.output.startswith("made 8 partition(s): events_p")
    else:
        assert result.output.strip() == "made 0 partition(s)"
    since = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    earlier = app.test_cli_runner().invoke(args=["analytics", "partitions", "--from", since])
    assert earlier.exit_code == 0, earlier.output
    if backend["name"] == "postgresql":
        assert earlier.output.startswith(f"made 3 partition(s): events_p{since.replace('-', '')}")


def test_retention_drops_whole_partitions_and_deletes_only_at_the_edge(
    make_app, client, backend, monkeypatch
):
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    app = make_app(EVENT_RETENTION_DAYS="30", EVENT_PARTITIONS_AHEAD_DAYS="0")
    now = datetime.now(UTC)
    old = [now - timedelta(days=40, hours=n) for n in range(3)]
    edge = [now - timedelta(days=30, seconds=10 + n) for n in range(5)]
    young = [now - timedelta(days=29, hours=23), now - timedelta(hours=1)]
    with app.app_context():
        # Ingest refuses events past retention: these were stored while they were young.
        for moment in old + edge + young:
            db.session.execute(
                db.text(
                    "INSERT INTO events (client_id, ts, user_id, type) "
                    "VALUES (:id, :ts, :user, 'page_view')"
                ),
                {"id": f"c-{moment.timestamp()}", "ts": moment, "user": f"u{moment.timestamp()}"},
            )
            if backend["name"] == "postgresql":
                db.session.execute(
                    db.text("INSERT INTO event_ids VALUES (:id)"), {"id": f"c-{moment.timestamp()}"}
                )
        db.session.commit()
        partitions.make_ahead()
        batches = []
        deleted = retention.clean_up(progress=batches.append)
    assert deleted["events"] == len(old) + len(edge)
    assert count_events(app) == len(young)
    if backend["name"] == "postgresql":
        names = partition_names(app)
        assert not {day_name(moment) for moment in old} & names
        assert day_name(edge[0]) in names  # the edge partition stays: young events share it
        assert batches[0] == len(old)  # dropped whole, then the edge in batches of 2
        assert batches[1:4] == [2, 2, 1]
        ids = query(app, "SELECT count(*) FROM event_ids")[0][0]
        assert ids == len(young)
    else:
        assert batches[:4] == [2, 2, 2, 2]


def test_erasure_takes_the_events_client_ids_along(app, client, postgresql):
    events = [make_event(user_id="alice") for _ in range(3)] + [make_event(user_id="bob")]
    assert client.ingest(events).json()["ingested"] == 4
    admin = Client(client.url, ADMIN)
    assert admin.request("DELETE", "/api/analytics/users/alice").status_code == 202
    assert query(app, "SELECT client_id FROM event_ids") == [(events[3]["id"],)]
    # The erased user's retry is dropped again, never counted as stored.
    assert client.ingest(events[:1]).json() == {"ingested": 0, "duplicates": 0, "dropped": 1}


def test_reports_over_several_spans_read_only_their_partitions(app, postgresql):
    """A report over numbered spans joins them to events; without the spans' bounds as
    constants PostgreSQL read every partition, today's whole one included (the soak: two
    empty days of a month's DAU series took 0.3-0.7 s, longer as today filled)."""
    with app.app_context():
        app.extensions["tasks"].partition().get()
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spans = [(today + timedelta(days=n), today + timedelta(days=n + 1)) for n in (2, 3)]
        statements = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert raw.distinct_users(spans) == [0, 0]
            assert raw.event_counts(spans) == [{}, {}]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        driver = db.session.connection().connection.driver_connection
        for statement, parameters in statements:
            with driver.cursor() as cursor:
                rows = cursor.execute(f"EXPLAIN {statement}", parameters).fetchall()
            plan = "\n".join(row[0] for row in rows)
            read = set(re.findall(r"on (events_\w+)", plan))
            assert read == {day_name(lo) for lo, _ in spans}, plan
