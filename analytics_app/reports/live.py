"""Today from the rollup's live count, so it costs only the newest events.

For each rolled zone the rollup keeps today's distinct users from local midnight up to
``covered_until`` (``analytics_app.rollup.live``). Today's DAU is that number plus the users of
the events after ``covered_until`` who are not among them: a few minutes of events instead of
the whole day. Today's sessions, page views and event counts are kept up to the same instant
and read the same way. A pending mark overlapping the counted stretch makes the count stale
(see ``analytics_app.rollup.protocol``): reports then count today from raw events.

The count outlives its day until the rollup's next run stores that day, so a day that has just
ended is read the same way (``reports.recent``).
"""

import sqlalchemy as sa

from ..extensions import db
from ..models import DailyMetric, LiveDay, LiveDayUser
from . import raw
from .periods import as_utc
from .raw import events

LIVE_EVENTS = "live_events"
"""Today's event counts per (type, src) up to ``covered_until``, kept in ``metrics`` under this
name; the finished day's rollup replaces them with its ``events``."""

LIVE_SESSIONS, LIVE_SESSION_MICROSECONDS = "live_sessions", "live_session_microseconds"
"""Today's sessions up to ``covered_until``: how many, and their lengths' sum (today's rows of
``session_days``, one per session), kept in ``metrics`` under these names as the finished
day's ``sessions`` and ``session_microseconds`` are, so a report of today reads two numbers
instead of merging every session of the day (``reports.activity.sessions``)."""


def is_stale(marks, day_start, covered_until):
    """Whether a pending mark's span overlaps ``[day_start, covered_until)``."""
    return any(
        as_utc(first) < covered_until and as_utc(last) >= day_start for _, first, last in marks
    )


def newcomers(tz, date, lo, hi):
    """``SELECT user_id``: the users with events in ``[lo, hi)`` not counted for the day yet.

    The distinct users of those few minutes first, then one primary-key probe each, as a
    scalar subquery: PostgreSQL would turn NOT EXISTS into an anti-join, which, with the
    statistics of a table just filled, hashes all of the day's users (bench/README.md).
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


def covered(tz, date):
    """The stored ``(users, covered_until)`` of the day in zone ``tz`` (a name), or None."""
    query = sa.select(LiveDay.users, LiveDay.covered_until)
    return db.session.execute(query.where(LiveDay.tz == tz, LiveDay.date == date)).first()


def counted_until(tz, day, marks, activity=False):
    """Where the counted stretch of ``day`` (today, or today on) ends, or None when there is
    none or a mark makes it stale.

    With ``activity``, None too when the stretch counted users but stored no event counts: it
    was counted before sessions, pages and events were kept, and the next refresh recounts it.
    """
    return counted(tz, [day], marks, activity).get(day.date)


def counted(tz, days, marks, activity=False):
    """``{date: covered_until}`` of those ``days`` whose live count is current, as
    ``counted_until`` says, read in one statement (the rollup keeps one counted day a zone,
    and it outlives its day until the next run stores that day: ``reports.recent``)."""
    spans = {d.date: d for d in days}
    query = sa.select(LiveDay.date, LiveDay.users, LiveDay.covered_until).where(
        LiveDay.tz == tz, LiveDay.date.in_(list(spans))
    )
    result = {}
    for date, users, covered_until in db.session.execute(query):
        day, until = spans[date], as_utc(covered_until)
        if until > day.end or is_stale(marks, day.start, until):
            continue
        if activity and users and not live_events(tz, date):
            continue
        result[date] = until
    return result


def dau(tz, day, marks):
    """The DAU of a day with a live count (today, or a day just ended), or None when there
    is no current counted stretch."""
    until = counted_until(tz, day, marks)
    if until is None:
        return None
    recent = newcomers(tz, day.date, until, day.end).subquery()
    users = covered(tz, day.date).users
    return users + db.session.scalar(sa.select(sa.func.count()).select_from(recent))


def live_events(tz, date):
    """The stored event counts of the day so far, ``{(type, src): count}``."""
    query = sa.select(DailyMetric.dimensions, DailyMetric.value).where(
        DailyMetric.name == LIVE_EVENTS,
        DailyMetric.date == date,
        DailyMetric.dimensions["tz"].as_string() == tz,
    )
    return {(dims["type"], dims.get("src")): value for dims, value in db.session.execute(query)}


def live_sessions(tz, date):
    """The stored ``(count, microseconds)`` of the day's sessions so far, or None when the
    counted stretch kept none (counted before they were kept: the next refresh keeps them)."""
    query = sa.select(DailyMetric.name, DailyMetric.value).where(
        DailyMetric.name.in_([LIVE_SESSIONS, LIVE_SESSION_MICROSECONDS]),
        DailyMetric.date == date,
        DailyMetric.dimensions["tz"].as_string() == tz,
    )
    figures = dict(db.session.execute(query).all())
    if len(figures) < 2:
        return None
    return figures[LIVE_SESSIONS], figures[LIVE_SESSION_MICROSECONDS]


def event_counts(tz, day, until):
    """Event counts by (type, src) of ``day``: the stored ones up to ``until`` plus the newer."""
    counts = live_events(tz, day.date)
    [newer] = raw.event_counts([(until, day.end)])
    for key, value in newer.items():
        counts[key] = counts.get(key, 0) + value
    return counts
