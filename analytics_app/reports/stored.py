"""What the rollups have stored, read for reports: daily figures, and whether they are current.

The rollup (``analytics_app.rollup``) writes these tables; ``analytics_app.rollup.protocol``
explains how marks and the boundary keep them exact. Nothing here writes.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import DailyMetric, RollupMark
from .periods import as_utc, local_date
from .raw import events

TRAILING_DAYS = {"dau": 1, "wau": 7, "mau": 30}
"""The active-user figures the rollup stores, and how many days ending on a day each counts."""
LONGEST_TRAILING = max(TRAILING_DAYS.values())
ROLLED = "sessions"
"""The figure that says a day is rolled: stored for every rolled day, 0 included, since the
activity rollups (migration 0011), so days rolled before them are rolled again."""


def rolled_zones(config):
    """The zones whose rollups are kept: the report zone and UTC (names)."""
    return list(dict.fromkeys([config["REPORT_TIMEZONE"], "UTC"]))


def dimensions(tz, **extra):
    """The stored dimensions of a figure of zone ``tz`` (a name)."""
    return {"tz": tz, **extra}


def read_marks():
    """All pending marks as ``(id, first_ts, last_ts)``."""
    return db.session.execute(
        sa.select(RollupMark.id, RollupMark.first_ts, RollupMark.last_ts)
    ).all()


def stale_days(marks, tzinfo, trailing=LONGEST_TRAILING):
    """Local dates whose ``trailing``-day figures the marked spans may have changed."""
    stale = set()
    for _, first_ts, last_ts in marks:
        first = local_date(as_utc(first_ts), tzinfo)
        last = local_date(as_utc(last_ts), tzinfo) + timedelta(days=trailing - 1)
        stale.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return stale


def last_rolled_date(tz):
    """The latest rolled date of zone ``tz`` (a name), or None."""
    return db.session.scalar(
        sa.select(sa.func.max(DailyMetric.date)).where(
            DailyMetric.name == ROLLED, DailyMetric.dimensions == dimensions(tz)
        )
    )


def _rolled(tz):
    return sa.and_(DailyMetric.name == ROLLED, DailyMetric.dimensions == dimensions(tz))


def current(tzinfo, marks, first, last):
    """Whether every day ``first``..``last`` of the zone is rolled, or before any stored event
    and rolled day (so empty), and no mark touches one."""
    if last < first:
        return True
    for _, first_ts, last_ts in marks:
        span = local_date(as_utc(first_ts), tzinfo), local_date(as_utc(last_ts), tzinfo)
        if span[0] <= last and span[1] >= first:
            return False
    rolled = db.session.scalar(
        sa.select(sa.func.count()).where(
            _rolled(tzinfo.key), DailyMetric.date >= first, DailyMetric.date <= last
        )
    )
    if rolled == (last - first).days + 1:
        return True
    start = first_rolled_date(tzinfo)
    return start is not None and first < start and current(tzinfo, marks, start, last)


def first_rolled_date(tzinfo):
    """The zone's earliest rolled date, if no stored event is older; else None.

    Stored activity knows every user's first day from then on (``reports.activity``).
    """
    first = db.session.scalar(sa.select(sa.func.min(DailyMetric.date)).where(_rolled(tzinfo.key)))
    oldest = db.session.scalar(sa.select(sa.func.min(events.c.ts)))
    if first is None or (oldest is not None and local_date(as_utc(oldest), tzinfo) < first):
        return None
    return first


def read_values(name, tz, dates):
    """Stored values of an active-user figure (dau, wau, mau) as ``{date: value}``."""
    if not dates:
        return {}
    query = sa.select(DailyMetric.date, DailyMetric.value).where(
        DailyMetric.name == name,
        DailyMetric.dimensions == dimensions(tz),
        DailyMetric.date >= min(dates),
        DailyMetric.date <= max(dates),
    )
    return dict(db.session.execute(query).all())


def read_event_counts(tz, dates):
    """Stored event counts as ``{date: {(type, src): count}}`` for dates that have rollups."""
    if not dates:
        return {}
    # Only the dates asked for: a stale day between them is read from raw events.
    wanted = set(dates)
    rolled = [date for date in read_values("dau", tz, dates) if date in wanted]
    query = sa.select(DailyMetric.date, DailyMetric.dimensions, DailyMetric.value).where(
        DailyMetric.name == "events",
        DailyMetric.date >= min(dates),
        DailyMetric.date <= max(dates),
        DailyMetric.dimensions["tz"].as_string() == tz,
    )
    result = {date: {} for date in rolled}
    for date, dims, value in db.session.execute(query):
        if date in result:
            result[date][(dims["type"], dims.get("src"))] = value
    return result
