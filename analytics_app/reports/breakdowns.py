"""The breakdown report: events and users per value of a dimension (type, src or a payload key).

Rows are the top ``limit`` values by events (then by value, in code-point order on both
databases), then one ``"other"`` row for the remaining values and one ``null`` row for events
without the value, each only when it holds events. A row's ``users`` are distinct users, so
the other row counts its users across all its values, not as a sum.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from . import stored_breakdowns
from .cache import cached
from .payload import payload_text
from .raw import conditions, events
from .steps import PAYLOAD_KEY
from .stored import read_marks, rolled_zones

DEFAULT_LIMIT, MAX_LIMIT = 20, 1000
OTHER = "other"
PAYLOAD_PREFIX = "payload."


class DimensionError(ValueError):
    """A ``by`` the breakdown cannot use."""


@dataclass(frozen=True)
class Dimension:
    """What events are broken down by: ``type``, ``src`` or a top-level payload ``key``."""

    text: str
    key: str | None = None

    @classmethod
    def parse(cls, text):
        if text in ("type", "src"):
            return cls(text)
        key = text.removeprefix(PAYLOAD_PREFIX)
        if text.startswith(PAYLOAD_PREFIX) and PAYLOAD_KEY.fullmatch(key):
            return cls(text, key)
        raise DimensionError(f"{text!r}: break down by type, src or payload.<key>")

    def value(self):
        """SQL for an event's value of this dimension, as text."""
        if self.key is not None:
            return payload_text(self.key)
        return events.c.type if self.text == "type" else events.c.src


def _ordered(value):
    """``value`` ordered by code point: PostgreSQL's collation would sort by language rules."""
    return sa.collate(value, "C") if db.engine.dialect.name == "postgresql" else value


def _rows(rng, dimension, limit):
    """``(kind, value, events, users)`` rows: kind ``top`` (in order), ``other``, ``null``;
    from the stored bitmaps where they cover part of the range (PostgreSQL), else from raw
    events."""
    chosen = None
    if db.engine.dialect.name == "postgresql" and rng.tz in rolled_zones(current_app.config):
        chosen = stored_breakdowns.selection(dimension, rng.filters)
    if chosen is not None:
        planned = stored_breakdowns.plan(rng, chosen, read_marks())
        if planned is not None:
            units, spans = planned
            return stored_breakdowns.rows(rng, dimension, chosen, units, spans, limit, _ordered)
    return _raw_rows(rng, dimension, limit)


def _raw_rows(rng, dimension, limit):
    """The rows from raw events alone."""
    lo, hi = rng.span()
    pairs = (
        sa.select(
            dimension.value().label("value"),
            events.c.user_id,
            sa.func.count().label("n"),
        )
        .where(events.c.ts >= lo, events.c.ts < hi, *conditions(rng.filters))
        .group_by(sa.literal_column("1"), events.c.user_id)
        .cte("pairs")
    )
    per_value = (
        sa.select(
            pairs.c.value,
            sa.func.sum(pairs.c.n).label("events"),
            sa.func.count().label("users"),
        )
        .where(pairs.c.value.is_not(None))
        .group_by(pairs.c.value)
        .subquery()
    )
    top = (
        sa.select(per_value)
        .order_by(per_value.c.events.desc(), _ordered(per_value.c.value))
        .limit(limit)
        .cte("top")
    )
    top_rows = sa.select(sa.literal("top").label("kind"), top.c.value, top.c.events, top.c.users)
    other = sa.select(
        sa.literal(OTHER),
        sa.null(),
        sa.func.sum(pairs.c.n),
        sa.func.count(sa.distinct(pairs.c.user_id)),
    ).where(pairs.c.value.is_not(None), pairs.c.value.not_in(sa.select(top.c.value)))
    missing = sa.select(
        sa.literal("null"), sa.null(), sa.func.sum(pairs.c.n), sa.func.count()
    ).where(pairs.c.value.is_(None))
    return db.session.execute(sa.union_all(top_rows, other, missing)).all()


def breakdown(rng, dimension, limit=DEFAULT_LIMIT):
    """Events and distinct users per value of ``dimension`` over the range."""

    def compute():
        top, tail = [], {}
        for kind, value, count, users in _rows(rng, dimension, limit):
            row = {"value": value, "events": int(count or 0), "users": users}
            if kind == "top":
                top.append(row)
            elif row["events"]:
                tail[kind] = {**row, "value": OTHER if kind == OTHER else None}
        top.sort(key=lambda row: (-row["events"], row["value"]))
        rows = top + [tail[kind] for kind in (OTHER, "null") if kind in tail]
        return {
            "timezone": rng.tz,
            "start": rng.start.isoformat(),
            "end": rng.end.isoformat(),
            "by": dimension.text,
            "rows": rows,
        }

    return cached("breakdown", [*rng.key(), dimension.text, limit], rng.span(), compute)


SAMPLE_EVENTS = 5000


def payload_keys(rng):
    """The top-level payload keys of the range's latest ``SAMPLE_EVENTS`` events, sorted: the
    keys worth offering to break down by (any other can still be asked for). Cached like a
    report: reading and decoding the sample's payloads is the split-by panel's largest cost."""
    lo, hi = rng.span()
    latest = (
        sa.select(events.c.payload)
        .where(events.c.ts >= lo, events.c.ts < hi, *conditions(rng.filters))
        .order_by(events.c.ts.desc())
        .limit(SAMPLE_EVENTS)
    )

    def compute():
        keys = set()
        for (payload,) in db.session.execute(latest).all():
            keys.update(key for key in payload or {} if PAYLOAD_KEY.fullmatch(key))
        return sorted(keys)

    return cached("payload_keys", [*rng.key(), SAMPLE_EVENTS], (lo, hi), compute)
