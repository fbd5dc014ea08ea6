"""The funnel report's SQL: which events are which steps, handed over one user at a time.

Both databases read the events that are any step, from the range's first local midnight to
the end of its last day plus the window, each with a bitmask of the steps it is (bit n for
step n + 1; one event may be several steps, as ``page_view`` and ``page_view[page=/pricing]``).
SQLite hands them over one row per event, by user and time. PostgreSQL hands over one row per
user who starts in the range, and leaves out the events of most users who cannot get further
(``packed_step_events``).
"""

from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from .payload import payload_text
from .raw import events
from .steps import MAX_STEPS

MASK_SPACE = 1 << MAX_STEPS
MICROSECOND = timedelta(microseconds=1)


def _conditions(step):
    """SQL: the step's payload tests (each value as text), for an event of its type."""
    return [payload_text(key) == value for key, value in step.conditions]


def _clauses(rng, funnel, spans=None):
    """The events that are any step, from the range's start to its end plus the window (or
    in the ``(lo, hi)`` spans given)."""
    lo, hi = rng.span()
    spans = spans or [(lo, hi + funnel.window)]
    in_spans = sa.or_(*(sa.and_(events.c.ts >= a, events.c.ts < b) for a, b in spans))
    is_step = (sa.and_(events.c.type == step.type, *_conditions(step)) for step in funnel.steps)
    clauses = [in_spans, sa.or_(*is_step)]
    if rng.filters.src:
        clauses.append(events.c.src == rng.filters.src)
    return clauses


def _mask(funnel):
    """SQL: the bitmask of the steps an event is (bit n for step n + 1).

    One ``CASE`` on the type, each branch the bits of that type's steps, a payload test only
    where a step has one: each event's type is compared once, not once per step.
    """
    always, tested = {}, {}  # per type: the bits of steps without and with payload tests
    for n, step in enumerate(funnel.steps):
        always.setdefault(step.type, 0)
        if step.conditions:
            test = sa.and_(*_conditions(step))
            tested.setdefault(step.type, []).append(sa.case((test, 1 << n), else_=0))
        else:
            always[step.type] |= 1 << n
    bits = {type_: sum(tested.get(type_, []), sa.literal(bits)) for type_, bits in always.items()}
    return sa.case(bits, value=events.c.type, else_=0)


def step_events(rng, funnel):
    """``SELECT user_id, ts, mask``: the events that are any step, by user and time."""
    return (
        sa.select(events.c.user_id, events.c.ts, _mask(funnel).label("mask"))
        .where(*_clauses(rng, funnel))
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

    Each event is packed in a subquery fenced by ``OFFSET 0``, which parallel workers can run:
    unfenced, PostgreSQL carries each row's payload into the aggregate and evaluates the step
    tests there, several times per row. The aggregate reads the rest from the packed value.
    Times count from the range's start (``date_part`` of an interval of at most two years,
    exact to the microsecond in a float8), cheaper than ``EXTRACT(epoch …)``'s numeric.
    """
    lo, hi = rng.span()
    step = packed_events(rng, funnel)
    packed, range_end = step.c.packed, (hi - lo) // MICROSECOND * MASK_SPACE
    first_start = sa.func.min(packed).filter(packed.op("&")(1) != 0, packed < range_end)
    last_second = sa.func.max(packed).filter(packed.op("&")(2) != 0)
    shift = sa.literal(MAX_STEPS, sa.Integer)
    may_pass = last_second.op(">>")(shift) >= first_start.op(">>")(shift)
    return (
        sa.select(sa.case((may_pass, sa.func.array_agg(packed))))
        .group_by(step.c.user_id)
        .having(first_start.is_not(None))
    )


def packed_events(rng, funnel, spans=None):
    """PostgreSQL: ``(user_id, packed)`` of each step event (``packed_step_events`` says how
    it is packed and why it is fenced), in the range plus the window or in ``spans``."""
    lo, _ = rng.span()
    since = sa.func.date_part("epoch", events.c.ts - lo)
    packed = sa.cast(since * 1_000_000, sa.BigInteger) * MASK_SPACE + _mask(funnel)
    return (
        sa.select(events.c.user_id, packed.label("packed"))
        .where(*_clauses(rng, funnel, spans))
        .offset(0)
        .subquery("step")
    )


# The planner's settings for the funnel's query, each measured on the benchmark's data
# (bench/README.md): no JIT compilation (it costs more than it saves on these few comparisons
# per row); room for the hash aggregate's arrays, which it overestimates and would otherwise
# spill to disk; and a cheaper Gather, so that parallel workers read and pack the events
# while the leader aggregates (the default cost rules the workers out).
SETTINGS = {"jit": "off", "work_mem": "256MB", "parallel_tuple_cost": "0.01"}


@contextmanager
def planner_settings():
    """Run the block's PostgreSQL queries under ``SETTINGS``, then put the previous back.

    ``set_config(…, true)`` is ``SET LOCAL``, put back after the block since the request's
    transaction may go on with other work; after an error the rollback puts it back.
    """
    connection = db.session.connection()
    names = list(SETTINGS)
    show = ", ".join(f"current_setting('{name}')" for name in names)
    previous = dict(zip(names, connection.exec_driver_sql(f"SELECT {show}").one(), strict=True))
    _set(connection, SETTINGS)
    yield
    _set(connection, previous)


def _set(connection, settings):
    calls = ", ".join(f"set_config('{name}', %({name})s, true)" for name in settings)
    connection.exec_driver_sql(f"SELECT {calls}", settings)
