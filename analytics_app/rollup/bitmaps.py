"""The SQL that turns a stretch of events into breakdown rows (``models.breakdowns``): per
value of each dimension and chunk of user numbers, the events and a bitmap of the users.

PostgreSQL has no aggregate that sets bits, so the bitmap is spelled out: the users' bits are
OR-ed into 64-bit words, each word written as 16 hex digits (runs of empty words as zeros),
and the digits cast to ``bit(CHUNK_BITS)``. One pass over the stretch's events serves every
dimension (``GROUPING SETS``).
"""

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models.breakdowns import CHUNK_BITS
from ..models.types import Timestamp

WORD_BITS = 64
HEX_DIGITS = CHUNK_BITS // 4

NUMBER_USERS = sa.text("""
    INSERT INTO user_numbers (user_id)
    SELECT DISTINCT e.user_id FROM events e
    WHERE e.ts >= :lo AND e.ts < :hi
      AND NOT EXISTS (SELECT 1 FROM user_numbers n WHERE n.user_id = e.user_id)
      AND NOT EXISTS (SELECT 1 FROM erased_users x WHERE x.user_id = e.user_id)
    ON CONFLICT (user_id) DO NOTHING
""").bindparams(sa.bindparam("lo", type_=Timestamp), sa.bindparam("hi", type_=Timestamp))
"""Give every user of ``[lo, hi)`` without a number the next one (never burning numbers on
users already numbered, as ``ON CONFLICT`` alone would). Erased users get none: a rollup
reading their last events while the erasure deletes them would otherwise store the id again
after erasure dropped it (the erasure's marks recompute those days anyway)."""


def number_users_and_keep(span, keys):
    """Number the users of ``span`` (``{"lo", "hi"}``) not numbered yet; return those of the
    payload ``keys`` with at most ``ROLLUP_PAYLOAD_VALUES`` distinct values there (a key with
    more is not stored for the stretch: reports read it raw)."""
    db.session.execute(NUMBER_USERS, span)
    if not keys:
        return []
    counts = db.session.execute(distinct_values(keys), span | key_params(keys)).one()
    cap = current_app.config["ROLLUP_PAYLOAD_VALUES"]
    return [key for key, count in zip(keys, counts, strict=True) if count <= cap]


def distinct_values(keys):
    """SQL counting the distinct values of each payload key in ``[lo, hi)`` (``:k0``…)."""
    counts = ", ".join(
        f"count(DISTINCT e.payload ->> CAST(:k{n} AS text))" for n in range(len(keys))
    )
    return sa.text(f"SELECT {counts} FROM events e WHERE e.ts >= :lo AND e.ts < :hi").bindparams(
        sa.bindparam("lo", type_=Timestamp), sa.bindparam("hi", type_=Timestamp)
    )


