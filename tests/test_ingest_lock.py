"""The advisory lock that ingest holds while it writes (PostgreSQL). A batch written while the
rollup moves its boundary is either complete before the rollup reads events, or compared with
the new boundary (and marked if it reaches back); a batch written while a user is erased is
either complete before the erasure job deletes, or drops that user's events."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from analytics_app import erasure
from analytics_app.extensions import db
from analytics_app.reports import rollups
from analytics_app.reports.periods import as_utc

from helpers import query


def _waiting_advisory_locks(app):
    sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    return query(app, sql)[0][0]


def test_moving_the_boundary_waits_for_a_batch_in_flight(make_app, backend):
    if backend["name"] != "postgresql":
        pytest.skip("SQLite serialises the two writes itself")
    app = make_app()
    with app.app_context():
        in_flight = db.engine.connect()
    try:
        batch = in_flight.begin()  # a batch that has read the boundary, not yet committed
        assert in_flight.execute(text("SELECT rollup_covered_before()")).scalar() is None
        target = datetime.now(UTC)

        def advance():
            with app.app_context():
                rollups.advance_boundary(target)

        mover = threading.Thread(target=advance)
        mover.start()
        deadline = time.monotonic() + 10
        while not _waiting_advisory_locks(app) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mover.is_alive(), "the boundary moved while a batch still used the old one"
        batch.commit()
        mover.join(10)
        assert not mover.is_alive()
        with in_flight.begin():  # the next batch compares with the new boundary
            assert in_flight.execute(text("SELECT rollup_covered_before()")).scalar() == target
    finally:
        in_flight.close()


def test_the_boundary_never_moves_back(app):
    later = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        rollups.advance_boundary(later)
        rollups.advance_boundary(later - timedelta(hours=1))
    [(stored,)] = query(app, "SELECT covered_before FROM rollup_boundary")
    stored = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    assert as_utc(stored) == later


def test_erasure_waits_for_a_batch_that_read_the_erased_ids_before(make_app, backend):
    if backend["name"] != "postgresql":
        pytest.skip("SQLite writes do not overlap")
    app = make_app()
    with app.app_context():
        in_flight = db.engine.connect()
    try:
        batch = in_flight.begin()  # read the erased ids (none yet), still writing its events
        erased = in_flight.execute(text("SELECT erased_among(ARRAY['alice']::varchar[])"))
        assert erased.scalar() == []
        in_flight.execute(
            text(
                "INSERT INTO events (client_id, ts, user_id, type)"
                " VALUES ('in-flight', now(), 'alice', 'page_view')"
            )
        )
        with app.app_context():
            job_id = erasure.request_erasure("alice", "test", "request-1").id

        def run_job():
            with app.app_context():
                erasure.run(job_id)

        job = threading.Thread(target=run_job)
        job.start()
        deadline = time.monotonic() + 10
        while not _waiting_advisory_locks(app) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.is_alive(), "the job started deleting while a batch could still commit"
        batch.commit()
        job.join(10)
        assert not job.is_alive()
    finally:
        in_flight.close()
    assert query(app, "SELECT count(*) FROM events WHERE user_id = 'alice'") == [(0,)]
    assert query(app, "SELECT status, events_deleted FROM erasure_jobs") == [("done", 1)]


def test_the_boundary_is_read_after_the_lock_not_from_the_statements_snapshot(make_app, backend):
    """A batch whose statement began before the rollup moved the boundary, and waited for the
    lock, must compare with the new value: the function reads after taking the lock."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite serialises the two writes itself")
    app = make_app()
    target = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        mover, batch = db.engine.connect(), db.engine.connect()
    try:
        moving = mover.begin()  # the rollup holds the lock, its new boundary not committed yet
        mover.execute(text("SELECT advance_rollup_boundary(:t)"), {"t": target})
        seen = []

        def read():
            with batch.begin():
                seen.append(batch.execute(text("SELECT rollup_covered_before()")).scalar())

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 10
        while not _waiting_advisory_locks(app) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reader.is_alive() and not seen
        moving.commit()
        reader.join(10)
        assert seen == [target]
    finally:
        mover.close()
        batch.close()
