"""Reports from the stored activity (``models.activity``), so they cost what the range holds.

Each function answers for an unfiltered range of a rolled zone, or returns None when the
stored rows cannot answer exactly (a stored day under a pending mark, a day missing before
the last rolled one: ``stored.current``, ``rollup.protocol``); the caller then counts raw
events. Stored days come from the stored rows; the days after the last stored one (finished
days not rolled yet, and today) are read alone, from live counts or their raw events
(``recent``). Retention is in ``cohorts``.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import PageDay, SessionDay, UserDay, UserSeen
from . import daily, recent, stored
from .raw import epoch_seconds

SESSIONS, SESSION_MICROSECONDS = stored.ROLLED, "session_microseconds"
"""The daily figures of sessions: how many had events on the day, and their lengths' sum
counting only the day's events (the rollup stores both; ranges merge what crosses days)."""


def count_rows(query):
    """How many rows ``query`` returns."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def unseen(tz, users, since=None):
    """Of the ``users`` subquery, those without a stored day (since ``since``): one primary-key
    probe each, as in ``live.newcomers``."""
    probe = sa.select(sa.literal(1)).where(UserSeen.user_id == users.c.user_id, UserSeen.tz == tz)
    if since is not None:
        probe = probe.where(UserSeen.last_date >= since)
    return sa.select(users.c.user_id).where(probe.limit(1).scalar_subquery().is_(None))


def _seen_since(tz, since):
    query = sa.select(UserSeen.user_id).where(UserSeen.tz == tz, UserSeen.last_date >= since)
    return count_rows(query)


def _trusted(rng, days, marks):
    """Whether the stored rows answer for the split's stored days."""
    return not days.stored or stored.current(rng.zone, marks, days.first, days.last)


def trailing(rng, day, lengths, marks, rolled=None):
    """Distinct users of the ``length`` days ending on ``day`` (a day after the last stored
    one) for each of ``lengths``, as ``{length: count}``; None for a length the stored rows
    cannot answer (its raw events then do).

    Those with a stored day in the length, and the newer days' others. Every length is read
    from the same two histograms of users by last stored day: one scan of ``users_seen``,
    and one probe per user of the newer days (lengths whose newer days are the same share
    it), rather than a scan and a probe per user for each length.
    """
    sinces, groups = {}, {}
    for length in lengths:
        since = day.date - timedelta(days=length - 1)
        days = recent.split(rng, since, day.date, rolled)
        if days.rolled is not None and _trusted(rng, days, marks):
            sinces[length] = since
            groups.setdefault(tuple(days.recent), []).append(length)
    counts = dict.fromkeys(lengths)
    if not sinces:
        return counts
    seen = _seen_by_last_date(rng.tz, min(sinces.values()))
    for newer, group in groups.items():
        users = recent.users(rng.tz, list(newer), marks).subquery()
        last = _last_dates(rng.tz, users)
        for length in group:
            since = sinces[length]
            counts[length] = sum(n for date, n in seen.items() if date >= since) + sum(
                n for date, n in last.items() if date is None or date < since
            )
    return counts


def _seen_by_last_date(tz, since):
    """``{last stored date: users}`` of the users last seen on or after ``since``."""
    query = (
        sa.select(UserSeen.last_date, sa.func.count())
        .where(UserSeen.tz == tz, UserSeen.last_date >= since)
        .group_by(UserSeen.last_date)
    )
    return dict(db.session.execute(query).all())


def _last_dates(tz, users):
    """``{last stored date (None for none): users}`` of the ``users`` subquery: one
    primary-key probe each, as a scalar subquery, so that PostgreSQL never turns it into a
    join that reads all of ``users_seen`` (as ``live.newcomers`` explains)."""
    last = (
        sa.select(UserSeen.last_date)
        .where(UserSeen.user_id == users.c.user_id, UserSeen.tz == tz)
        .scalar_subquery()
    )
    dated = sa.select(last.label("last_date")).select_from(users).subquery()
    query = sa.select(dated.c.last_date, sa.func.count()).group_by(dated.c.last_date)
    return dict(db.session.execute(query).all())


