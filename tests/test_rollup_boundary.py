"""The rollup boundary: a batch written while the rollup moves it is either complete before
the rollup reads events, or compared with the new boundary (and marked if it reaches back)."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

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
