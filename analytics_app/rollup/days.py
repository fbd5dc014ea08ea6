"""Finished days' rollups: which days to compute, computing them, and storing them.

Per local day and rolled zone the rollup stores ``dau``, ``wau`` (distinct users over the 7
days ending that day), ``mau`` (30 days), ``events`` per (type, src) and the day's sessions
(``reports.activity.SESSIONS``, from the activity ``rollup.activity`` stored first) in the
``metrics`` table. A day is recomputed from scratch every time, so a rerun or a retry after a
crash never changes a number.
"""

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import DailyMetric
from ..reports import raw
from ..reports.activity import SESSION_MICROSECONDS, SESSIONS, session_figures
from ..reports.periods import as_utc, day_in, days_between, local_date, today_in
from ..reports.stored import (
    LONGEST_TRAILING,
    TRAILING_DAYS,
    dimensions,
    last_rolled_date,
    stale_days,
)


def compute_days(dates, tzinfo):
    """Compute every rollup row for the given local dates; return ``{date: [(name, dims, v)]}``."""
    tz = tzinfo.key
    days = [day_in(d, tzinfo) for d in dates]
    result = {d.date: [] for d in days}
    # Every day from a full trailing stretch before the first date to the last, consecutive.
    first = min(dates) - timedelta(days=LONGEST_TRAILING - 1)
    stretch = days_between(first, max(dates), tzinfo)
    trailing = raw.trailing_active_users(
        [(d.start, d.end) for d in stretch], list(TRAILING_DAYS.values())
    )
    for day in days:
        n = (day.date - first).days
        for name, length in TRAILING_DAYS.items():
            result[day.date].append((name, dimensions(tz), trailing[length][n]))
    counts = raw.event_counts([(d.start, d.end) for d in days])
    for day, by_key in zip(days, counts, strict=True):
        for (type_, src), value in sorted(by_key.items(), key=lambda item: str(item[0])):
            result[day.date].append(("events", dimensions(tz, type=type_, src=src), value))
    for date, (count, microseconds) in session_figures(tz, dates).items():
        result[date].append((SESSIONS, dimensions(tz), count))
        result[date].append((SESSION_MICROSECONDS, dimensions(tz), microseconds))
    return result


def store_days(rows_by_date, tzinfo):
    """Replace the stored rollup rows of these dates and zone (the caller commits)."""
    dates = list(rows_by_date)
    db.session.execute(
        sa.delete(DailyMetric).where(
            DailyMetric.date.in_(dates), DailyMetric.dimensions["tz"].as_string() == tzinfo.key
        )
    )
    values = [
        {"date": date, "name": name, "dimensions": dims, "value": value}
        for date, rows in rows_by_date.items()
        for name, dims, value in rows
    ]
    if values:
        db.session.execute(sa.insert(DailyMetric), values)


def first_event_date(tzinfo):
    """The local date of the oldest stored event, or None."""
    first = db.session.scalar(sa.select(sa.func.min(raw.events.c.ts)))
    return local_date(as_utc(first), tzinfo) if first else None


def days_to_roll(tzinfo, marks, start=None, end=None):
    """Dates to (re)compute: finished days not rolled yet, plus stale rolled days.

    With ``start``/``end`` (the CLI), exactly that range of finished days.
    """
    yesterday = today_in(tzinfo) - timedelta(days=1)
    if start is not None or end is not None:
        first = start or first_event_date(tzinfo) or yesterday
        last = min(end or yesterday, yesterday)
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    last_rolled = last_rolled_date(tzinfo.key)
    begin = last_rolled + timedelta(days=1) if last_rolled else first_event_date(tzinfo)
    pending = set()
    if begin is not None:
        pending.update(begin + timedelta(days=n) for n in range((yesterday - begin).days + 1))
    if last_rolled is not None:
        pending.update(d for d in stale_days(marks, tzinfo) if d <= min(last_rolled, yesterday))
    return sorted(pending)
