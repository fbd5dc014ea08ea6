"""Keep today counted up to a few minutes ago: its users for the live DAU, and its sessions,
page views and event counts for engagement.

Per rolled zone, ``live_day_users`` holds the ids of today's users from local midnight up to
``covered_until`` and ``live_days`` their number; each rollup adds only the users first seen
since the last one (``reports.live`` reads them). Today's rows of ``session_days`` (one per
session, marked ``shared`` when the session has a part on an earlier day) and ``page_days``
and the ``live_events`` metrics grow the same way, and the ``live_sessions`` metrics sum
today's sessions (the finished day's rollup replaces them all with its own rows). The rollup
has moved the boundary to ``covered_until`` before this runs, so the count is exact
(``rollup.protocol``).
"""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import DailyMetric, LiveDay, LiveDayUser, PageDay, SessionDay
from ..reports import raw
from ..reports.activity import session_figures
from ..reports.live import (
    LIVE_EVENTS,
    LIVE_SESSION_MICROSECONDS,
    LIVE_SESSIONS,
    covered,
    is_stale,
    live_events,
    live_sessions,
    newcomers,
)
from ..reports.periods import Day, as_utc, day_in, today_in
from ..reports.stored import dimensions
from . import breakdowns
from .activity import add_pages, add_sessions

LIVE_LAG = timedelta(minutes=2)
"""How far behind the rollup's clock today's counted stretch ends.

A batch reaching back before the boundary is marked and turns the live figure stale until
the next rollup, so the lag is longer than an SDK usually holds events (sdk-js flushes every
5 s and backs off 1, 2, 4… s between retries). Reports read the events after the counted
stretch raw: at most this lag plus the time between rollups (one minute), which is what a
report of today costs beyond its users (a 10-minute lag let that tail reach 15 minutes of
events, and under sustained ingest every report of today slowed as it grew: bench/soak.py).
"""


def _add_users(tz, date, lo, hi):
    """Add the users with events in ``[lo, hi)`` not yet counted for the day; return how many."""
    new = newcomers(tz, date, lo, hi).subquery()
    rows = sa.select(sa.literal(tz), sa.literal(date, sa.Date), new.c.user_id)
    insert = sa.insert(LiveDayUser).from_select(["tz", "date", "user_id"], rows)
    # SQLAlchemy only keeps an INSERT's rowcount when asked to.
    return db.session.execute(insert.execution_options(preserve_rowcount=True)).rowcount


def _add_activity(tz, date, lo, hi):
    """Add the sessions, page views and event counts of ``[lo, hi)`` to the day's."""
    stretch = [Day(date, lo, hi)]
    floor = db.session.scalar(sa.select(sa.func.max(SessionDay.id))) or 0
    # Figures not kept yet (a stretch counted before they were): every row gets its mark.
    marked = floor if live_sessions(tz, date) is not None else 0
    add_sessions(tz, stretch)
    _merge_sessions(tz, date, floor)
    _mark_shared(tz, date, marked)
    add_pages(tz, stretch)
    counts = live_events(tz, date)
    [newer] = raw.event_counts([(lo, hi)])
    for key, value in newer.items():
        counts[key] = counts.get(key, 0) + value
    _forget_activity(tz, date, sessions=False)
    rows = [
        {"date": date, "name": LIVE_EVENTS, "dimensions": dimensions(tz, type=t, src=s), "value": v}
        for (t, s), v in counts.items()
    ]
    sessions, microseconds = session_figures(tz, [date])[date]
    for name, value in ((LIVE_SESSIONS, sessions), (LIVE_SESSION_MICROSECONDS, microseconds)):
        rows.append({"date": date, "name": name, "dimensions": dimensions(tz), "value": value})
    db.session.execute(sa.insert(DailyMetric), rows)


def _merge_sessions(tz, date, floor):
    """Fold the day's parts of each session the stretch just added to (rows after ``floor``)
    into one: first and last instant of them all.

    Each stretch adds a part per session with events in it, so a session active all day would
    hold a part per run, and every report of today would merge them again (the soak's
    sessions held dozens by the end of half an hour). Folded, today's rows grow with its
    sessions, not with the rollup's runs; only the sessions of the stretch are touched.
    """
    today = (SessionDay.tz == tz, SessionDay.date == date)
    added = sa.select(SessionDay.session_id).where(*today, SessionDay.id > floor)
    merged = (
        sa.select(
            sa.literal(date, sa.Date),
            sa.literal(tz),
            SessionDay.session_id,
            sa.func.min(SessionDay.first_ts),
            sa.func.max(SessionDay.last_ts),
            sa.false(),
        )
        .where(*today, SessionDay.session_id.in_(added))
        .group_by(SessionDay.session_id)
        .having(sa.func.count() > 1)
    )
    top = db.session.scalar(sa.select(sa.func.max(SessionDay.id)))
    if top is None:  # no session parts at all: nothing to fold
        return
    columns = ["date", "tz", "session_id", "first_ts", "last_ts", "shared"]
    db.session.execute(sa.insert(SessionDay).from_select(columns, merged))
    folded = sa.select(SessionDay.session_id).where(*today, SessionDay.id > top)
    db.session.execute(
        sa.delete(SessionDay).where(*today, SessionDay.id <= top, SessionDay.session_id.in_(folded))
    )


