"""Store the breakdown rollups (``models.breakdowns``) of finished days, and keep them exact
through erasure and retention; ``reports.stored_breakdowns`` reads them. PostgreSQL only.

A day is stored from scratch every time it is rolled (its rows deleted, then recomputed from
events), like its metrics, so ``rollup.protocol``'s marks make it exact: a marked day is read
from raw events until the rollup recomputes it. Every block of days holding a recomputed day
is rebuilt from its two halves in the same transaction. Days rolled before these tables
existed (or before a payload key was configured) are filled in by ``backfill`` as long as
their events are all still stored.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import BreakdownBits, BreakdownCover, UserNumber
from ..models.breakdowns import CHUNK_BITS, LIVE, STRETCH
from ..reports import raw
from ..reports.periods import as_utc, day_in, local_date, today_in
from ..reports.stored import last_rolled_date
from . import bitmaps, blocks, protocol

FIXED = ("type", "src")


def enabled():
    """Whether this database keeps breakdown rollups (PostgreSQL does, SQLite does not)."""
    return db.session.get_bind().dialect.name == "postgresql"


def payload_keys():
    return list(dict.fromkeys(current_app.config["ROLLUP_PAYLOAD_KEYS"]))


def dimensions():
    """The dimensions the rollup keeps: type, src and the configured payload keys."""
    return [*FIXED, *(f"payload.{key}" for key in payload_keys())]


def store(dates, tzinfo):
    """Replace the breakdown rows of these finished dates of the zone, and of every block
    holding one (the caller commits)."""
    if not enabled() or not dates:
        return
    for value in dates:
        _store_day(day_in(value, tzinfo), tzinfo.key)
    blocks.store(tzinfo.key, dates)


def _store_day(day, tz):
    for model in (BreakdownBits, BreakdownCover):
        db.session.execute(
            sa.delete(model).where(model.tz == tz, model.date == day.date, model.days == 1)
        )
    keys = payload_keys()
    overflowed = _add_rows(tz, day.date, 1, day.start, day.end, keys)
    _add_covers(tz, day.date, 1, keys, overflowed)


def _add_rows(tz, value, days, lo, hi, keys):
    """Insert the rows of the events in ``[lo, hi)`` as ``days`` days from ``value``, for
    type, src and those of ``keys`` with at most ``ROLLUP_PAYLOAD_VALUES`` values there;
    return the other keys. Numbers the stretch's new users first."""
    span = {"lo": lo, "hi": hi}
    kept = bitmaps.number_users_and_keep(span, keys)
    params = span | {"date": value, "days": days, "tz": tz} | bitmaps.key_params(kept)
    db.session.execute(bitmaps.rows_sql(kept), params)
    return [key for key in keys if key not in kept]


def _add_covers(tz, value, days, keys, overflowed):
    covers = [{"dimension": d, "overflowed": False} for d in FIXED]
    covers += [{"dimension": f"payload.{k}", "overflowed": k in overflowed} for k in keys]
    rows = [cover | {"tz": tz, "date": value, "days": days} for cover in covers]
    db.session.execute(sa.insert(BreakdownCover), rows)


def fillable_days(tzinfo):
    """``(first, last)``: the rolled, finished days of the zone whose events are all still
    stored, which a rollup structure added later can fill in; None when there are none.

    The day of the oldest stored event is left out (retention may have taken part of it),
    and so are the days before it: their other rollups outlive their events.
    """
    last = last_rolled_date(tzinfo.key)
    oldest = db.session.scalar(sa.select(sa.func.min(raw.events.c.ts)))
    if last is None or oldest is None:
        return None
    first = local_date(as_utc(oldest), tzinfo) + timedelta(days=1)
    last = min(last, today_in(tzinfo) - timedelta(days=1))
    return (first, last) if first <= last else None


def backfill(tzinfo, progress=None):
    """Store the fillable days (``fillable_days``) that lack a kept dimension's rows, one day
    per transaction, then the blocks not built; return how many days."""
    span = fillable_days(tzinfo) if enabled() else None
    if span is None:
        return 0
    tz, (first, last) = tzinfo.key, span
    wanted = dimensions()
    rows = db.session.execute(
        sa.select(BreakdownCover.date, BreakdownCover.dimension).where(
            BreakdownCover.tz == tz,
            BreakdownCover.days == 1,
            BreakdownCover.date >= first,
            BreakdownCover.date <= last,
        )
    ).all()
    have = {}
    for value, dimension in rows:
        have.setdefault(value, set()).add(dimension)
    missing = [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if not set(wanted) <= have.get(first + timedelta(days=n), set())
    ]
    for done, value in enumerate(missing, 1):
        store([value], tzinfo)
        protocol.bump_cold()
        db.session.commit()
        if progress:
            progress(done, len(missing))
    unbuilt = blocks.unbuilt(tz)
    if unbuilt:
        blocks.store(tz, unbuilt)
        protocol.bump_cold()
        db.session.commit()
    return len(missing)


