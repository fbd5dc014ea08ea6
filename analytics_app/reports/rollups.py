"""Daily rollups in the ``metrics`` table: compute, store, read, and know when they are stale.

Per local day and time zone (``REPORT_TIMEZONE`` and UTC) the rollup stores ``dau``, ``wau``
(distinct users over the 7 days ending that day), ``mau`` (30 days) and ``events`` per
(type, src). A day is recomputed from scratch every time, so a rerun or a retry after a crash
never changes a number. Ingest appends a mark per batch (its first and last ``ts``); a mark
makes the days it touches, and the windows that contain them, stale until the next rollup.
Ingest only marks batches reaching back before the rollup boundary, which each rollup moves
forward before it reads any event (``advance_boundary``); the rollup also keeps today's
distinct users so far (``live``).
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Metric, RollupBoundary, RollupMark
from . import live, raw
from .periods import as_utc, day_in, days_between, local_date, local_midnight, today_in, zone

WINDOWS = {"dau": 1, "wau": 7, "mau": 30}
LONGEST_WINDOW = max(WINDOWS.values())
CHUNK_DAYS = 31


def rolled_zones(config):
    """The zones whose rollups are kept: the report zone and UTC."""
    return list(dict.fromkeys([config["REPORT_TIMEZONE"], "UTC"]))


def _dims(tz, **extra):
    return {"tz": tz, **extra}


# --- staleness -------------------------------------------------------------------------------


def read_marks():
    """All pending marks as ``(id, first_ts, last_ts)``."""
    return db.session.execute(
        sa.select(RollupMark.id, RollupMark.first_ts, RollupMark.last_ts)
    ).all()


def stale_days(marks, tz, window=LONGEST_WINDOW):
    """Local dates whose ``window``-day figures the marked spans may have changed."""
    tzinfo = zone(tz)
    stale = set()
    for _, first_ts, last_ts in marks:
        first = local_date(as_utc(first_ts), tzinfo)
        last = local_date(as_utc(last_ts), tzinfo) + timedelta(days=window - 1)
        stale.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return stale


def latest_midnight(zones):
    """The earliest instant that is already "today" in every rolled zone.

    Events at or after it touch no finished day of any zone (nor a window ending on one).
    """
    return max(local_midnight(today_in(zone(tz)), zone(tz)) for tz in zones)


def advance_boundary(instant):
    """Move the rollup boundary forward to ``instant`` (never back), and commit.

    From the commit on, every batch reaching back before ``instant`` is marked: on PostgreSQL
    ``advance_rollup_boundary`` waits, under an exclusive advisory lock, for the batches being
    written with the old boundary to commit; on SQLite writes are serialised anyway. Events
    the rollup reads after this are therefore complete before ``instant``, but for marked ones.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # Batches arriving meanwhile queue behind the exclusive lock: rather than stall ingest
        # behind a stuck batch, fail and let the next scheduled rollup try again.
        db.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        advance = sa.text("SELECT advance_rollup_boundary(:instant)")
        db.session.execute(advance, {"instant": instant})
    else:
        covered = RollupBoundary.covered_before
        db.session.execute(
            sa.update(RollupBoundary)
            .where(sa.or_(covered.is_(None), covered < instant))
            .values(covered_before=instant.astimezone(UTC))
        )
    db.session.commit()


# --- computing and storing -------------------------------------------------------------------


def compute_days(dates, tz):
    """Compute every rollup row for the given local dates; return ``{date: [(name, dims, v)]}``."""
    tzinfo = zone(tz)
    days = [day_in(d, tzinfo) for d in dates]
    result = {d.date: [] for d in days}
    # Every day from a full window before the first date to the last, consecutive.
    first = min(dates) - timedelta(days=LONGEST_WINDOW - 1)
    window_days = days_between(first, max(dates), tzinfo)
    trailing = raw.trailing_active_users(
        [(d.start, d.end) for d in window_days], list(WINDOWS.values())
    )
    for day in days:
        n = (day.date - first).days
        for name, length in WINDOWS.items():
            result[day.date].append((name, _dims(tz), trailing[length][n]))
    counts = raw.event_counts([(d.start, d.end) for d in days])
    for day, by_key in zip(days, counts, strict=True):
        for (type_, src), value in sorted(by_key.items(), key=lambda item: str(item[0])):
            result[day.date].append(("events", _dims(tz, type=type_, src=src), value))
    return result


