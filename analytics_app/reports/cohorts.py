"""Day-N retention of new users from the stored activity, or None (``activity`` says when).

A user is new on their first stored day (``users_seen``), which the rollups remember as long
as they keep days (``METRICS_RETENTION_DAYS``), longer than raw events; retained users are
found in ``user_days`` of cohort day + N. The days after the last stored one (``recent``:
finished days not rolled yet, and today) are read once, from live counts or their own raw
events: on them a user is new on the first of those days they are active, when they have no
stored day, and retained when active on such a day.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import UserDay, UserSeen
from . import live, recent, stored
from .activity import unseen

NEW = -1
"""The offset under which the statement over the recent days returns a cohort's new users."""


def retention(rng, last, offsets, marks):
    """``[(new_users, {N: retained})]`` per day of the range (as ``raw.retention``), or None.

    ``last`` is the last day retention is measured on (a finished day).
    """
    first = stored.first_rolled_date(rng.zone)
    if first is None:
        return None
    rolled = stored.last_rolled_date(rng.tz)
    if not stored.current(rng.zone, marks, first, min(last, rolled)):
        return None
    tz = rng.tz
    days = recent.split(rng, rolled=rolled)
    result = {d.date: [0, dict.fromkeys(offsets, 0)] for d in rng.local_days}
    if days.stored:
        query = (
            sa.select(UserSeen.first_date, sa.func.count())
            .where(UserSeen.tz == tz, UserSeen.first_date >= days.first)
            .where(UserSeen.first_date <= days.last)
            .group_by(UserSeen.first_date)
        )
        for cohort, users in db.session.execute(query):
            result[cohort][0] = users
    pairs = [
        (d.date, n, d.date + timedelta(days=n))
        for d in rng.local_days
        for n in offsets
        if d.date + timedelta(days=n) <= last
    ]
    held = [pair for pair in pairs if pair[2] <= rolled]
    if held:
        for cohort, offset, users in db.session.execute(_retained(tz, held)):
            result[cohort][1][offset] = users
    after = rolled + timedelta(days=1)
    newer = recent.split(rng, after, max(rng.end, last), rolled).recent
    if newer:
        later = [pair for pair in pairs if pair[2] > rolled]
        statement = _recent(tz, newer, live.counted(tz, newer, marks), days, later, rolled)
        for cohort, offset, users in db.session.execute(statement):
            if offset == NEW:
                result[cohort][0] = users
            else:
                result[cohort][1][offset] = users
    return [tuple(result[d.date]) for d in rng.local_days]


def _pairs(pairs):
    values = sa.values(
        sa.column("cohort", sa.Date),
        sa.column("offset", sa.Integer),
        sa.column("target", sa.Date),
        name="pairs",
    )
    return values.data(pairs).cte("pairs")


def _retained(tz, pairs):
    """Per (cohort, offset): the cohort's users with a stored day on cohort day + offset."""
    pairs = _pairs(pairs)
    cohort = sa.and_(UserSeen.tz == tz, UserSeen.first_date == pairs.c.cohort)
    active = sa.and_(
        UserDay.date == pairs.c.target, UserDay.tz == tz, UserDay.user_id == UserSeen.user_id
    )
    return (
        sa.select(pairs.c.cohort, pairs.c.offset, sa.func.count())
        .select_from(pairs.join(UserSeen, cohort).join(UserDay, active))
        .group_by(pairs.c.cohort, pairs.c.offset)
    )


def _recent(tz, newer, counted, days, pairs, rolled):
    """One statement over the recent days' users, read once: ``(cohort, NEW, new users)`` per
    recent cohort day of the range, and ``(cohort, offset, retained)`` per pair whose target
    is a recent day (the cohort stored, or recent itself)."""
    active = recent.user_days(tz, newer, counted).cte("recent_days")
    firsts = (
        sa.select(active.c.user_id, sa.func.min(active.c.date).label("first"))
        .group_by(active.c.user_id)
        .subquery("firsts")
    )
    fresh = unseen(tz, firsts).add_columns(firsts.c.first.label("cohort")).cte("fresh")
    cohorts = [d.date for d in days.recent]
    statements = [
        sa.select(fresh.c.cohort, sa.literal(NEW), sa.func.count())
        .where(fresh.c.cohort.in_(cohorts))
        .group_by(fresh.c.cohort)
    ]
    if pairs:
        held = sorted({cohort for cohort, _, _ in pairs if cohort <= rolled})
        members = sa.union_all(
            sa.select(UserSeen.first_date.label("cohort"), UserSeen.user_id).where(
                UserSeen.tz == tz, UserSeen.first_date.in_(held)
            ),
            sa.select(fresh.c.cohort, fresh.c.user_id),
        ).subquery("members")
        values = _pairs(pairs)
        joined = values.join(members, members.c.cohort == values.c.cohort).join(
            active,
            sa.and_(active.c.date == values.c.target, active.c.user_id == members.c.user_id),
        )
        statements.append(
            sa.select(values.c.cohort, values.c.offset, sa.func.count())
            .select_from(joined)
            .group_by(values.c.cohort, values.c.offset)
        )
    return sa.union_all(*statements)
