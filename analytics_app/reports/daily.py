"""Per local day over raw events: which users were active, each session's part, each page's
views. The rollup stores these rows (``rollup.activity``); reports read today's the same way.

Days come in as a ``days(date, lo, hi)`` CTE of UTC spans, like ``raw``'s numbered spans.
"""

import sqlalchemy as sa

from ..models.types import Timestamp
from .raw import events

SESSION_ID = events.c.payload["session_id"].as_string()
PAGE = events.c.payload["page"].as_string()


def _dated(days):
    """A CTE of the days' dates and UTC spans, ``WITH days(date, lo, hi) AS (VALUES …)``."""
    values = sa.values(
        sa.column("date", sa.Date),
        sa.column("lo", Timestamp),
        sa.column("hi", Timestamp),
        name="days",
    )
    return values.data([(d.date, d.start, d.end) for d in days]).cte("days")


def _joined(days):
    """The days joined to their events.

    The join alone gives PostgreSQL no constant bounds, so it reads every partition of
    ``events`` (2 s at 2 M events for two days); the bounds of all the days, as constants,
    let it prune the others away.
    """
    dated = _dated(days)
    span = sa.and_(
        events.c.ts >= dated.c.lo,
        events.c.ts < dated.c.hi,
        events.c.ts >= min(d.start for d in days),
        events.c.ts < max(d.end for d in days),
    )
    return dated, dated.join(events, span)


def active_users(days):
    """``SELECT DISTINCT date, user_id``: the users with events on each day."""
    dated, joined = _joined(days)
    return sa.select(dated.c.date, events.c.user_id).select_from(joined).distinct()


def session_parts(days):
    """``SELECT date, session_id, first_ts, last_ts``: each session's events on each day."""
    dated, joined = _joined(days)
    return (
        sa.select(
            dated.c.date,
            SESSION_ID.label("session_id"),
            sa.func.min(events.c.ts).label("first_ts"),
            sa.func.max(events.c.ts).label("last_ts"),
        )
        .select_from(joined)
        .where(SESSION_ID.is_not(None))
        .group_by(dated.c.date, SESSION_ID)
    )


def page_views(days):
    """``SELECT date, page, views``: ``page_view`` events per page and day."""
    dated, joined = _joined(days)
    return (
        sa.select(dated.c.date, PAGE.label("page"), sa.func.count().label("views"))
        .select_from(joined)
        .where(events.c.type == "page_view", PAGE.is_not(None))
        .group_by(dated.c.date, PAGE)
    )


def users_between(lo, hi):
    """``SELECT DISTINCT user_id`` of the events in ``[lo, hi)``."""
    return sa.select(events.c.user_id).where(events.c.ts >= lo, events.c.ts < hi).distinct()
