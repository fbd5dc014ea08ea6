"""How ingest, erasure and the rollup stay exact together: the boundary, the marks and the lock.

This is the one explanation; the writers (``ingest.writer``, ``erasure``, ``rollup``) import
the names below rather than restate it.

**The boundary.** One row of ``rollup_boundary`` holds ``covered_before``: the instant before
which some rollup (a finished day, or the counted part of today, see ``rollup.live``) may
already include events. The rollup moves it forward (``advance_boundary``), never back, before
it reads any event.

**The marks.** Ingest appends a mark (``rollup_marks``: the batch's first and last ``ts``) in the
same transaction as a batch that reaches back before the boundary; erasure appends one for each
span of events it deletes. A mark makes the days it touches, and the trailing figures (WAU, MAU)
that contain them, stale: reports count those days from raw events until the next rollup
recomputes them and deletes the marks it has read. Marks are append-only, so concurrent batches
never wait on each other.

**The lock.** On PostgreSQL one advisory lock (``LOCK_KEY``) orders the two sides. Ingest reads
the boundary through ``rollup_covered_before()`` and the erased users through
``erased_among(ids)``; each takes the lock *shared* first and holds it until the batch
commits. The rollup moves the boundary through ``advance_rollup_boundary(instant)``,
and the erasure job starts with ``wait_for_ingest()``; both take it *exclusively*, so they wait
for every batch in flight. Hence a batch committing after the boundary moved was compared with
the new value (it is marked if it must be), and a batch written while a user was being erased
either drops the user's events or is finished before the job looks for them. The functions are
VOLATILE PL/pgSQL, so each reads with a snapshot taken after the lock (migrations 0005, 0006).
On SQLite, write transactions exclude each other, which gives the same order.

Events the rollup reads after moving the boundary are therefore complete before it, but for
marked ones: that is what makes rollups, and today's live count, exact.

**The generations.** Cached reports (``reports.cache``) must reflect every batch answered before
they were asked, so whatever changes events bumps a counter of ``report_generations`` in the
transaction that changes them, and a report's cache key holds what it depends on, read from
the database before the report is computed (``reports.freshness``): the cold generation, the
marks overlapping the report's span and, when the span reaches past the boundary, the sum of
all generations. Each is read in the same snapshot and only ever grows, so a write that commits
after a result was computed changes the key of every later read it concerns:

- Ingest bumps its *ingest slot* (``INGEST_SLOT``) in its one statement, when it stored
  anything. On PostgreSQL the slot is the backend's process id modulo ``GENERATION_SLOTS``:
  a connection runs one transaction at a time, so batches never queue behind one counter row
  (one row for all would hold every batch until the one before it had committed). Batches
  only touch time past the boundary, unless they leave a mark.
- Erasure leaves marks, which is enough.
- The rollup, when it stores days or consumes marks, and retention, when it deletes anything,
  bump the *cold slot* (``COLD_SLOT``, ``bump_cold``): consumed marks would otherwise let the
  count of marks fall back to a value an older cache entry was keyed with.

A slot starts at a random value (``START``), so tables emptied (or restored from a backup) do
not count again through values that cached results were keyed with.

A report whose span ends at or before the boundary is therefore keyed by the cold generation
and its marks alone, and stays cached while ingest goes on.

**The stored activity** (``rollup.activity``: users per day, first and last seen, sessions and
page views per day) follows the same rules as the daily metrics: a marked day is stale for it
too, and recomputed with them. A first or last seen date may depend on any earlier day, so
readers (``reports.activity``) use it only when no mark touches a day up to the last one they
need (``reports.stored.current``). Erasure also deletes the user's activity rows outright, for
the days older than the events kept, which no mark reaches.

**The breakdown bitmaps** (``rollup.breakdowns``: events and users per value and day, blocks of
days, today's so far) follow the same rules: a marked day is read raw by
``reports.stored_breakdowns`` (and every block holding it is left aside) until the rollup
recomputes it and rebuilds its blocks; today's rows are extended with the live count, in its
transaction, and are stale with it. Erasure clears the user's bit in every bitmap.

**The funnel rows** (``rollup.funnels``: each user's events per finished day, as kinds and
instants) follow the same rules: a marked day is read raw by ``reports.stored_funnels`` until
the rollup recomputes it; today is always read raw. Erasure deletes the user's rows outright
(before their number goes), for the days older than the events kept.
"""

from datetime import UTC

import sqlalchemy as sa

from ..extensions import db
from ..models import ReportGeneration, RollupBoundary, RollupMark

LOCK_KEY = 4_632_117_019
"""The advisory lock of the boundary and of erasure (fixed in migrations 0005 and 0006)."""

# The SQL functions ingest calls inside its statements (defined by the migrations).
COVERED_BEFORE = "rollup_covered_before()"
ERASED_AMONG = "erased_among"

GENERATION_SLOTS = 1024
"""How many ingest slots PostgreSQL spreads batches over (by backend process id)."""
COLD_SLOT = ReportGeneration.COLD_SLOT
INGEST_SLOT = {"postgresql": f"mod(pg_backend_pid(), {GENERATION_SLOTS})", "sqlite": "0"}
"""The SQL of ingest's slot, by dialect."""
START = {
    "postgresql": "floor(random() * 1e12)::bigint",
    "sqlite": "abs(random() % 1000000000000)",
}
"""A new slot's first generation, by dialect: random, so that emptied or restored tables do
not bring back values that cached results were keyed with."""
BUMP = """
INSERT INTO report_generations (slot, generation) {rows}
ON CONFLICT (slot) DO UPDATE SET generation = report_generations.generation + 1
"""
"""Add 1 to a slot's generation; ``rows`` is ``VALUES (slot, START)`` or a SELECT of one row."""

ADVANCE_LOCK_TIMEOUT = "2s"
"""How long moving the boundary waits for batches in flight before giving up.

Batches arriving meanwhile queue behind the exclusive lock: rather than stall ingest behind a
stuck batch, the rollup fails and the next scheduled run tries again.
"""


def advance_boundary(instant):
    """Move the boundary forward to ``instant`` (never back), and commit."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{ADVANCE_LOCK_TIMEOUT}'"))
        advance = sa.text("SELECT advance_rollup_boundary(:instant)")
        db.session.execute(advance, {"instant": instant})
    else:
        covered = RollupBoundary.covered_before
        db.session.execute(
            sa.update(RollupBoundary)
            .where(sa.or_(covered.is_(None), covered < instant))
            .values(covered_before=instant.astimezone(UTC))
        )
    db.session.commit()


def covered_before():
    """The boundary (None until a rollup has moved it)."""
    return db.session.scalar(sa.select(RollupBoundary.covered_before))


def pending_marks():
    """How many marks wait for the next rollup."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(RollupMark))


def wait_for_ingest():
    """Wait until every batch in flight has committed, then commit (PostgreSQL; a no-op on
    SQLite, whose writes do not overlap)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT wait_for_ingest()"))
        db.session.commit()


def mark(first_ts, last_ts):
    """Append a mark for events changed in ``[first_ts, last_ts]`` (the caller commits)."""
    db.session.add(RollupMark(first_ts=first_ts, last_ts=last_ts))


def consume_marks(ids):
    """Delete marks the rollup has read and accounted for (the caller commits)."""
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        db.session.execute(sa.delete(RollupMark).where(RollupMark.id.in_(chunk)))


def bump_cold():
    """Bump the cold generation: cached reports are out of date (the caller commits)."""
    start = START[db.session.get_bind().dialect.name]
    db.session.execute(sa.text(BUMP.format(rows=f"VALUES ({COLD_SLOT}, {start})")))
