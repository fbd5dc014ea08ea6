"""Today's DAU kept up to date incrementally, so the live figure costs only the newest events.

For each rolled zone the rollup stores today's distinct users from local midnight up to
``covered_until`` (``LIVE_LAG`` before the rollup ran): the ids in ``live_day_users``, their
number in ``live_days``. Each rollup adds only the users first seen since the last one. Today's
DAU is then that number plus the users of the events after ``covered_until`` who are not among
them: a few minutes of events instead of the whole day.

Exactness: the rollup moves the boundary (``rollups.advance_boundary``) to at least
``covered_until`` before it reads any event, so an event before ``covered_until`` that the
rollup did not see came with a rollup mark. A pending mark overlapping the covered stretch makes
the live figure stale: reports then count today from raw events, and the next rollup recounts
the covered stretch from scratch.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import LiveDay, LiveDayUser
from .periods import as_utc, days_between, today_in, zone
from .raw import events

LIVE_LAG = timedelta(minutes=10)
"""How far behind the rollup's clock today's covered stretch ends.

A batch reaching back before the boundary is marked and turns the live figure stale until
the next rollup, so the lag is longer than an SDK usually holds events (its flush interval,
a retry or two).
"""


def _is_stale(marks, day_start, covered_until):
    """Whether a pending mark's span overlaps ``[day_start, covered_until)``."""
    return any(
        as_utc(first) < covered_until and as_utc(last) >= day_start for _, first, last in marks
    )


def _newcomers(tz, date, lo, hi):
    """``SELECT user_id``: the users with events in ``[lo, hi)`` not counted for the day yet.

    The distinct users of those few minutes first, then one primary-key probe each, as a
    scalar subquery: PostgreSQL would turn NOT EXISTS into an anti-join, which, with the
    statistics of a table just filled, hashes all of the day's users (16 ms for 13 k).
    """
    recent = (
        sa.select(events.c.user_id)
        .where(events.c.ts >= lo, events.c.ts < hi)
        .distinct()
        .subquery("recent")
    )
    probe = sa.select(sa.literal(1)).where(
        LiveDayUser.tz == tz, LiveDayUser.date == date, LiveDayUser.user_id == recent.c.user_id
    )
    return sa.select(recent.c.user_id).where(probe.limit(1).scalar_subquery().is_(None))


def _covered(tz, date):
    """The stored ``(users, covered_until)`` of the day, or None."""
    query = sa.select(LiveDay.users, LiveDay.covered_until)
    return db.session.execute(query.where(LiveDay.tz == tz, LiveDay.date == date)).first()


def _add_users(tz, date, lo, hi):
    """Add the users with events in ``[lo, hi)`` not yet counted for the day; return how many."""
    new = _newcomers(tz, date, lo, hi).subquery()
    rows = sa.select(sa.literal(tz), sa.literal(date, sa.Date), new.c.user_id)
    insert = sa.insert(LiveDayUser).from_select(["tz", "date", "user_id"], rows)
    # SQLAlchemy only keeps an INSERT's rowcount when asked to.
    return db.session.execute(insert.execution_options(preserve_rowcount=True)).rowcount


def _forget(tz, keep=None):
    """Delete the zone's live rows, except those of the date ``keep``."""
    for model in (LiveDay, LiveDayUser):
        query = sa.delete(model).where(model.tz == tz)
        if keep is not None:
            query = query.where(model.date != keep)
        db.session.execute(query)


def refresh(zones, marks, until):
    """Extend today's covered stretch of every zone to ``until``; commit per zone.

    Only called after the boundary has reached ``until``. A stale or missing stretch is
    recounted from local midnight, otherwise only ``[covered_until, until)`` is read. Rows of
    zones no longer rolled go: the marks that would tell them stale are consumed without them.
    """
    for model in (LiveDay, LiveDayUser):
        db.session.execute(sa.delete(model).where(model.tz.not_in(zones)))
    for tz in zones:
        tzinfo = zone(tz)
        today = today_in(tzinfo)
        [day] = days_between(today, today, tzinfo)
        _forget(tz, keep=today)
        if until <= day.start:
            _forget(tz)
            db.session.commit()
            continue
        row = _covered(tz, today)
        covered = as_utc(row.covered_until) if row else None
        if row is None or _is_stale(marks, day.start, covered):
            _forget(tz)
            users, covered = _add_users(tz, today, day.start, until), until
        else:
            users = row.users + _add_users(tz, today, covered, until)
            covered = max(until, covered)
            db.session.execute(sa.delete(LiveDay).where(LiveDay.tz == tz, LiveDay.date == today))
        db.session.add(LiveDay(tz=tz, date=today, covered_until=covered, users=users))
        db.session.commit()


def dau(tz, day, marks):
    """Today's DAU for a rolled zone, or None when there is no current covered stretch."""
    row = _covered(tz, day.date)
    if row is None:
        return None
    covered = as_utc(row.covered_until)
    if _is_stale(marks, day.start, covered):
        return None
    newcomers = _newcomers(tz, day.date, covered, day.end).subquery()
    return row.users + db.session.scalar(sa.select(sa.func.count()).select_from(newcomers))
