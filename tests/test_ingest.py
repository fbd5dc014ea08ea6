"""POST /ingest accepts what the contract allows, stores it exactly, and never double-counts."""

import gzip
import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DataError

from analytics_app.extensions import db
from analytics_app.ingest.service import _write_connection
from analytics_app.reports.stored import rolled_zones
from analytics_app.rollup.run import roll_up

from helpers import count_events, make_event, make_token, query


def stored_events(app):
    rows = query(app, "SELECT client_id, ts, user_id, type, src, payload FROM events ORDER BY id")
    return [
        {
            "id": row[0],
            "ts": _utc(row[1]),
            "user_id": row[2],
            "type": row[3],
            "src": row[4],
            "payload": json.loads(row[5]) if isinstance(row[5], str) else row[5],
        }
        for row in rows
    ]


def _utc(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_ingest_stores_a_batch_exactly(app, client):
    events = [make_event(), make_event(type="button_click", payload={"button_id": "save"})]
    response = client.ingest(events)
    assert response.status_code == 200
    assert response.json() == {"ingested": 2, "duplicates": 0}
    stored = stored_events(app)
    assert [e["id"] for e in stored] == [e["id"] for e in events]
    assert stored[1]["payload"] == {"button_id": "save"}
    assert stored[0]["ts"] == datetime.fromisoformat(events[0]["ts"])


def test_ingest_accepts_one_event_object(app, client):
    response = client.ingest(make_event())
    assert response.json() == {"ingested": 1, "duplicates": 0}
    assert count_events(app) == 1


def test_seed_curl_example_works_as_written(app, client):
    """The seed's batch, without ids or X-Sent-At, as its README posts it."""
    now = datetime.now(UTC).replace(microsecond=0)
    body = [
        {
            "ts": now.isoformat().replace("+00:00", "Z"),
            "user_id": "user-123",
            "type": "page_view",
            "src": "web_app",
            "payload": {"page": "/dashboard"},
        },
        {
            "ts": (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "user_id": "user-123",
            "type": "button_click",
            "src": "web_app",
            "payload": {"button_id": "save_profile"},
        },
    ]
    response = client.post(
        "/api/analytics/ingest",
        data=json.dumps(body, indent=2),
        headers={"Content-Type": "application/json"},
    )
    assert response.json() == {"ingested": 2, "duplicates": 0}


def test_optional_fields_may_be_absent_or_null(app, client):
    bare = {"ts": make_event()["ts"], "user_id": "u", "type": "video_play"}
    nulls = {**bare, "src": None, "payload": None, "id": None}
    assert client.ingest([bare, nulls]).json() == {"ingested": 2, "duplicates": 0}
    assert [(e["src"], e["payload"], e["id"]) for e in stored_events(app)] == [
        (None, None, None)
    ] * 2


def test_retrying_a_batch_never_double_counts(app, client):
    events = [make_event() for _ in range(5)]
    assert client.ingest(events).json() == {"ingested": 5, "duplicates": 0}
    retry = client.ingest([*events, make_event()])
    assert retry.json() == {"ingested": 1, "duplicates": 5}
    assert count_events(app) == 6


def test_the_same_batch_sent_concurrently_is_stored_once(app, client):
    """Retries racing the original: each event is stored by exactly one of the requests."""
    events = [make_event() for _ in range(200)]
    with ThreadPoolExecutor(4) as pool:
        answers = [r.json() for r in pool.map(lambda _: client.ingest(events), range(4))]
    assert sum(a["ingested"] for a in answers) == 200
    assert sum(a["duplicates"] for a in answers) == 600
    assert count_events(app) == 200


def test_a_repeated_id_inside_one_batch_is_stored_once(app, client):
    event = make_event()
    assert client.ingest([event, event]).json() == {"ingested": 1, "duplicates": 1}
    assert count_events(app) == 1


def test_gzip_body_is_inflated(app, client):
    events = [make_event() for _ in range(50)]
    response = client.post(
        "/api/analytics/ingest",
        data=gzip.compress(json.dumps(events).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.json() == {"ingested": 50, "duplicates": 0}


def test_sent_at_corrects_client_clock_skew(app, client):
    """A client whose clock runs 2 hours fast has its times moved back by 2 hours."""
    skew = timedelta(hours=2)
    client_now = datetime.now(UTC) + skew
    event = make_event(ts=(client_now - timedelta(minutes=5)).isoformat())
    response = client.ingest([event], headers={"X-Sent-At": client_now.isoformat()})
    assert response.status_code == 200
    [stored] = stored_events(app)
    expected = datetime.now(UTC) - timedelta(minutes=5)
    assert abs(stored["ts"] - expected) < timedelta(seconds=5)


def test_created_at_records_when_the_server_received_the_event(app, client):
    old = datetime.now(UTC) - timedelta(days=3)
    client.ingest([make_event(ts=old.isoformat())])
    [(ts, created_at)] = query(app, "SELECT ts, created_at FROM events")
    assert abs(_utc(created_at) - datetime.now(UTC)) < timedelta(minutes=1)
    assert abs(_utc(ts) - old) < timedelta(seconds=1)


def test_naive_timestamp_is_read_as_utc(app, client):
    naive = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    client.ingest([make_event(ts=naive.isoformat())])
    assert stored_events(app)[0]["ts"] == naive.replace(tzinfo=UTC)


def test_offset_timestamp_is_stored_as_the_same_instant(app, client):
    instant = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    local = instant.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    client.ingest([make_event(ts=local.isoformat())])
    assert stored_events(app)[0]["ts"] == instant


def test_unicode_is_stored_exactly(app, client):
    payload = {"title": "Ünïcödé — 日本語 😀", "emoji_escape": "\U0001f600", "backslash": "\\u0000"}
    client.ingest([make_event(user_id="usér-ß", payload=payload)])
    [stored] = stored_events(app)
    assert stored["payload"] == payload
    assert stored["user_id"] == "usér-ß"


def test_number_like_text_and_large_numbers_are_stored(app, client):
    payload = {"formula": "6.02e23000", "big": 1e300, "digits": 12345678901234567890123}
    assert client.ingest([make_event(payload=payload)]).status_code == 200
    stored = stored_events(app)[0]["payload"]
    assert stored["formula"] == "6.02e23000"
    assert stored["digits"] == 12345678901234567890123
    assert float(stored["big"]) == 1e300  # PostgreSQL's jsonb keeps it as an exact numeric


def test_neutral_alias_path_ingests_too(app, client):
    response = client.post("/api/e", json=[make_event()])
    assert response.json() == {"ingested": 1, "duplicates": 0}
    assert count_events(app) == 1


def test_alias_path_is_configurable(make_app, serve):
    from helpers import Client

    app = make_app(INGEST_ALIAS_PATH="/v1/batch")
    client = Client(serve(app).url, make_token())
    assert client.post("/v1/batch", json=[make_event()]).status_code == 200
    assert client.post("/api/e", json=[make_event()]).status_code == 404


def test_browser_preflight_is_answered(client):
    response = client.request(
        "OPTIONS",
        "/api/analytics/ingest",
        token=None,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-sent-at",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "x-sent-at"} <= set(
        allowed.replace(" ", "").split(",")
    )


def test_user_ids_are_anonymised_with_a_keyed_hash(make_app, serve):
    from helpers import Client

    key = "k" * 40
    app = make_app(ANONYMIZE_USER_IDS="true", ANONYMIZE_KEY=key)
    client = Client(serve(app).url, make_token())
    client.ingest([make_event(user_id="alice@example.com")])
    [stored] = stored_events(app)
    expected = hmac.new(key.encode(), b"alice@example.com", hashlib.sha256).hexdigest()
    assert stored["user_id"] == expected
    assert stored["user_id"] != hashlib.sha256(b"alice@example.com").hexdigest()


def test_every_batch_leaves_an_audit_record(app, client):
    client.ingest([make_event(), make_event()], headers={"X-Request-ID": "req-accepted-1"})
    event = make_event()
    client.ingest([event])
    client.ingest([event, make_event(type="nope")], headers={"X-Request-ID": "req-refused-1"})
    rows = query(
        app,
        "SELECT request_id, subject, remote_addr, http_status, events_received, events_stored,"
        " events_duplicate, events_refused FROM ingest_audit ORDER BY id",
    )
    subject = client_subject(client)
    assert rows[0] == ("req-accepted-1", subject, "127.0.0.1", 200, 2, 2, 0, 0)
    assert rows[1][3:] == (200, 1, 1, 0, 0)
    assert rows[2] == ("req-refused-1", subject, "127.0.0.1", 422, 2, 0, 0, 2)


def client_subject(client):
    import jwt as pyjwt

    return pyjwt.decode(client.token, options={"verify_signature": False})["sub"]


def test_response_carries_the_request_id(client):
    response = client.ingest([make_event()], headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    generated = client.ingest([make_event()], headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["X-Request-ID"]) == 32


@pytest.mark.parametrize("size", [1, 1000])
def test_batches_up_to_the_limit_are_accepted(app, client, size):
    response = client.ingest([make_event() for _ in range(size)])
    assert response.json() == {"ingested": size, "duplicates": 0}
    assert count_events(app) == size


def test_only_batches_reaching_before_the_rollup_boundary_leave_a_mark(app, client):
    """Nothing rolled up, nothing to mark; then only batches older than the boundary."""

    def ago(**delta):
        return (datetime.now(UTC) - timedelta(**delta)).isoformat()

    def marks():
        return query(app, "SELECT first_ts, last_ts FROM rollup_marks ORDER BY id")

    client.ingest([make_event(ts=ago(days=2))])
    assert marks() == []
    with app.app_context():
        roll_up(rolled_zones(app.config))
    client.ingest([make_event(), make_event(ts=ago(minutes=1))])
    assert marks() == [], "recent events come after the boundary"
    client.ingest([make_event(), make_event(ts=ago(days=2))])
    [(first, last)] = marks()
    assert abs(_utc(first) - (datetime.now(UTC) - timedelta(days=2))) < timedelta(seconds=5)
    assert _utc(last) > _utc(first)


def test_the_write_connection_returns_to_the_pool_in_transaction_mode(app, backend):
    """Ingest borrows a pooled psycopg connection in autocommit; it must not lend it on so."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite writes in an ordinary transaction")
    with app.app_context():
        with _write_connection() as connection:
            assert connection.autocommit
        with pytest.raises(DataError), _write_connection() as connection:
            connection.execute("SELECT 1 / 0")  # psycopg's error leaves as SQLAlchemy's
        fairy = db.engine.raw_connection()
        try:
            assert fairy.driver_connection is connection
            assert not connection.autocommit
        finally:
            fairy.close()