def rows_sql(keys):
    """``INSERT … SELECT`` of the rows of ``[lo, hi)`` for ``:date``, ``:days`` and ``:tz``:
    ``type``, ``src`` (also per type) and each payload key (``:k0``…, named ``:d0``…)."""
    columns = ["type", "src", *(f"k{n}" for n in range(len(keys)))]
    sets = [("type",), ("src",), ("type", "src"), *((f"k{n}",) for n in range(len(keys)))]

    def grouping(grouped):
        # GROUPING(a, b, …) sets a column's bit (the first the highest) when it is not grouped.
        return sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in grouped)

    by_type, by_src, by_both = (grouping(s) for s in sets[:3])
    dimension = [f"WHEN {by_type} THEN 'type'", f"WHEN {by_src} THEN 'src'"]
    dimension.append(f"WHEN {by_both} THEN 'src'")
    value = [f"WHEN {by_type} THEN type", f"WHEN {by_src} THEN src", f"WHEN {by_both} THEN src"]
    for n in range(len(keys)):
        dimension.append(f"WHEN {grouping((f'k{n}',))} THEN CAST(:d{n} AS text)")
        value.append(f"WHEN {grouping((f'k{n}',))} THEN k{n}")
    keyed = ", ".join(f"e.payload ->> CAST(:k{n} AS text) AS k{n}" for n in range(len(keys)))
    listed = ", ".join(columns)
    grouping_sets = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    sql = f"""
    WITH pairs AS (
        SELECT e.type, e.src, {keyed + "," if keys else ""} n.number, count(*) AS events
        FROM events e JOIN user_numbers n ON n.user_id = e.user_id
        WHERE e.ts >= :lo AND e.ts < :hi
        GROUP BY {listed}, n.number
    ), words AS (
        SELECT GROUPING({listed}) AS grouped, {listed},
               number / {CHUNK_BITS} AS chunk, number % {CHUNK_BITS} / {WORD_BITS} AS word,
               sum(events) AS events,
               bit_or(1::bigint << ({WORD_BITS - 1} - number % {WORD_BITS})::int) AS bits
        FROM pairs
        GROUP BY number / {CHUNK_BITS}, number % {CHUNK_BITS} / {WORD_BITS},
                 GROUPING SETS ({grouping_sets})
    ), spelled AS (
        SELECT grouped, {listed}, chunk, events,
               repeat('0', 16 * (word - coalesce(lag(word) OVER (
                   PARTITION BY grouped, {listed}, chunk ORDER BY word), -1) - 1)::int)
               || lpad(to_hex(bits), 16, '0') AS digits,
               word
        FROM words
    )
    INSERT INTO breakdown_bits (date, days, tz, dimension, type, value, chunk, events, users)
    SELECT :date, :days, :tz,
           CASE grouped {" ".join(dimension)} END,
           CASE grouped WHEN {by_both} THEN type END,
           CASE grouped {" ".join(value)} END,
           chunk, sum(events),
           ('x' || rpad(string_agg(digits, '' ORDER BY word), {HEX_DIGITS}, '0'))::bit({CHUNK_BITS})
    FROM spelled
    GROUP BY grouped, {listed}, chunk
    """
    return sa.text(sql).bindparams(
        sa.bindparam("lo", type_=Timestamp),
        sa.bindparam("hi", type_=Timestamp),
        sa.bindparam("date", type_=sa.Date),
    )


def key_params(keys):
    """The bind parameters of ``rows_sql(keys)`` naming the keys and their dimensions."""
    params = {f"k{n}": key for n, key in enumerate(keys)}
    return params | {f"d{n}": f"payload.{key}" for n, key in enumerate(keys)}


BLOCKS = sa.text("""
    INSERT INTO breakdown_bits (date, days, tz, dimension, type, value, chunk, events, users)
    SELECT b.start, :days, :tz, r.dimension, r.type, r.value, r.chunk, sum(r.events),
           bit_or(r.users)
    FROM unnest(CAST(:starts AS date[]), CAST(:dimensions AS text[])) AS b(start, dimension)
    JOIN breakdown_bits r
      ON r.tz = :tz AND r.dimension = b.dimension AND r.days = :half
     AND r.date IN (b.start, b.start + CAST(:half AS integer))
    GROUP BY b.start, r.dimension, r.type, r.value, r.chunk
""")
"""Each block of ``:days`` days at ``:starts`` (with its dimension) as the OR of its halves."""


MERGE_LIVE = sa.text("""
    WITH gone AS (
        DELETE FROM breakdown_bits
        WHERE tz = :tz AND date = :date AND days IN (:live, :stretch)
        RETURNING dimension, type, value, chunk, events, users
    )
    INSERT INTO breakdown_bits (date, days, tz, dimension, type, value, chunk, events, users)
    SELECT :date, :live, :tz, dimension, type, value, chunk, sum(events), bit_or(users)
    FROM gone
    GROUP BY dimension, type, value, chunk
""").bindparams(sa.bindparam("date", type_=sa.Date))
"""Fold the newest stretch's rows (``days`` = ``:stretch``) into today's (``:live``)."""
