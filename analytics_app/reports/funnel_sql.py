"""The funnel report's SQL: which events are which steps, handed over one user at a time.

Both databases read the events that are any step, from the range's first local midnight to
the end of its last day plus the window, each with a bitmask of the steps it is (bit n for
step n + 1; one event may be several steps, as ``page_view`` and ``page_view[page=/pricing]``).
SQLite hands them over one row per event, by user and time. PostgreSQL hands over one row per
user who starts in the range, and leaves out the events of most users who cannot get further
(``packed_step_events``).
"""

from contextlib import contextmanager

import sqlalchemy as sa

from ..extensions import db
from .payload import payload_text
from .raw import events
from .steps import MAX_STEPS

MASK_SPACE = 1 << MAX_STEPS


def _is_step(step):
    """SQL: whether an event is ``step`` (its type, and each payload value as text)."""
    return sa.and_(
        events.c.type == step.type,
        *(payload_text(key) == value for key, value in step.conditions),
    )


def _clauses(rng, funnel, matches):
    lo, hi = rng.span()
    clauses = [events.c.ts >= lo, events.c.ts < hi + funnel.window, sa.or_(*matches)]
    if rng.filters.src:
        clauses.append(events.c.src == rng.filters.src)
    return clauses


def _mask(matches):
    """SQL: the bitmask of the steps an event is (bit n for step n + 1)."""
    return sum(sa.case((match, 1 << n), else_=0) for n, match in enumerate(matches))


def step_events(rng, funnel):
    """``SELECT user_id, ts, mask``: the events that are any step, by user and time."""
    matches = [_is_step(step) for step in funnel.steps]
    return (
        sa.select(events.c.user_id, events.c.ts, _mask(matches).label("mask"))
        .where(*_clauses(rng, funnel, matches))
        .order_by(events.c.user_id, events.c.ts)
    )


def packed_step_events(rng, funnel):
    """PostgreSQL: one row per user who starts in the range: their step events packed into one
    ``bigint[]``, each ``microseconds after the range's start * 1024 + mask`` (ten steps fit in
    ten bits), in no particular order; or NULL for a user who cannot get past step 1.

    A user cannot get past step 1 when none of their step-2 events comes at or after their
    first step-1 event in the range (every chain's second event does). That test needs no
    order, so the hash aggregate that packs the arrays makes it too; such users, most of those
    who start, are counted from a NULL instead of having their events shipped, decoded and
    walked. The others are walked in Python (``chains.walk_packed``), after a sort that costs
    little (the rows come in about time order) and costs PostgreSQL a sort per user if asked.

    The masks are computed in a subquery fenced by ``OFFSET 0``: unfenced, PostgreSQL carries
    each row's payload into the aggregate and evaluates the step tests there, several times per
    row and more slowly. Times count from the range's start (``date_part`` of an interval of at
    most two years, exact to the microsecond in a float8), cheaper than ``EXTRACT(epoch …)``'s
    numeric arithmetic.
    """
    lo, hi = rng.span()
    matches = [_is_step(step) for step in funnel.steps]
    step = (
        sa.select(events.c.user_id, events.c.ts, _mask(matches).label("mask"))
        .where(*_clauses(rng, funnel, matches))
        .offset(0)
        .subquery("step")
    )
    since = sa.func.date_part("epoch", step.c.ts - lo)
    packed = sa.cast(since * 1_000_000, sa.BigInteger) * MASK_SPACE + step.c.mask
    first_start = sa.func.min(step.c.ts).filter(step.c.mask.op("&")(1) != 0, step.c.ts < hi)
    last_second = sa.func.max(step.c.ts).filter(step.c.mask.op("&")(2) != 0)
    return (
        sa.select(sa.case((last_second >= first_start, sa.func.array_agg(packed))))
        .group_by(step.c.user_id)
        .having(first_start.is_not(None))
    )


@contextmanager
def without_jit():
    """Run the block's PostgreSQL queries without JIT compilation, then put it back.

    The planner compiles the funnel's query (its cost passes ``jit_above_cost``), which takes
    longer than it saves: each step test is a few comparisons per row. ``set_config(…, true)``
    is ``SET LOCAL``, put back after the block since the request's transaction may go on with
    other work; after an error the rollback puts it back.
    """
    connection = db.session.connection()
    previous = connection.exec_driver_sql("SHOW jit").scalar()
    set_jit = "SELECT set_config('jit', %(value)s, true)"
    connection.exec_driver_sql(set_jit, {"value": "off"})
    yield
    connection.exec_driver_sql(set_jit, {"value": previous})
