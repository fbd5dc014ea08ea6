"""Batches of ``COPY_FROM`` events or more travel by COPY on PostgreSQL (one statement below
that, and always on SQLite): every path must store exactly the same thing."""

import json
from datetime import UTC, datetime, timedelta

from analytics_app.extensions import db
from analytics_app.ingest import writer
from analytics_app.ingest.writer import COPY_FROM
from analytics_app.reports.stored import rolled_zones
from analytics_app.rollup.run import roll_up

from helpers import count_events, make_event, query

SIZE = COPY_FROM + 20


def utc(value):
    """A stored time as aware UTC (SQLite returns text or naive values)."""
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def awkward_events():
    """Values that COPY's text format must escape or mark as NULL, mixed with plain ones."""
    now = datetime.now(UTC).replace(microsecond=123456)
    events = []
    for n in range(SIZE):
        payload = {
            "page": f"/p/{n}",
            "text": 'tab\tnewline\nquote" backslash\\ \\N unicode é ✓ 𝄞',
            "nested": {"list": [1, 2.5, None, True], "empty": {}},
        }
        moment = now - timedelta(minutes=n)
        offset = "+05:30" if n % 2 else "Z"
        if offset != "Z":
            moment = moment.astimezone(datetime.strptime("+0530", "%z").tzinfo)
        event = make_event(
            ts=moment.isoformat().replace("+00:00", "Z"),
            user_id=f"user\\{n % 7}-é",
            src=None if n % 4 == 0 else "web_app",
            payload=None if n % 5 == 0 else payload,
        )
        if n % 3 == 0:
            del event["id"]
        events.append(event)
    return events


def stored(app):
    rows = query(app, "SELECT client_id, ts, user_id, type, src, payload FROM events ORDER BY id")
    result = []
    for client_id, ts, user_id, type_, src, payload in rows:
        payload = json.loads(payload) if isinstance(payload, str) else payload
        result.append((client_id, utc(ts), user_id, type_, src, payload))
    return result


def expected(events):
    return [
        (
            e.get("id"),
            datetime.fromisoformat(e["ts"]).astimezone(UTC),
            e["user_id"],
            e["type"],
            e["src"],
            e["payload"],
        )
        for e in events
    ]


def test_a_large_batch_is_stored_exactly(app, client, backend, monkeypatch):
    if backend["name"] == "postgresql":  # by COPY, not by the statement

        def statement_used(*args):
            raise AssertionError("the statement path wrote a large batch")

        monkeypatch.setattr(writer, "_insert", statement_used)
    events = awkward_events()
    assert client.ingest(events).json() == {"ingested": SIZE, "duplicates": 0}
    assert stored(app) == expected(events)
    [(received, stored_, duplicate, refused)] = query(
        app,
        "SELECT events_received, events_stored, events_duplicate, events_refused FROM ingest_audit",
    )
    assert (received, stored_, duplicate, refused) == (SIZE, SIZE, 0, 0)


def test_a_large_retry_stores_only_the_new_events(app, client):
    events = [make_event() for _ in range(SIZE)]
    assert client.ingest(events).json() == {"ingested": SIZE, "duplicates": 0}
    retry = client.ingest([*events, *(make_event() for _ in range(5))])
    assert retry.json() == {"ingested": 5, "duplicates": SIZE}
    repeated = make_event()
    inside = client.ingest([repeated] * 2 + [make_event() for _ in range(SIZE)])
    assert inside.json() == {"ingested": SIZE + 1, "duplicates": 1}
    assert count_events(app) == 2 * SIZE + 6


def test_a_large_batch_drops_erased_users(app, client):
    with app.app_context():
        db.session.execute(db.text("INSERT INTO erased_users (user_id) VALUES ('gone')"))
        db.session.commit()
    events = [make_event(user_id="gone" if n % 10 == 0 else "kept") for n in range(SIZE)]
    dropped = len([e for e in events if e["user_id"] == "gone"])
    answer = client.ingest(events).json()
    assert answer == {"ingested": SIZE - dropped, "duplicates": 0, "dropped": dropped}
    assert query(app, "SELECT DISTINCT user_id FROM events") == [("kept",)]


def test_a_large_late_batch_leaves_a_mark(app, client):
    with app.app_context():
        roll_up(rolled_zones(app.config))
    recent = [make_event() for _ in range(SIZE)]
    client.ingest(recent)
    assert query(app, "SELECT count(*) FROM rollup_marks") == [(0,)]
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    late = [make_event(ts=(two_days_ago + timedelta(seconds=n)).isoformat()) for n in range(SIZE)]
    client.ingest(late)
    [span] = query(app, "SELECT first_ts, last_ts FROM rollup_marks")
    first, last = map(utc, span)
    assert abs(first - two_days_ago) < timedelta(seconds=1)
    assert abs(last - (two_days_ago + timedelta(seconds=SIZE - 1))) < timedelta(seconds=1)