def range_users(rng, marks):
    """Distinct users over the range, or None.

    Up to the last stored day, a user was active in the range when their last stored day falls
    in it; a range ending earlier counts its stored days' distinct users.
    """
    days = recent.split(rng)
    if not _trusted(rng, days, marks):
        return None
    tz, first = rng.tz, days.first
    if not days.recent:
        if days.last < days.rolled:
            query = sa.select(UserDay.user_id).where(
                UserDay.tz == tz, UserDay.date >= first, UserDay.date <= days.last
            )
            return count_rows(query.distinct())
        return _seen_since(tz, first)
    newer = recent.users(tz, days.recent, marks).subquery()
    if first is None:
        return count_rows(sa.select(newer.c.user_id))
    return _seen_since(tz, first) + count_rows(unseen(tz, newer, first))


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
    id found on several days of the range (marked ``shared``, or also seen on a recent day)
    are merged here: those parts' own figures are taken back and the merged sessions' added
    instead.
    """
    days = recent.split(rng)
    if not _trusted(rng, days, marks):
        return None
    tz, dates = rng.tz, [d.date for d in days.stored]
    count = sum(stored.read_values(SESSIONS, tz, dates).values())
    seconds = sum(stored.read_values(SESSION_MICROSECONDS, tz, dates).values()) / 1e6
    parts = []
    if dates:
        parts.append(_rolled_parts(tz, dates[0], dates[-1], SessionDay.shared.is_(True)))
    counted = recent.live_sessions(tz, days.recent, marks)
    if counted is not None:
        count += counted.count
        seconds += counted.microseconds / 1e6
        parts.extend(_live_parts(tz, counted, dates))
    elif days.recent:
        newer = recent.session_parts(tz, days.recent, marks).cte("recent")
        parts.append(
            sa.select(
                newer.c.session_id,
                newer.c.first_ts,
                newer.c.last_ts,
                sa.literal(0).label("rolled"),
            )
        )
        if dates:
            crossing = _rolled_parts(tz, dates[0], dates[-1], SessionDay.shared.is_(False))
            ids = sa.select(newer.c.session_id).distinct().subquery()
            parts.append(
                crossing.join_from(SessionDay, ids, ids.c.session_id == SessionDay.session_id)
            )
    if parts:
        added, added_seconds, taken, taken_seconds = db.session.execute(_merged(parts)).one()
        count += int(added) - int(taken or 0)
        seconds += float(added_seconds or 0) - float(taken_seconds or 0)
    return count, (seconds / count if count else 0.0)


def _live_parts(tz, counted, dates):
    """The parts to merge when today's sessions are summed (``recent.LiveSessions``): the
    parts of the newest events, read raw; today's stored parts of the sessions those continue
    or that have a part on an earlier day (marked ``shared``); and the stored days' unshared
    parts of the same sessions. The other sessions of today are in the sums already, so a
    report costs the newest minutes and the sessions crossing days, not the whole day.
    """
    newest = daily.session_parts([counted.newest]).cte("newest")
    today = (SessionDay.tz == tz, SessionDay.date == counted.day.date)
    rolled = sa.literal(1).label("rolled")
    columns = (SessionDay.session_id, SessionDay.first_ts, SessionDay.last_ts, rolled)
    parts = [
        sa.select(
            newest.c.session_id, newest.c.first_ts, newest.c.last_ts, sa.literal(0).label("rolled")
        ),
        sa.select(*columns).where(*today, SessionDay.shared.is_(True)),
        sa.select(*columns)
        .join_from(newest, SessionDay, SessionDay.session_id == newest.c.session_id)
        .where(*today, SessionDay.shared.is_(False)),
    ]
    if dates:
        shared = sa.select(SessionDay.session_id).where(*today, SessionDay.shared.is_(True))
        ids = sa.union(sa.select(newest.c.session_id), shared).subquery()
        crossing = _rolled_parts(tz, dates[0], dates[-1], SessionDay.shared.is_(False))
        parts.append(crossing.join_from(SessionDay, ids, ids.c.session_id == SessionDay.session_id))
    return parts


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
    days = recent.split(rng)
    if not _trusted(rng, days, marks):
        return None
    tz, parts = rng.tz, []
    if days.stored:
        parts.append(
            sa.select(PageDay.page, PageDay.views).where(
                PageDay.tz == tz, PageDay.date >= days.first, PageDay.date <= days.last
            )
        )
    if days.recent:
        newer = recent.page_views(tz, days.recent, marks).subquery()
        parts.append(sa.select(newer.c.page, newer.c.views))
    union = sa.union_all(*parts).subquery()
    views = sa.func.sum(union.c.views).label("views")
    query = (
        sa.select(union.c.page, views)
        .group_by(union.c.page)
        .order_by(sa.desc("views"), union.c.page)
        .limit(limit)
    )
    return [(page, int(count)) for page, count in db.session.execute(query)]


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
