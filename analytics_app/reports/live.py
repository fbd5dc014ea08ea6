"""Today's DAU from the rollup's live count, so it costs only the newest events.

For each rolled zone the rollup keeps today's distinct users from local midnight up to
``covered_until`` (``analytics_app.rollup.live``). Today's DAU is that number plus the users of
the events after ``covered_until`` who are not among them: a few minutes of events instead of
the whole day. A pending mark overlapping the counted stretch makes the count stale (see
``analytics_app.rollup.protocol``): reports then count today from raw events.
"""

import sqlalchemy as sa

from ..extensions import db
from ..models import LiveDay, LiveDayUser
from .periods import as_utc
from .raw import events


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


def dau(tz, day, marks):
    """Today's DAU for a rolled zone, or None when there is no current counted stretch."""
    row = covered(tz, day.date)
    if row is None:
        return None
    until = as_utc(row.covered_until)
    if is_stale(marks, day.start, until):
        return None
    recent = newcomers(tz, day.date, until, day.end).subquery()
    return row.users + db.session.scalar(sa.select(sa.func.count()).select_from(recent))
