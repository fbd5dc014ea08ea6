"""Reports from the stored activity (``models.activity``), so they cost what the range holds.

Each function answers for an unfiltered range of a rolled zone, or returns None when the
stored rows cannot answer exactly (a day not rolled yet, a pending mark: ``rollup.protocol``);
the caller then counts raw events. Finished days come from the stored rows; today (and any
later day) from today's live count (``live``) or today's raw events alone.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import LiveDayUser, PageDay, SessionDay, UserDay, UserSeen
from . import daily, live, stored
from .periods import Day
from .raw import epoch_seconds

SESSIONS, SESSION_MICROSECONDS = stored.ROLLED, "session_microseconds"
"""The daily figures of sessions: how many had events on the day, and their lengths' sum
counting only the day's events (the rollup stores both; ranges merge what crosses days)."""


def split(rng):
    """The range's finished days, and the rest (today on) as one Day, or None."""
    today = rng.today()
    finished = [d for d in rng.local_days if d.date < today]
    later = [d for d in rng.local_days if d.date >= today]
    return finished, Day(later[0].date, later[0].start, later[-1].end) if later else None


def _count(query):
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def recent_users(rng, day, marks):
    """``SELECT user_id``: the users of ``day`` (today on): the live count's and those after
    it, or, when the live count is missing or stale, today's raw events."""
    until = live.counted_until(rng.tz, day, marks)
    if until is not None:
        counted = sa.select(LiveDayUser.user_id).where(
            LiveDayUser.tz == rng.tz, LiveDayUser.date == day.date
        )
        return sa.union_all(counted, live.newcomers(rng.tz, day.date, until, day.end))
    return daily.users_between(day.start, day.end)


def _not_seen(tz, users, since=None):
    """Of the ``users`` subquery, those without a stored day (since ``since``): one primary-key
    probe each, as in ``live.newcomers``."""
    probe = sa.select(sa.literal(1)).where(UserSeen.user_id == users.c.user_id, UserSeen.tz == tz)
    if since is not None:
        probe = probe.where(UserSeen.last_date >= since)
    return sa.select(users.c.user_id).where(probe.limit(1).scalar_subquery().is_(None))


def _seen_since(tz, since):
    query = sa.select(UserSeen.user_id).where(UserSeen.tz == tz, UserSeen.last_date >= since)
    return _count(query)


def trailing_today(rng, day, length, marks):
    """Distinct users of the ``length`` days ending on ``day`` (today), or None."""
    since = day.date - timedelta(days=length - 1)
    if not stored.current(rng.zone, marks, since, day.date - timedelta(days=1)):
        return None
    today = recent_users(rng, day, marks).subquery()
    return _seen_since(rng.tz, since) + _count(_not_seen(rng.tz, today, since))


def range_users(rng, marks):
    """Distinct users over the range, or None.

    Up to yesterday, a user was active in the range when their last stored day falls in it;
    a range ending earlier counts its stored days' distinct users.
    """
    finished, later = split(rng)
    tz, yesterday = rng.tz, rng.today() - timedelta(days=1)
    if finished:
        first, last = finished[0].date, finished[-1].date
        if not stored.current(rng.zone, marks, first, last):
            return None
        if last < yesterday:
            query = sa.select(UserDay.user_id).where(
                UserDay.tz == tz, UserDay.date >= first, UserDay.date <= last
            )
            return _count(query.distinct())
    since = finished[0].date if finished else None
    users = _seen_since(tz, since) if since else 0
    if later:
        recent = recent_users(rng, later, marks).subquery()
        users += _count(_not_seen(tz, recent, since) if since else sa.select(recent.c.user_id))
    return users


def _rolled_parts(tz, first, last, *conditions):
    return sa.select(
        SessionDay.session_id,
        SessionDay.first_ts,
        SessionDay.last_ts,
        sa.literal(1).label("rolled"),
    ).where(SessionDay.tz == tz, SessionDay.date >= first, SessionDay.date <= last, *conditions)


def sessions(rng, marks):
    """``(count, average seconds)`` of the range's sessions, or None.

    The stored daily figures count each session's part on each day; the parts of a session
    id found on several days of the range (marked ``shared``, or also seen today) are merged
    here: those parts' own figures are taken back and the merged sessions' added instead.
    """
    finished, later = split(rng)
    tz, dates = rng.tz, [d.date for d in finished]
    if finished and not stored.current(rng.zone, marks, dates[0], dates[-1]):
        return None
    count = sum(stored.read_values(SESSIONS, tz, dates).values())
    seconds = sum(stored.read_values(SESSION_MICROSECONDS, tz, dates).values()) / 1e6
    parts = []
    if finished:
        parts.append(_rolled_parts(tz, dates[0], dates[-1], SessionDay.shared.is_(True)))
    if later:
        until = live.counted_until(tz, later, marks, activity=True)
        if until is None:
            recent = daily.session_parts([later]).cte("recent")
        else:
            recent = live.session_parts(tz, later, until).cte("recent")
        parts.append(
            sa.select(
                recent.c.session_id,
                recent.c.first_ts,
                recent.c.last_ts,
                sa.literal(0).label("rolled"),
            )
        )
        if finished:
            crossing = _rolled_parts(tz, dates[0], dates[-1], SessionDay.shared.is_(False))
            ids = sa.select(recent.c.session_id).distinct().subquery()
            parts.append(
                crossing.join_from(SessionDay, ids, ids.c.session_id == SessionDay.session_id)
            )
    if parts:
        added, added_seconds, taken, taken_seconds = db.session.execute(_merged(parts)).one()
        count += int(added) - int(taken or 0)
        seconds += float(added_seconds or 0) - float(taken_seconds or 0)
    return count, (seconds / count if count else 0.0)


