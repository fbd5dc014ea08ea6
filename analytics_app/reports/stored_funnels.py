"""Funnels from the stored rows (``models.funnels``), PostgreSQL only.

A funnel reads the events from its range's first local midnight to the end of its last day
plus the window. Each whole local day of that span that the rollup has stored, with no
pending mark (``rollup.protocol``) and with every payload key the steps test kept, is read
from the stored rows; every other part (today, a day not rolled or marked since, a day
that did not keep a tested key, the span's last, partial day) from raw events. Both parts
meet in one statement, one row per user who starts in the range, as ``funnel_sql``'s raw
query does: the user's stored rows and raw step events, or NULL for a user who cannot get
past step 1. That test is made on whole stored days (a user whose last step-2 day comes
before their first step-1 day cannot pass); the walk settles the rest exactly.

Python turns each stored event into the raw query's packed form (its kind's step bits,
``_masks``), so both feed ``chains.walk_packed`` alike. Users are the rollup's numbers;
raw events of users not numbered yet are grouped by their id.
"""

import sys
from array import array
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db
from ..models import FunnelCover, FunnelDay, FunnelKind, UserNumber
from ..models.funnels import KIND_BITS
from .funnel_sql import packed_events
from .periods import days_between, local_date
from .steps import MAX_STEPS
from .stored import stale_days

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
KIND_MASK = (1 << KIND_BITS) - 1
stored_days = FunnelDay.__table__
numbers = UserNumber.__table__


def plan(rng, funnel, marks):
    """``(days, spans)``: the stored local days to read, and the ``(lo, hi)`` spans to read
    from raw events; None when no stored day serves the funnel."""
    _, hi = rng.span()
    until, today = hi + funnel.window, rng.today()
    last = min(local_date(until - MICROSECOND, rng.zone), today)
    tested = {key for step in funnel.steps for key, _ in step.conditions}
    covers = dict(
        db.session.execute(
            sa.select(FunnelCover.date, FunnelCover.keys).where(
                FunnelCover.tz == rng.tz, FunnelCover.date >= rng.start, FunnelCover.date <= last
            )
        ).all()
    )
    stale = stale_days(marks, rng.zone, trailing=1)
    days, spans = [], []
    for day in days_between(rng.start, last, rng.zone):
        kept = covers.get(day.date)
        usable = kept is not None and tested <= set(kept) and day.date not in stale
        if usable and day.date < today and day.end <= until:
            days.append(day)
        elif spans and spans[-1][1] == day.start:
            spans[-1] = (spans[-1][0], min(day.end, until))
        else:
            spans.append((day.start, min(day.end, until)))
    return (days, spans) if days else None


def _masks(funnel, src):
    """``{kind id: step bits}`` of the kinds that are some step (and of the source asked)."""
    query = sa.select(FunnelKind.id, FunnelKind.type, FunnelKind.kept).where(
        FunnelKind.type.in_({step.type for step in funnel.steps})
    )
    if src:
        query = query.where(FunnelKind.src == src)
    masks = {}
    for kind, type_, kept in db.session.execute(query):
        mask = 0
        for n, step in enumerate(funnel.steps):
            if step.type == type_ and all(kept.get(k) == v for k, v in step.conditions):
                mask |= 1 << n
        if mask:
            masks[kind] = mask
    return masks


def _ids(values):
    return sa.cast(sa.literal(sorted(values), ARRAY(sa.Integer)), ARRAY(sa.Integer))


def _by_day(days, offsets):
    """SQL: the stored row's value of ``offsets`` (one per day from the first stored one)."""
    first = days[0].date
    values = sa.cast(sa.literal(offsets, ARRAY(sa.BigInteger)), ARRAY(sa.BigInteger))
    return sa.Grouping(values)[sa.type_coerce(stored_days.c.date - first, sa.Integer) + 1]