def forget_user(user_id):
    """Clear a user's bit in every stored bitmap and drop the user's number (the caller
    commits). Erasure's marks make the rollup recompute the days whose events it deleted;
    this also takes the user out of days older than the events kept."""
    if not enabled():
        return
    number = db.session.scalar(sa.select(UserNumber.number).where(UserNumber.user_id == user_id))
    if number is None:
        return
    chunk, bit = divmod(number, CHUNK_BITS)
    users = BreakdownBits.users
    db.session.execute(
        sa.update(BreakdownBits)
        .where(BreakdownBits.chunk == chunk, sa.func.get_bit(users, bit) == 1)
        .values(users=sa.func.set_bit(users, bit, 0))
    )
    db.session.execute(sa.delete(UserNumber).where(UserNumber.number == number))


def forget_before(cutoff):
    """Delete the rows of days (and blocks) starting before ``cutoff``, and commit."""
    forget_days_before(cutoff, BreakdownBits, BreakdownCover)


def forget_days_before(cutoff, rows, covers):
    """Delete a rollup structure's ``rows`` and ``covers`` (models with a ``date``) of days
    before ``cutoff``, and commit; a cover gone changes what reports read, so it bumps the
    cold generation."""
    if not enabled():
        return
    db.session.execute(sa.delete(rows).where(rows.date < cutoff))
    gone = db.session.execute(sa.delete(covers).where(covers.date < cutoff))
    if gone.rowcount:
        protocol.bump_cold()
    db.session.commit()


def drop_live_zones(names):
    """Delete today's rows of the zones not rolled any more (the caller commits)."""
    if enabled():
        for model in (BreakdownBits, BreakdownCover):
            db.session.execute(sa.delete(model).where(model.days == LIVE, model.tz.not_in(names)))


def refresh_live(tz, day, since, until):
    """Extend today's rows of zone ``tz`` from ``since`` to ``until`` (the caller commits).

    ``rollup.live`` calls this with its counted stretch, so today's rows always count the
    events from midnight to its ``covered_until``; without ``since`` (a stale or missing
    stretch), or when the rows lack a dimension, they are counted again from midnight. A key
    that reaches more than ``ROLLUP_PAYLOAD_VALUES`` values stays overflowed for the day.
    """
    if not enabled():
        return
    for model in (BreakdownBits, BreakdownCover):
        live = sa.and_(model.tz == tz, model.days.in_((LIVE, STRETCH)))
        db.session.execute(sa.delete(model).where(live, model.date != day.date))
    covers = db.session.execute(
        sa.select(BreakdownCover.dimension, BreakdownCover.overflowed).where(
            BreakdownCover.tz == tz, BreakdownCover.date == day.date, BreakdownCover.days == LIVE
        )
    ).all()
    covers = dict(covers)
    if since is None or set(covers) != set(dimensions()):
        for model in (BreakdownBits, BreakdownCover):
            db.session.execute(sa.delete(model).where(model.tz == tz, model.days == LIVE))
        since, covers = day.start, {}
    if until <= since:
        return
    keys = [key for key in payload_keys() if not covers.get(f"payload.{key}")]
    overflowed = _add_rows(tz, day.date, STRETCH, since, until, keys)
    params = {"tz": tz, "date": day.date, "live": LIVE, "stretch": STRETCH}
    db.session.execute(bitmaps.MERGE_LIVE, params)
    cap = current_app.config["ROLLUP_PAYLOAD_VALUES"]
    values = db.session.execute(
        sa.select(BreakdownBits.dimension, sa.func.count(sa.distinct(BreakdownBits.value)))
        .where(BreakdownBits.tz == tz, BreakdownBits.date == day.date)
        .where(BreakdownBits.days == LIVE, BreakdownBits.dimension.like("payload.%"))
        .group_by(BreakdownBits.dimension)
    ).all()
    overflowed += [d.removeprefix("payload.") for d, count in values if count > cap]
    overflowed += [key for key in payload_keys() if covers.get(f"payload.{key}")]
    dropped = [f"payload.{key}" for key in overflowed]
    db.session.execute(
        sa.delete(BreakdownBits).where(
            BreakdownBits.tz == tz,
            BreakdownBits.days == LIVE,
            BreakdownBits.dimension.in_(dropped),
        )
    )
    db.session.execute(
        sa.delete(BreakdownCover).where(BreakdownCover.tz == tz, BreakdownCover.days == LIVE)
    )
    _add_covers(tz, day.date, LIVE, payload_keys(), set(overflowed))
