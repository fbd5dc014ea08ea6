"""The funnel report: how many users reach each step, and how long each step takes them.

One query reads the events that are any step (from the range's first local midnight to the
end of its last day plus the window), each with a bitmask of the steps it is, by user and
time (on PostgreSQL packed into one array per user); ``chains`` then follows each user through
the funnel, one user at a time, so memory holds one user's events.
"""

import json
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from statistics import median

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ..extensions import db
from . import chains
from .cache import cached
from .payload import payload_text
from .raw import events
from .source import on_replica
from .steps import MAX_STEPS, PAYLOAD_KEY

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
FETCH_ROWS = 10_000
FETCH_USERS = 1000
MASK_SPACE = 1 << MAX_STEPS
PREFIX = 128


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
    """PostgreSQL: one row per user who starts in the range, their step events packed into one
    sorted ``bigint[]``, each ``microseconds * 1024 + mask`` (ten steps fit in ten bits).

    One array per user instead of one row per event: PostgreSQL groups, psycopg decodes the
    arrays in C, and users who never start are left out before Python sees them.
    """
    matches = [_is_step(step) for step in funnel.steps]
    micro = sa.cast(sa.extract("epoch", events.c.ts) * 1_000_000, sa.BigInteger)
    packed = micro * MASK_SPACE + _mask(matches)
    starts = sa.func.bool_or(sa.and_(matches[0], events.c.ts < rng.span()[1]))
    return (
        sa.select(sa.func.array_agg(aggregate_order_by(packed, packed)))
        .where(*_clauses(rng, funnel, matches))
        .group_by(events.c.user_id)
        .having(starts)
    )


def _unpack(packed):
    """A packed array as moments: events at equal times together."""
    moments, previous = [], None
    for value in packed:
        t, mask = value >> MAX_STEPS, value & (MASK_SPACE - 1)
        if t == previous:
            moments[-1] = (t, (*moments[-1][1], mask))
        else:
            moments.append((t, (mask,)))
            previous = t
    return moments


def _walk_packed(packed, steps, window, range_end):
    """A user's walk from their packed array, trying the first ``PREFIX`` events alone first.

    Busy users have thousands of step events and usually finish the funnel early on. A walk
    over a prefix (cut between two instants) that reaches the last step is the walk over all
    of them: every start before the winning one stopped at an event inside the prefix (past
    its window), and the winning chain took the earliest events there are.
    """
    if len(packed) > PREFIX:
        cut = PREFIX
        while cut < len(packed) and packed[cut] >> MAX_STEPS == packed[cut - 1] >> MAX_STEPS:
            cut += 1
        found = _walk_values(packed[:cut], steps, window, range_end)
        if found[0] == steps:
            return found
    return _walk_values(packed, steps, window, range_end)


def _walk_values(packed, steps, window, range_end):
    """``chains.walk_distinct`` when no two of the step events share an instant (the usual
    case: each step's instants are then a sorted list made by a comprehension), or else
    ``chains.walk`` over the events grouped by instant."""
    instants = [value >> MAX_STEPS for value in packed]
    if len(set(instants)) == len(instants):
        times = [
            [value >> MAX_STEPS for value in packed if value & 1 << step] for step in range(steps)
        ]
        return chains.walk_distinct(times, steps, window, range_end)
    return chains.walk(_unpack(packed), steps, window, range_end)