def _mark_shared(tz, date, floor):
    """Mark ``shared`` the day's rows after ``floor`` (those the stretch added or folded)
    whose session has a part on an earlier day of the zone.

    A report of today then merges only those, and the sessions of its newest events, with the
    stored days' parts; every other session of the day is counted in the day's figures
    (``reports.activity.sessions``). A finished day stored later marks today's sessions it
    shares (``rollup.activity.store_sessions``). One probe of the session id's index per row,
    as a scalar subquery (as ``reports.live.newcomers``): a join might read every stored part.
    """
    other = aliased(SessionDay)
    earlier = sa.select(sa.literal(1)).where(
        other.session_id == SessionDay.session_id, other.tz == tz, other.date < date
    )
    db.session.execute(
        sa.update(SessionDay)
        .where(
            SessionDay.tz == tz,
            SessionDay.date == date,
            SessionDay.id > floor,
            earlier.limit(1).scalar_subquery().is_not(None),
        )
        .values(shared=True)
    )


def _forget_activity(tz, date, sessions=True):
    """Delete the day's event counts and session figures so far, and unless told not to, its
    sessions and pages (only ever today's: finished days' rows are the rollup's)."""
    metrics = sa.delete(DailyMetric).where(
        DailyMetric.name.in_([LIVE_EVENTS, LIVE_SESSIONS, LIVE_SESSION_MICROSECONDS]),
        DailyMetric.date == date,
        DailyMetric.dimensions["tz"].as_string() == tz,
    )
    db.session.execute(metrics)
    if sessions:
        for model in (SessionDay, PageDay):
            db.session.execute(sa.delete(model).where(model.tz == tz, model.date == date))


def _forget(tz, keep=None):
    """Delete the zone's live rows, except those of the date ``keep``."""
    for model in (LiveDay, LiveDayUser):
        query = sa.delete(model).where(model.tz == tz)
        if keep is not None:
            query = query.where(model.date != keep)
        db.session.execute(query)


def refresh(zones, marks, until):
    """Extend today's counted stretch of every zone (ZoneInfo) to ``until``; commit per zone.

    Only called after the boundary has reached ``until``. A stale or missing stretch is
    recounted from local midnight, otherwise only ``[covered_until, until)`` is read. Rows of
    zones no longer rolled go: the marks that would tell them stale are consumed without them.
    """
    names = [tzinfo.key for tzinfo in zones]
    for model in (LiveDay, LiveDayUser):
        db.session.execute(sa.delete(model).where(model.tz.not_in(names)))
    breakdowns.drop_live_zones(names)
    for tzinfo in zones:
        tz, today = tzinfo.key, today_in(tzinfo)
        day = day_in(today, tzinfo)
        _forget(tz, keep=today)
        if until <= day.start:
            _forget(tz)
            breakdowns.refresh_live(tz, day, None, until)
            db.session.commit()
            continue
        row = covered(tz, today)
        counted_until = as_utc(row.covered_until) if row else None
        # A stretch counted before today's activity was kept (users, no event counts) is
        # counted again, activity included.
        if (
            row is None
            or is_stale(marks, day.start, counted_until)
            or (row.users and not live_events(tz, today))
        ):
            _forget(tz)
            _forget_activity(tz, today)
            breakdowns.refresh_live(tz, day, None, until)
            users, counted_until = _add_users(tz, today, day.start, until), until
            _add_activity(tz, today, day.start, until)
        else:
            breakdowns.refresh_live(tz, day, counted_until, until)
            users = row.users + _add_users(tz, today, counted_until, until)
            if until > counted_until:
                _add_activity(tz, today, counted_until, until)
            counted_until = max(until, counted_until)
            db.session.execute(sa.delete(LiveDay).where(LiveDay.tz == tz, LiveDay.date == today))
        db.session.add(LiveDay(tz=tz, date=today, covered_until=counted_until, users=users))
        db.session.commit()
