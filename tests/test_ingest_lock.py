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
from analytics_app.reports.periods import as_utc
from analytics_app.rollup import protocol
from analytics_app.rollup.protocol import advance_boundary

from helpers import query


def start_and_wait_for_the_lock(app, work):
    """Run ``work`` on a thread, in an app context; return the thread once some session waits
    for the advisory lock (or after 10 s, for the caller's assertion to catch)."""

    def run():
        with app.app_context():
            work()

    thread = threading.Thread(target=run)
    thread.start()
    sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    deadline = time.monotonic() + 10
    while not query(app, sql)[0][0] and time.monotonic() < deadline:
        time.sleep(0.02)
    return thread


def test_every_lock_function_takes_the_protocols_lock(app, backend):
    """The migrations define the functions; ``rollup.protocol`` owns the key they lock."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite has no advisory locks")
    names = ["rollup_covered_before", "advance_rollup_boundary", "erased_among", "wait_for_ingest"]
    sql = f"SELECT proname, prosrc FROM pg_proc WHERE proname IN {tuple(names)}"
    bodies = dict(query(app, sql))
    assert sorted(bodies) == sorted(names)
    for name, body in bodies.items():
        assert f"({protocol.LOCK_KEY})" in body, name


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
        mover = start_and_wait_for_the_lock(app, lambda: advance_boundary(target))
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
        advance_boundary(later)
        advance_boundary(later - timedelta(hours=1))
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
        job = start_and_wait_for_the_lock(app, lambda: erasure.run(job_id))
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

        reader = start_and_wait_for_the_lock(app, read)
        assert reader.is_alive() and not seen
        moving.commit()
        reader.join(10)
        assert seen == [target]
    finally:
        mover.close()
        batch.close()
