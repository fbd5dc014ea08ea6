"""What the rollups have stored, read for reports: daily figures, and whether they are current.

The rollup (``analytics_app.rollup``) writes these tables; ``analytics_app.rollup.protocol``
explains how marks and the boundary keep them exact. Nothing here writes.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import DailyMetric, RollupMark
from .periods import as_utc, local_date

TRAILING_DAYS = {"dau": 1, "wau": 7, "mau": 30}
"""The active-user figures the rollup stores, and how many days ending on a day each counts."""
LONGEST_TRAILING = max(TRAILING_DAYS.values())


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
    """The latest date with a stored ``dau`` for zone ``tz`` (a name), or None."""
    return db.session.scalar(
        sa.select(sa.func.max(DailyMetric.date)).where(
            DailyMetric.name == "dau", DailyMetric.dimensions == dimensions(tz)
        )
    )


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
    rolled = read_values("dau", tz, dates)
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