def _microseconds(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MICROSECOND


def _moments(rows):
    """One user's rows as ``(t, masks)`` moments: events at equal times together."""
    moments = []
    for t, group in groupby(((_microseconds(ts), mask) for _, ts, mask in rows), itemgetter(0)):
        moments.append((t, tuple(sorted(mask for _, mask in group))))
    return moments


def _walks(rng, funnel, window, range_end):
    """Each user's ``(furthest step, first chain's times)``, one user at a time."""
    steps = len(funnel.steps)
    if db.engine.dialect.name == "postgresql":
        query = packed_step_events(rng, funnel).execution_options(yield_per=FETCH_USERS)
        for (packed,) in db.session.execute(query):
            yield _walk_packed(packed, steps, window, range_end)
        return
    rows = db.session.execute(step_events(rng, funnel).execution_options(yield_per=FETCH_ROWS))
    for _, user_rows in groupby(rows, itemgetter(0)):
        yield chains.walk(_moments(user_rows), steps, window, range_end)


def _walk(rng, funnel):
    """Count users by the furthest step they reach; collect the seconds between steps."""
    steps = len(funnel.steps)
    window = funnel.window // MICROSECOND
    range_end = _microseconds(rng.span()[1])
    reached = [0] * (steps + 1)  # reached[k]: users whose furthest step is k
    gaps = [[] for _ in range(steps)]  # gaps[k]: seconds from step k to step k + 1 (1-based)
    for best, times in _walks(rng, funnel, window, range_end):
        reached[best] += 1
        for k in range(1, best):
            gaps[k].append((times[k] - times[k - 1]) / 1_000_000)
    return reached, gaps


def funnel_report(rng, funnel):
    """Users per step, conversion from the first and the previous step, median step times."""

    def compute():
        reached, gaps = _walk(rng, funnel)
        rows, first, previous = [], None, 0
        for n, step in enumerate(funnel.steps, 1):
            users = sum(reached[n:])
            first = users if first is None else first
            rows.append(
                {
                    "step": step.text,
                    "users": users,
                    "conversion": users / first if first else 0.0,
                    "step_conversion": users / previous if previous else float(bool(users)),
                    "median_seconds_from_previous": median(gaps[n - 1]) if gaps[n - 1] else None,
                }
            )
            previous = users
        return {
            "timezone": rng.tz,
            "start": rng.start.isoformat(),
            "end": rng.end.isoformat(),
            "window": funnel.window_text,
            "steps": rows,
        }

    lo, hi = rng.span()  # a chain's last event may fall up to the window after the range
    return cached("funnel", [*rng.key(), *funnel.key()], (lo, hi + funnel.window), compute)


SUGGESTION_EVENTS = 5000
SUGGESTED_VALUES = 8


def step_suggestions(rng):
    """Steps worth offering: for each event type among the range's latest events, the type
    and ``type[key=value]`` for its most frequent string, number and boolean payload values.

    A sample (the latest ``SUGGESTION_EVENTS`` events of the range) keeps this cheap on any
    volume; it only suggests, and any step can be typed.
    """
    lo, hi = rng.span()
    clauses = [events.c.ts >= lo, events.c.ts < hi]
    if rng.filters.src:
        clauses.append(events.c.src == rng.filters.src)
    latest = (
        sa.select(events.c.type, events.c.payload)
        .where(*clauses)
        .order_by(events.c.ts.desc())
        .limit(SUGGESTION_EVENTS)
    )
    counts = {}
    with on_replica():
        sample = db.session.execute(latest).all()
    for type_, payload in sample:
        values = counts.setdefault(type_, {})
        for key, value in (payload or {}).items():
            if isinstance(value, bool | int | float | str) and _usable(key, value):
                text = value if isinstance(value, str) else json.dumps(value)
                values[(key, text)] = values.get((key, text), 0) + 1
    suggestions = []
    for type_ in sorted(counts):
        suggestions.append(type_)
        ranked = sorted(counts[type_].items(), key=lambda item: (-item[1], item[0]))
        for (key, text), _ in ranked[:SUGGESTED_VALUES]:
            suggestions.append(f"{type_}[{key}={text}]")
    return suggestions


def _usable(key, value):
    """Whether a payload pair can be written as a step condition."""
    text = value if isinstance(value, str) else ""
    return (
        PAYLOAD_KEY.fullmatch(key)
        and text.isprintable()
        and not any(c in text for c in "[]")
        and len(text) <= 100
    )
