"""Store the funnel rollups (``models.funnels``) of finished days, and keep them exact through
erasure and retention; ``reports.stored_funnels`` reads them. PostgreSQL only.

A day is stored from scratch every time it is rolled (its rows deleted, then recomputed from
events), like its metrics, so ``rollup.protocol``'s marks make it exact: a marked day is read
from raw events until the rollup recomputes it. Days rolled before these tables existed are
filled in by ``backfill`` as long as their events are all still stored (after a change of
``ROLLUP_PAYLOAD_KEYS``, ``flask --app wsgi analytics rollup --start …`` stores earlier days
with the new keys).
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import FunnelCover, FunnelDay, UserNumber
from ..models.funnels import KIND_BITS
from ..models.types import Timestamp
from ..reports.periods import day_in
from . import bitmaps, protocol
from .breakdowns import enabled, fillable_days, forget_days_before, payload_keys

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _kept(keys):
    """SQL: the event's kept payload values as a JSON object (``:k0``… name the keys)."""
    if not keys:
        return "'{}'::jsonb"
    pairs = (f"CAST(:k{n} AS text), e.payload ->> CAST(:k{n} AS text)" for n in range(len(keys)))
    return f"jsonb_build_object({', '.join(pairs)})"


def _kinds_sql(keys):
    """Number the kinds of ``[lo, hi)`` not numbered yet."""
    return sa.text(f"""
        INSERT INTO funnel_kinds (type, src, kept)
        SELECT DISTINCT e.type, e.src, {_kept(keys)} FROM events e
        WHERE e.ts >= :lo AND e.ts < :hi
        ON CONFLICT ON CONSTRAINT uq_funnel_kinds_type_src_kept DO NOTHING
    """).bindparams(sa.bindparam("lo", type_=Timestamp), sa.bindparam("hi", type_=Timestamp))


def _rows_sql(keys):
    """``INSERT … SELECT`` of the day ``[lo, hi)``'s rows, one per numbered user (erased users
    have no number: their events are being deleted, and the erasure's marks recompute the day).

    Events at one instant keep the order of their ids, so a rerun stores the same bytes.
    """
    return sa.text(f"""
        INSERT INTO funnel_days (date, tz, number, kinds, events)
        SELECT :date, :tz, n.number, array_agg(DISTINCT k.id),
               int8send(-CAST(:midnight AS bigint)) || string_agg(
                   int8send(CAST(date_part('epoch', e.ts - :lo) * 1000000 AS bigint)
                            << {KIND_BITS} | k.id),
                   ''::bytea ORDER BY e.ts, e.id)
        FROM events e
        JOIN user_numbers n ON n.user_id = e.user_id
        JOIN funnel_kinds k
          ON k.type = e.type AND coalesce(k.src, '') = coalesce(e.src, '')
         AND k.src IS NOT DISTINCT FROM e.src AND k.kept = {_kept(keys)}
        WHERE e.ts >= :lo AND e.ts < :hi
        GROUP BY n.number
    """).bindparams(
        sa.bindparam("lo", type_=Timestamp),
        sa.bindparam("hi", type_=Timestamp),
        sa.bindparam("date", type_=sa.Date),
    )


def store(dates, tzinfo):
    """Replace the funnel rows of these finished dates of the zone (the caller commits)."""
    if not enabled():
        return
    for value in dates:
        _store_day(day_in(value, tzinfo), tzinfo.key)


def _store_day(day, tz):
    for model in (FunnelDay, FunnelCover):
        db.session.execute(sa.delete(model).where(model.tz == tz, model.date == day.date))
    span = {"lo": day.start, "hi": day.end}
    kept = bitmaps.number_users_and_keep(span, payload_keys())
    named = {f"k{n}": key for n, key in enumerate(kept)}
    db.session.execute(_kinds_sql(kept), span | named)
    midnight = (day.start - EPOCH) // MICROSECOND
    params = span | named | {"date": day.date, "tz": tz, "midnight": midnight}
    db.session.execute(_rows_sql(kept), params)
    db.session.add(FunnelCover(date=day.date, tz=tz, keys=kept))
    db.session.flush()


def backfill(tzinfo, progress=None):
    """Store the fillable days (``breakdowns.fillable_days``) that have no funnel rows, one
    day per transaction; return how many."""
    span = fillable_days(tzinfo) if enabled() else None
    if span is None:
        return 0
    tz, (first, last) = tzinfo.key, span
    covered = set(
        db.session.scalars(
            sa.select(FunnelCover.date).where(
                FunnelCover.tz == tz, FunnelCover.date >= first, FunnelCover.date <= last
            )
        )
    )
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    missing = [value for value in days if value not in covered]
    for done, value in enumerate(missing, 1):
        store([value], tzinfo)
        protocol.bump_cold()
        db.session.commit()
        if progress:
            progress(done, len(missing))
    if missing:  # the planner's statistics: without them it misjudges a range's rows
        db.session.execute(sa.text("ANALYZE funnel_days"))
        db.session.commit()
    return len(missing)


def forget_user(user_id):
    """Delete a user's rows (the caller commits), before ``breakdowns.forget_user`` drops the
    user's number. Erasure's marks make the rollup recompute the days whose events it
    deleted; this also takes the user out of days older than the events kept."""
    if not enabled():
        return
    number = sa.select(UserNumber.number).where(UserNumber.user_id == user_id)
    db.session.execute(sa.delete(FunnelDay).where(FunnelDay.number.in_(number.scalar_subquery())))


def forget_before(cutoff):
    """Delete the rows of days before ``cutoff``, and commit."""
    forget_days_before(cutoff, FunnelDay, FunnelCover)
