"""Store finished days' activity (``models.activity``) and keep it exact through erasure and
retention; ``reports.activity`` reads it.

A day is stored from scratch every time (its rows deleted, then recomputed from events), as
its metrics are, so a rerun never changes a row; ``rollup.protocol`` says which days are
recomputed and why that is exact. ``users_seen`` is always the min and max of each user's
``user_days`` of the zone: the users whose days change get theirs recomputed in the same
transaction.
"""

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import PageDay, SessionDay, UserDay, UserSeen
from ..reports import daily
from ..reports.periods import day_in, today_in, zone
from . import protocol


def store(dates, tzinfo):
    """Replace the activity rows of these finished dates of the zone (the caller commits)."""
    tz, days = tzinfo.key, [day_in(d, tzinfo) for d in dates]
    store_users(tz, days)
    store_sessions(tz, days)
    store_pages(tz, days)


def store_pages(tz, days):
    """Replace the days' page views (``Day`` values of zone ``tz``, a name)."""
    dates = [d.date for d in days]
    db.session.execute(sa.delete(PageDay).where(PageDay.tz == tz, PageDay.date.in_(dates)))
    add_pages(tz, days)


def add_pages(tz, days):
    """Insert the page views of the days' spans (also today's newest stretch, ``rollup.live``)."""
    pages = daily.page_views(days).subquery()
    rows = sa.select(pages.c.date, sa.literal(tz), pages.c.page, pages.c.views)
    db.session.execute(sa.insert(PageDay).from_select(["date", "tz", "page", "views"], rows))


def add_sessions(tz, days):
    """Insert the session parts of the days' spans, not ``shared`` (also today's newest
    stretch, ``rollup.live``: today may then hold several parts of one session)."""
    parts = daily.session_parts(days).subquery()
    rows = sa.select(
        parts.c.date,
        sa.literal(tz),
        parts.c.session_id,
        parts.c.first_ts,
        parts.c.last_ts,
        sa.false(),
    )
    columns = ["date", "tz", "session_id", "first_ts", "last_ts", "shared"]
    insert = sa.insert(SessionDay).from_select(columns, rows)
    # SQLAlchemy reports an INSERT's row count only when asked to keep it.
    return db.session.execute(insert.execution_options(preserve_rowcount=True)).rowcount


def _users_of(tz, dates):
    return sa.select(UserDay.user_id).where(UserDay.tz == tz, UserDay.date.in_(dates))


def _unsee(condition):
    """Clear the first and last dates of these ``users_seen`` rows, to be recomputed."""
    db.session.execute(sa.update(UserSeen).where(condition).values(first_date=None, last_date=None))


def _reseen(tz):
    """Recompute the cleared rows of the zone from ``user_days``; drop those with no day."""
    days = sa.select(UserDay.date).where(UserDay.user_id == UserSeen.user_id, UserDay.tz == tz)
    first = days.with_only_columns(sa.func.min(UserDay.date)).scalar_subquery()
    last = days.with_only_columns(sa.func.max(UserDay.date)).scalar_subquery()
    cleared = sa.and_(UserSeen.tz == tz, UserSeen.first_date.is_(None))
    db.session.execute(sa.update(UserSeen).where(cleared).values(first_date=first, last_date=last))
    db.session.execute(sa.delete(UserSeen).where(cleared))


def store_users(tz, days):
    """Replace the days' active users and recompute the first and last days of every user
    in the old rows or the new."""
    dates = [d.date for d in days]
    _unsee(sa.and_(UserSeen.tz == tz, UserSeen.user_id.in_(_users_of(tz, dates))))
    db.session.execute(sa.delete(UserDay).where(UserDay.tz == tz, UserDay.date.in_(dates)))
    active = daily.active_users(days).subquery()
    rows = sa.select(active.c.date, sa.literal(tz), active.c.user_id)
    db.session.execute(sa.insert(UserDay).from_select(["date", "tz", "user_id"], rows))
    _unsee(sa.and_(UserSeen.tz == tz, UserSeen.user_id.in_(_users_of(tz, dates))))
    # NOT EXISTS, not NOT IN: PostgreSQL hashes a NOT IN list only while it fits in work_mem;
    # past that it rescans users_seen for every user of the days (quadratic). NOT EXISTS is
    # an anti-join at any size.
    seen = sa.exists().where(UserSeen.user_id == UserDay.user_id, UserSeen.tz == tz)
    new = _users_of(tz, dates).where(~seen).distinct().subquery()
    db.session.execute(
        sa.insert(UserSeen).from_select(["user_id", "tz"], sa.select(new.c.user_id, sa.literal(tz)))
    )
    _reseen(tz)


