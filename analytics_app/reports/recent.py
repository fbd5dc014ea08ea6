"""The days after the last stored one: finished days the rollup has not stored yet, and today.

The rollup stores a finished day at its first run after the day ends (every minute), and
not at all while the worker is down. Meanwhile a range ending on those days must not be
counted from raw events over its whole length (issue 17: a 30-day retention at 2 M events
outlasted the statement timeout every night after midnight). So a range splits into its
stored days, read from the stored rows (``activity``, ``cohorts``), and the days after the
last stored one, each read the way today is: from its live count (``live``: the day that has
just ended normally still has one, up to its covered instant) plus the raw events after that
instant, or, without a current live count, from its own raw events. Only those days are read
raw.

A day up to the last stored one that is not stored (a gap left by a CLI rollup of chosen
days) or that a pending mark touches is not "recent": ``stored.current`` says the stored rows
cannot answer, and the report counts raw events, as it always has.
"""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ..models import LiveDayUser, PageDay, SessionDay
from . import daily, live, stored
from .periods import Day, days_between


@dataclass(frozen=True)
class LiveSessions:
    """A day's sessions from its live count: those up to ``until`` summed (``count``,
    ``microseconds``); the parts of its newer events are read raw."""

    day: Day
    until: datetime
    count: int
    microseconds: int

    @property
    def newest(self):
        """The span of the day still read raw."""
        return Day(self.day.date, self.until, self.day.end)


@dataclass(frozen=True)
class Split:
    """Days of a report: ``stored`` (finished, up to ``rolled``) and ``recent`` (the rest:
    finished days after ``rolled``, each apart, then today on as one ``Day``)."""

    stored: list[Day]
    recent: list[Day]
    rolled: date | None

    @property
    def first(self):
        """The first stored date (None without stored days)."""
        return self.stored[0].date if self.stored else None

    @property
    def last(self):
        """The last stored date (None without stored days)."""
        return self.stored[-1].date if self.stored else None


def split(rng, first=None, last=None, rolled=None):
    """Split the days ``first``..``last`` (default: the range's) at the zone's last rolled
    date (``rolled``, read when not given).

    Before anything is rolled every finished day counts as stored, so that, as before, the
    stored rows are not trusted for them (``stored.current``) and raw events answer.
    """
    first, last = first or rng.start, last or rng.end
    rolled = rolled or stored.last_rolled_date(rng.tz)
    today = rng.today()
    days = days_between(first, last, rng.zone) if first <= last else []
    finished = [d for d in days if d.date < today]
    later = [d for d in days if d.date >= today]
    kept = [d for d in finished if rolled is None or d.date <= rolled]
    recent = [d for d in finished if rolled is not None and d.date > rolled]
    if later:
        recent.append(Day(later[0].date, later[0].start, later[-1].end))
    return Split(kept, recent, rolled)


def _newer(days, counted):
    """Each day's span still to read raw: after its covered instant, or all of it."""
    return [Day(d.date, counted.get(d.date, d.start), d.end) for d in days]


def user_days(tz, days, counted):
    """``SELECT date, user_id``: the distinct users of each of the ``days``.

    ``counted`` (``live.counted``) gives the days with a current live count: its users, and
    those of the events after its covered instant who are not among them (one primary-key
    probe each, as ``live.newcomers`` explains); the other days' users come from raw events.
    """
    newer = daily.active_users(_newer(days, counted)).subquery("newer")
    rows = sa.select(newer.c.date, newer.c.user_id)
    if not counted:
        return rows
    probe = sa.select(sa.literal(1)).where(
        LiveDayUser.tz == tz,
        LiveDayUser.date == newer.c.date,
        LiveDayUser.user_id == newer.c.user_id,
        LiveDayUser.date.in_(list(counted)),
    )
    kept = sa.select(LiveDayUser.date, LiveDayUser.user_id).where(
        LiveDayUser.tz == tz, LiveDayUser.date.in_(list(counted))
    )
    return sa.union_all(kept, rows.where(probe.limit(1).scalar_subquery().is_(None)))


def users(tz, days, marks):
    """``SELECT DISTINCT user_id`` of the ``days``.

    One day's rows are distinct already (``user_days``), so they skip the sort of a whole
    day's users that DISTINCT would cost.
    """
    rows = user_days(tz, days, live.counted(tz, days, marks)).subquery()
    query = sa.select(rows.c.user_id)
    return query if len(days) == 1 else query.distinct()


def session_parts(tz, days, marks):
    """``SELECT session_id, first_ts, last_ts``: the days' session parts (a session may have
    several): a live count's stored parts, and the parts of the events read raw."""
    counted = live.counted(tz, days, marks, activity=True)
    newer = daily.session_parts(_newer(days, counted)).subquery()
    rows = sa.select(newer.c.session_id, newer.c.first_ts, newer.c.last_ts)
    if not counted:
        return rows
    kept = sa.select(SessionDay.session_id, SessionDay.first_ts, SessionDay.last_ts).where(
        SessionDay.tz == tz, SessionDay.date.in_(list(counted))
    )
    return sa.union_all(kept, rows)


def live_sessions(tz, days, marks):
    """``LiveSessions`` when the ``days`` after the stored ones are a single day (today, as a
    rule) whose live count is current and summed its sessions; else None."""
    if len(days) != 1:
        return None
    [day] = days
    until = live.counted(tz, days, marks, activity=True).get(day.date)
    figures = live.live_sessions(tz, day.date) if until is not None else None
    if figures is None:
        return None
    return LiveSessions(day, until, *figures)


def page_views(tz, days, marks):
    """``SELECT page, views``: the days' views per page, in parts as ``session_parts``."""
    counted = live.counted(tz, days, marks, activity=True)
    newer = daily.page_views(_newer(days, counted)).subquery()
    rows = sa.select(newer.c.page, newer.c.views)
    if not counted:
        return rows
    kept = sa.select(PageDay.page, PageDay.views).where(
        PageDay.tz == tz, PageDay.date.in_(list(counted))
    )
    return sa.union_all(kept, rows)
