"""The funnel report: how many users reach each step, and how long each step takes them.

One query reads each user's step events (``funnel_sql``: on PostgreSQL one packed array per
user, or nothing for a user who cannot get past step 1); ``chains`` then follows each user
through the funnel, one user at a time, so Python holds one user's events as objects.
"""

import json
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from statistics import median

import sqlalchemy as sa

from ..extensions import db
from . import chains, stored_funnels
from .cache import cached
from .funnel_sql import packed_step_events, planner_settings, step_events
from .raw import events
from .source import on_replica
from .steps import PAYLOAD_KEY
from .stored import read_marks

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
FETCH_ROWS = 10_000


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


def _walks(rng, funnel, window):
    """Each user's ``(furthest step, first chain's times)``, one user at a time; times in
    microseconds (on PostgreSQL from the range's start)."""
    steps = len(funnel.steps)
    lo, hi = rng.span()
    if db.engine.dialect.name == "postgresql":
        range_end = (hi - lo) // MICROSECOND
        with planner_settings():
            for packed in _packed_users(rng, funnel):
                if packed is None:  # cannot get past step 1
                    yield 1, None
                    continue
                packed.sort()
                yield chains.walk_packed(packed, steps, window, range_end)
        return
    rows = db.session.execute(step_events(rng, funnel).execution_options(yield_per=FETCH_ROWS))
    for _, user_rows in groupby(rows, itemgetter(0)):
        yield chains.walk(_moments(user_rows), steps, window, _microseconds(hi))


def _packed_users(rng, funnel):
    """PostgreSQL: each starting user's packed step events, or None (``funnel_sql``), from
    the stored rows where they serve (``stored_funnels``) and raw events elsewhere.

    Fetched whole, not through a server-side cursor (yield_per), which would rule out
    parallel workers; the answer is small, since only users who may get past step 1 carry
    their events, and its rows become Python lists one at a time.
    """
    planned = stored_funnels.plan(rng, funnel, read_marks())
    if planned is not None:
        yield from stored_funnels.packed_users(rng, funnel, *planned)
        return
    for (packed,) in db.session.execute(packed_step_events(rng, funnel)):
        yield packed


def _walk(rng, funnel):
    """Count users by the furthest step they reach; collect the seconds between steps."""
    steps = len(funnel.steps)
    reached = [0] * (steps + 1)  # reached[k]: users whose furthest step is k
    gaps = [[] for _ in range(steps)]  # gaps[k]: seconds from step k to step k + 1 (1-based)
    for best, times in _walks(rng, funnel, funnel.window // MICROSECOND):
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