def _merged(parts):
    """One statement over the parts, read once: the merged sessions' count and summed spans,
    and the stored parts' own count and summed lengths (to take back from the daily figures).

    Grouped by session id first, so the stored parts' figures ride along as sums in the same
    pass; two statements would read (and, for today, compute) the parts twice.
    """
    union = sa.union_all(*parts).subquery("parts")
    length = epoch_seconds(union.c.last_ts) - epoch_seconds(union.c.first_ts)
    per_session = (
        sa.select(
            sa.func.min(union.c.first_ts).label("first"),
            sa.func.max(union.c.last_ts).label("last"),
            sa.func.sum(union.c.rolled).label("rolled"),
            sa.func.sum(sa.case((union.c.rolled == 1, length), else_=0)).label("rolled_seconds"),
        )
        .group_by(union.c.session_id)
        .subquery()
    )
    span = epoch_seconds(per_session.c.last) - epoch_seconds(per_session.c.first)
    return sa.select(
        sa.func.count(),
        sa.func.sum(span),
        sa.func.sum(per_session.c.rolled),
        sa.func.sum(per_session.c.rolled_seconds),
    )


def top_pages(rng, marks, limit=10):
    """The range's most viewed pages with their views, or None."""
    finished, later = split(rng)
    tz, dates = rng.tz, [d.date for d in finished]
    if finished and not stored.current(rng.zone, marks, dates[0], dates[-1]):
        return None
    parts = []
    if finished:
        parts.append(
            sa.select(PageDay.page, PageDay.views).where(
                PageDay.tz == tz, PageDay.date >= dates[0], PageDay.date <= dates[-1]
            )
        )
    if later:
        until = live.counted_until(tz, later, marks, activity=True)
        views = daily.page_views([later]) if until is None else live.page_views(tz, later, until)
        recent = views.subquery()
        parts.append(sa.select(recent.c.page, recent.c.views))
    union = sa.union_all(*parts).subquery()
    views = sa.func.sum(union.c.views).label("views")
    query = (
        sa.select(union.c.page, views)
        .group_by(union.c.page)
        .order_by(sa.desc("views"), union.c.page)
        .limit(limit)
    )
    return [(page, int(count)) for page, count in db.session.execute(query)]


def retention(rng, last, offsets, marks):
    """``[(new_users, {N: retained})]`` per day of the range (as ``raw.retention``), or None.

    A user is new on their first stored day (``users_seen``), which the rollups remember as
    long as they keep days (``METRICS_RETENTION_DAYS``), longer than raw events; retained
    users are found in ``user_days`` of cohort day + N, for those days up to ``last``.
    """
    first = stored.first_rolled_date(rng.zone)
    if first is None or not stored.current(rng.zone, marks, first, last):
        return None
    tz, today = rng.tz, rng.today()
    finished, later = split(rng)
    result = {d.date: [0, dict.fromkeys(offsets, 0)] for d in rng.local_days}
    if finished:
        query = (
            sa.select(UserSeen.first_date, sa.func.count())
            .where(
                UserSeen.tz == tz,
                UserSeen.first_date >= finished[0].date,
                UserSeen.first_date <= finished[-1].date,
            )
            .group_by(UserSeen.first_date)
        )
        for cohort, users in db.session.execute(query):
            result[cohort][0] = users
    pairs = [
        (d.date, n, d.date + timedelta(days=n))
        for d in finished
        for n in offsets
        if d.date + timedelta(days=n) <= last
    ]
    if pairs:
        for cohort, offset, users in db.session.execute(_retained(tz, pairs)):
            result[cohort][1][offset] = users
    if later and later.date == today:
        recent = recent_users(rng, later, marks).subquery()
        result[today][0] = _count(_not_seen(tz, recent))
    return [tuple(result[d.date]) for d in rng.local_days]


def _retained(tz, pairs):
    """Per (cohort, offset): the cohort's users with a stored day on cohort day + offset."""
    values = sa.values(
        sa.column("cohort", sa.Date),
        sa.column("offset", sa.Integer),
        sa.column("target", sa.Date),
        name="pairs",
    )
    pairs = values.data(pairs).cte("pairs")
    cohort = sa.and_(UserSeen.tz == tz, UserSeen.first_date == pairs.c.cohort)
    active = sa.and_(
        UserDay.date == pairs.c.target, UserDay.tz == tz, UserDay.user_id == UserSeen.user_id
    )
    return (
        sa.select(pairs.c.cohort, pairs.c.offset, sa.func.count())
        .select_from(pairs.join(UserSeen, cohort).join(UserDay, active))
        .group_by(pairs.c.cohort, pairs.c.offset)
    )


def session_figures(tz, dates):
    """The stored sessions' daily figures, ``{date: (count, microseconds)}``, from
    ``session_days`` (the rollup stores them as metrics)."""
    length = epoch_seconds(SessionDay.last_ts) - epoch_seconds(SessionDay.first_ts)
    query = (
        sa.select(SessionDay.date, sa.func.count(), sa.func.sum(length))
        .where(SessionDay.tz == tz, SessionDay.date.in_(dates))
        .group_by(SessionDay.date)
    )
    figures = dict.fromkeys(dates, (0, 0))
    for date, count, seconds in db.session.execute(query):
        figures[date] = (count, round(float(seconds or 0) * 1e6))
    return figures
