"""Breakdowns from the stored bitmaps (``models.breakdowns``), PostgreSQL only.

A range's finished days that the rollup has stored, with no pending mark (``rollup.protocol``),
are read as the fewest stored blocks and days; every other day of the range (today, a day
not rolled or marked since, a payload key's day with too many values) is read from raw
events. The two parts are unioned exactly: a value's events add up, and its users are the
bits set in the OR of its stored bitmaps plus the raw part's users whose bit is not set
there (users numbered since, or not at all, are new by definition). The ``other`` row ORs
the bitmaps of every value outside the top, so its users are distinct across its values too.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import BreakdownBits, BreakdownCover, UserNumber
from ..models.breakdowns import CHUNK_BITS, LIVE
from . import live, stored
from .raw import conditions, events

bits = BreakdownBits.__table__
numbers = UserNumber.__table__


@dataclass(frozen=True)
class Selection:
    """Which stored rows hold a breakdown, and the column that holds their value."""

    dimension: str
    key: sa.ColumnElement
    where: tuple


def selection(dimension, filters):
    """The stored rows answering a breakdown with these filters, or None (raw events)."""
    if filters.user_id:
        return None
    if dimension.key is not None:
        if filters.type or filters.src:
            return None
        return Selection(dimension.text, bits.c.value, (bits.c.type.is_(None),))
    if dimension.text == "type" and filters.src:
        where = [bits.c.type.is_not(None), bits.c.value == filters.src]
        if filters.type:
            where.append(bits.c.type == filters.type)
        return Selection("src", bits.c.type, tuple(where))
    if dimension.text == "src" and filters.type:
        where = [bits.c.type == filters.type]
        if filters.src:
            where.append(bits.c.value == filters.src)
        return Selection("src", bits.c.value, tuple(where))
    where = [bits.c.type.is_(None)]
    narrowed = filters.type if dimension.text == "type" else filters.src
    if narrowed:
        where.append(bits.c.value == narrowed)
    return Selection(dimension.text, bits.c.value, tuple(where))


def plan(rng, chosen, marks):
    """``(units, spans)``: the stored ``(date, days)`` rows to read (blocks, days, and today's
    rows counted so far, ``days`` 0), and the ``(lo, hi)`` spans to read from raw events; None
    when nothing stored serves the range."""
    days, today = rng.local_days, rng.today()
    covers = db.session.execute(
        sa.select(BreakdownCover.date, BreakdownCover.days).where(
            BreakdownCover.tz == rng.tz,
            BreakdownCover.dimension == chosen.dimension,
            BreakdownCover.date >= days[0].date,
            BreakdownCover.date <= min(days[-1].date, today),
            BreakdownCover.overflowed.is_(False),
        )
    ).all()
    sizes = {}
    for value, size in covers:
        sizes.setdefault(value, set()).add(size)
    stale = stored.stale_days(marks, rng.zone, trailing=1)
    units, spans, position = [], [], 0
    while position < len(days):
        day = days[position]
        usable = day.date < today and 1 in sizes.get(day.date, ()) and day.date not in stale
        if not usable:
            until = None
            if day.date == today and LIVE in sizes.get(day.date, ()):
                until = live.counted_until(rng.tz, day, marks)
            if until is not None:
                units.append((day.date, LIVE))
            spans.append((until or day.start, day.end))
            position += 1
            continue
        run = 1
        while position + run < len(days) and days[position + run].date in sizes:
            following = days[position + run].date
            if following >= today or 1 not in sizes[following] or following in stale:
                break
            run += 1
        size = max(s for s in sizes[day.date] if 1 <= s <= run)
        units.append((day.date, size))
        position += size
    return (units, _joined(spans)) if units else None


def _joined(spans):
    """The spans with consecutive ones joined."""
    joined = []
    for lo, hi in spans:
        if joined and joined[-1][1] == lo:
            joined[-1] = (joined[-1][0], hi)
        else:
            joined.append((lo, hi))
    return joined


def _same_value(left, right):
    """``left`` and ``right`` hold the same value, None included, in a form PostgreSQL can
    hash (``IS NOT DISTINCT FROM`` alone it cannot)."""
    return sa.and_(
        sa.func.coalesce(left, "") == sa.func.coalesce(right, ""),
        left.is_not_distinct_from(right),
    )


def _chunk_of(number):
    """The chunk of a user number (``//``: SQLAlchemy's ``/`` would divide as numeric)."""
    return sa.cast(number // CHUNK_BITS, sa.Integer)


def _unseen(bitmap, number):
    """A raw user's bit is not set in ``bitmap`` (the OR of the value's stored rows for the
    user's chunk, NULL when there are none), or the user has no number."""
    bit = sa.cast(number % CHUNK_BITS, sa.Integer)
    return sa.or_(bitmap.is_(None), sa.func.get_bit(bitmap, bit) == 0)


def rows(rng, dimension, chosen, units, spans, limit, ordered):
    """``(kind, value, events, users)`` rows as ``breakdowns._rows`` gives them."""
    chunks = (
        sa.select(
            chosen.key.label("value"),
            bits.c.chunk,
            sa.func.sum(bits.c.events).label("events"),
            sa.func.bit_or(bits.c.users).label("users"),
        )
        .select_from(bits)
        .where(
            bits.c.tz == rng.tz,
            bits.c.dimension == chosen.dimension,
            # An expanding IN, not a VALUES list: SQLAlchemy caches the compiled statement.
            sa.tuple_(bits.c.date, bits.c.days).in_(units),
            *chosen.where,
        )
        .group_by(chosen.key, bits.c.chunk)
        .cte("chunks")
    )
    bit_count = sa.func.bit_count(chunks.c.users)
    parts = [sa.select(chunks.c.value, chunks.c.events, bit_count.label("users"))]
    recent = None
    if spans:
        recent = _recent(rng, dimension, spans)
        chunk = _chunk_of(recent.c.number)
        seen = chunks.alias("seen")
        joined = recent.outerjoin(
            seen, sa.and_(_same_value(seen.c.value, recent.c.value), seen.c.chunk == chunk)
        )
        parts.append(
            sa.select(
                recent.c.value,
                recent.c.n.label("events"),
                sa.cast(_unseen(seen.c.users, recent.c.number), sa.Integer).label("users"),
            ).select_from(joined)
        )
    union = sa.union_all(*parts).subquery("counted")
    per_value = (
        sa.select(
            union.c.value,
            sa.func.sum(union.c.events).label("events"),
            sa.func.sum(union.c.users).label("users"),
        )
        .group_by(union.c.value)
        .cte("per_value")
    )
    top = (
        sa.select(per_value)
        .where(per_value.c.value.is_not(None))
        .order_by(per_value.c.events.desc(), ordered(per_value.c.value))
        .limit(limit)
        .cte("top")
    )
    in_rest = sa.and_(chunks.c.value.is_not(None), chunks.c.value.not_in(sa.select(top.c.value)))
    rest = (
        sa.select(chunks.c.chunk, sa.func.bit_or(chunks.c.users).label("users"))
        .where(in_rest)
        .group_by(chunks.c.chunk)
        .cte("rest")
    )
    rest_users = sa.select(sa.func.coalesce(sa.func.sum(sa.func.bit_count(rest.c.users)), 0))
    rest_users = rest_users.scalar_subquery()
    if recent is not None:
        chunk = _chunk_of(recent.c.number)
        newcomers = (
            sa.select(sa.func.count(sa.distinct(recent.c.user_id)))
            .select_from(recent.outerjoin(rest, rest.c.chunk == chunk))
            .where(
                recent.c.value.is_not(None),
                recent.c.value.not_in(sa.select(top.c.value)),
                _unseen(rest.c.users, recent.c.number),
            )
            .scalar_subquery()
        )
        rest_users = rest_users + newcomers
    other_values = sa.and_(
        per_value.c.value.is_not(None), per_value.c.value.not_in(sa.select(top.c.value))
    )
    query = sa.union_all(
        sa.select(sa.literal("top").label("kind"), top.c.value, top.c.events, top.c.users),
        sa.select(
            sa.literal("other"), sa.null(), sa.func.sum(per_value.c.events), rest_users
        ).where(other_values),
        sa.select(
            sa.literal("null"),
            sa.null(),
            sa.func.sum(per_value.c.events),
            sa.func.sum(per_value.c.users),
        ).where(per_value.c.value.is_(None)),
    )
    return db.session.execute(query).all()


def _recent(rng, dimension, spans):
    """The raw part: ``(value, user_id, n, number)`` per value and user of the spans' events
    (matching the range's filters), with the user's number if any."""
    in_spans = sa.or_(*(sa.and_(events.c.ts >= lo, events.c.ts < hi) for lo, hi in spans))
    pairs = (
        sa.select(dimension.value().label("value"), events.c.user_id, sa.func.count().label("n"))
        .where(in_spans, *conditions(rng.filters))
        .group_by(sa.literal_column("1"), events.c.user_id)
        .subquery("pairs")
    )
    return (
        sa.select(pairs, numbers.c.number)
        .select_from(pairs.outerjoin(numbers, numbers.c.user_id == pairs.c.user_id))
        .cte("recent")
    )