def _stored_part(rng, days, masks, lo):
    """Per stored row: the user's number, the events, and the row's bounds for the test of
    who may pass step 1 (its midnight if it starts the funnel, its end if it has step 2)."""
    every = days_between(days[0].date, days[-1].date, rng.zone)
    kinds = stored_days.c.kinds
    starts = _by_day(days, [(day.start - lo) // MICROSECOND for day in every])
    ends = _by_day(days, [(day.end - lo) // MICROSECOND for day in every])
    firsts = [kind for kind, mask in masks.items() if mask & 1]
    seconds = [kind for kind, mask in masks.items() if mask & 2]
    return sa.select(
        stored_days.c.number.label("number"),
        sa.cast(sa.null(), sa.String).label("user_id"),
        stored_days.c.events.label("blob"),
        sa.cast(sa.null(), sa.BigInteger).label("packed"),
        sa.case(
            (sa.and_(stored_days.c.date <= rng.end, kinds.overlap(_ids(firsts))), starts)
        ).label("start_at"),
        sa.case((kinds.overlap(_ids(seconds)), ends)).label("second_at"),
    ).where(
        stored_days.c.tz == rng.tz,
        stored_days.c.date.in_([day.date for day in days]),
        kinds.overlap(_ids(masks)),
    )


def _raw_part(rng, funnel, spans):
    """Per raw step event: the user's number (or id, if not numbered), the packed event and
    its instant for the same test."""
    lo, hi = rng.span()
    step = packed_events(rng, funnel, spans)
    packed, shift = step.c.packed, sa.literal(MAX_STEPS, sa.Integer)
    starts = sa.and_(packed.op("&")(1) != 0, packed < (hi - lo) // MICROSECOND << MAX_STEPS)
    return sa.select(
        numbers.c.number,
        sa.case((numbers.c.number.is_(None), step.c.user_id)).label("user_id"),
        sa.cast(sa.null(), sa.LargeBinary).label("blob"),
        packed,
        sa.case((starts, packed.op(">>")(shift))).label("start_at"),
        sa.case((packed.op("&")(2) != 0, packed.op(">>")(shift))).label("second_at"),
    ).select_from(step.outerjoin(numbers, numbers.c.user_id == step.c.user_id))


def packed_users(rng, funnel, days, spans):
    """Each user who starts in the range: their step events packed as ``funnel_sql`` packs
    them (unsorted), or None for a user who cannot get past step 1."""
    lo, _ = rng.span()
    masks = _masks(funnel, rng.filters.src)
    query = _query(rng, funnel, days, spans, masks)
    if query is None:
        return
    lo_us = (lo - EPOCH) // MICROSECOND
    for blob, raw, stuck in db.session.execute(query):
        if stuck is not None:
            yield from [None] * stuck
            continue
        events = list(raw or ())
        if blob:
            _unpack(blob, masks, lo_us, events)
        yield events


def _query(rng, funnel, days, spans, masks):
    """``SELECT blob, packed, NULL`` per starting user who may pass step 1, then ``NULL,
    NULL, n``: how many others start (shipping a row for each cost more); or None."""
    lo, _ = rng.span()
    parts = [_stored_part(rng, days, masks, lo)] if masks else []
    if spans:
        parts.append(_raw_part(rng, funnel, spans))
    if not parts:
        return None
    both = sa.union_all(*parts).subquery("both")
    first_start = sa.func.min(both.c.start_at)
    may_pass = sa.func.coalesce(sa.func.max(both.c.second_at) >= first_start, False)
    blobs = sa.func.string_agg(both.c.blob, sa.literal(b"", sa.LargeBinary))
    packed = sa.func.array_agg(both.c.packed).filter(both.c.packed.is_not(None))
    users = (
        sa.select(
            may_pass.label("may_pass"),
            sa.case((may_pass, blobs)).label("blob"),  # kept only for those who may pass
            sa.case((may_pass, packed)).label("packed"),
        )
        .group_by(both.c.number, both.c.user_id)
        .having(first_start.is_not(None))
        .cte("users")
        .prefix_with("MATERIALIZED")
    )
    return sa.union_all(
        sa.select(users.c.blob, users.c.packed, sa.null()).where(users.c.may_pass),
        sa.select(sa.null(), sa.null(), sa.func.count()).where(sa.not_(users.c.may_pass)),
    )


def _unpack(blob, masks, lo_us, packed):
    """Append a user's stored step events to ``packed``, as ``time * 2**MAX_STEPS + mask``
    with the time in microseconds after ``lo_us`` (each row starts with minus its midnight)."""
    values = array("q")
    values.frombytes(blob)
    if sys.byteorder == "little":
        values.byteswap()  # int8send is big-endian
    base, mask_of, append = 0, masks.get, packed.append
    for value in values:
        if value < 0:
            base = -value - lo_us
            continue
        mask = mask_of(value & KIND_MASK)
        if mask:
            append((base + (value >> KIND_BITS)) << MAX_STEPS | mask)