def store_days(rows_by_date, tz):
    """Replace the stored rollup rows of these dates and zone (the caller commits)."""
    dates = list(rows_by_date)
    db.session.execute(
        sa.delete(Metric).where(Metric.date.in_(dates), Metric.dimensions["tz"].as_string() == tz)
    )
    values = [
        {"date": date, "name": name, "dimensions": dims, "value": value}
        for date, rows in rows_by_date.items()
        for name, dims, value in rows
    ]
    if values:
        db.session.execute(sa.insert(Metric), values)


def last_rolled_date(tz):
    """The latest date with a stored ``dau`` for this zone, or None."""
    return db.session.scalar(
        sa.select(sa.func.max(Metric.date)).where(
            Metric.name == "dau", Metric.dimensions == _dims(tz)
        )
    )


def first_event_date(tz):
    """The local date of the oldest stored event, or None."""
    first = db.session.scalar(sa.select(sa.func.min(raw.events.c.ts)))
    return local_date(as_utc(first), zone(tz)) if first else None


def days_to_roll(tz, marks, start=None, end=None):
    """Dates to (re)compute: finished days not rolled yet, plus stale rolled days.

    With ``start``/``end`` (the CLI), exactly that range of finished days.
    """
    yesterday = today_in(zone(tz)) - timedelta(days=1)
    if start is not None or end is not None:
        first = start or first_event_date(tz) or yesterday
        last = min(end or yesterday, yesterday)
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    last_rolled = last_rolled_date(tz)
    begin = last_rolled + timedelta(days=1) if last_rolled else first_event_date(tz)
    pending = set()
    if begin is not None:
        pending.update(begin + timedelta(days=n) for n in range((yesterday - begin).days + 1))
    if last_rolled is not None:
        pending.update(d for d in stale_days(marks, tz) if d <= min(last_rolled, yesterday))
    return sorted(pending)


def roll_up(zones, start=None, end=None, progress=None):
    """Bring the rollups of ``zones`` and today's live counts up to date; return how many days
    were computed.

    Marks read at the start are deleted only once every zone has been stored, so a crash
    leaves them in place and the retry recomputes the same days.
    """
    live_until = datetime.now(UTC) - live.LIVE_LAG
    advance_boundary(max(live_until, latest_midnight(zones)))
    marks = read_marks()
    plan = [(tz, days_to_roll(tz, marks, start, end)) for tz in zones]
    total = sum(len(dates) for _, dates in plan)
    done = 0
    for tz, dates in plan:
        for offset in range(0, len(dates), CHUNK_DAYS):
            chunk = dates[offset : offset + CHUNK_DAYS]
            store_days(compute_days(chunk, tz), tz)
            db.session.commit()
            done += len(chunk)
            if progress:
                progress(done, total)
    live.refresh(zones, marks, live_until)
    ids = [mark_id for mark_id, _, _ in marks]
    for offset in range(0, len(ids), 500):
        db.session.execute(
            sa.delete(RollupMark).where(RollupMark.id.in_(ids[offset : offset + 500]))
        )
    db.session.commit()
    return total


# --- reading ---------------------------------------------------------------------------------


def read_values(name, tz, dates):
    """Stored values of a per-user metric (dau, wau, mau) as ``{date: value}``."""
    if not dates:
        return {}
    query = sa.select(Metric.date, Metric.value).where(
        Metric.name == name,
        Metric.dimensions == _dims(tz),
        Metric.date >= min(dates),
        Metric.date <= max(dates),
    )
    return dict(db.session.execute(query).all())


def read_event_counts(tz, dates):
    """Stored event counts as ``{date: {(type, src): count}}`` for dates that have rollups."""
    if not dates:
        return {}
    rolled = read_values("dau", tz, dates)
    query = sa.select(Metric.date, Metric.dimensions, Metric.value).where(
        Metric.name == "events",
        Metric.date >= min(dates),
        Metric.date <= max(dates),
        Metric.dimensions["tz"].as_string() == tz,
    )
    result = {date: {} for date in rolled}
    for date, dims, value in db.session.execute(query):
        if date in result:
            result[date][(dims["type"], dims.get("src"))] = value
    return result