def store_sessions(tz, days):
    """Replace the days' session parts, then mark ``shared`` every part whose session id has
    a part on another finished day, and today's parts of the sessions the days share. A flag
    left true after that other part went only costs a merge."""
    dates = [d.date for d in days]
    db.session.execute(sa.delete(SessionDay).where(SessionDay.tz == tz, SessionDay.date.in_(dates)))
    _known_to_planner(SessionDay.__table__, add_sessions(tz, days))
    other = aliased(SessionDay)
    # Today's parts (``rollup.live``) do not count: reads join those by id themselves.
    elsewhere = sa.exists().where(
        other.session_id == SessionDay.session_id,
        other.tz == tz,
        other.date != SessionDay.date,
        other.date < today_in(zone(tz)),
    )
    ids = sa.select(other.session_id).where(other.tz == tz, other.date.in_(dates))
    db.session.execute(
        sa.update(SessionDay)
        .where(
            SessionDay.tz == tz,
            SessionDay.shared.is_(False),
            SessionDay.session_id.in_(ids),
            elsewhere,
        )
        .values(shared=True)
    )
    # Today's parts of sessions these days share, for reports of today (``rollup.live``
    # marks the others as it adds them).
    db.session.execute(
        sa.update(SessionDay)
        .where(
            SessionDay.tz == tz,
            SessionDay.date == today_in(zone(tz)),
            SessionDay.shared.is_(False),
            SessionDay.session_id.in_(ids),
        )
        .values(shared=True)
    )


def _known_to_planner(table, added):
    """PostgreSQL: ANALYZE ``table`` when its statistics know fewer rows than were just added.

    A first rollup fills the empty (or just truncated) table in one transaction. Planned on
    the statistics of an empty table, the ``shared`` update above took a nested loop of every
    stored part against every other: quadratic, minutes for one chunk of a small data set
    instead of a fraction of a second. ANALYZE in the transaction counts its own new rows; a
    table whose statistics know its size already costs one catalog read.
    """
    if db.engine.dialect.name != "postgresql" or added <= 0:
        return
    known = db.session.scalar(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
        {"name": table.name},
    )
    if known is None or known < added:
        db.session.execute(sa.text(f"ANALYZE {table.name}"))


VACUUMED = ("users_seen", "user_days", "session_days", "page_days")


def vacuum():
    """PostgreSQL: VACUUM (ANALYZE) the activity tables, after a rollup stored finished days.

    Reports count ``users_seen`` and ``user_days`` by index-only scans (today's WAU and MAU,
    a range's users), which visit the table for every page changed since its last vacuum: a
    finished day's rollup rewrites the first and last days of every user it saw, nearly every
    page. Autovacuum waits until a fifth of a table has changed (days of rollups), so the count
    of today's MAU took 150 ms at 10 M events where it takes 25 ms vacuumed
    (bench/README.md). It runs once a day per zone, outside the rollup's transaction (VACUUM
    cannot run in one); the visibility map it sets reaches replicas through the WAL.
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(VACUUMED)}")


def forget_user(user_id):
    """Delete a user's days and first/last seen in every zone (the caller commits).

    Erasure's marks make the rollup recompute the days whose events it deleted; this also
    drops the user from days older than the events kept.
    """
    db.session.execute(sa.delete(UserDay).where(UserDay.user_id == user_id))
    db.session.execute(sa.delete(UserSeen).where(UserSeen.user_id == user_id))
    protocol.bump_cold()


def forget_before(cutoff):
    """Delete the activity of days before ``cutoff``, one day per transaction; return how many
    days. Users first seen on a deleted day get their first day recomputed."""
    days = 0
    while True:
        oldest = db.session.scalar(sa.select(sa.func.min(UserDay.date)))
        oldest_other = [
            db.session.scalar(sa.select(sa.func.min(model.date))) for model in (SessionDay, PageDay)
        ]
        dates = [d for d in (oldest, *oldest_other) if d is not None and d < cutoff]
        if not dates:
            return days
        day = min(dates)
        for model in (UserDay, SessionDay, PageDay):
            db.session.execute(sa.delete(model).where(model.date == day))
        tzs = db.session.scalars(
            sa.select(UserSeen.tz).where(UserSeen.first_date <= day).distinct()
        ).all()
        _unsee(UserSeen.first_date <= day)
        for tz in tzs:
            _reseen(tz)
        protocol.bump_cold()
        db.session.commit()
        days += 1
