"""PostgreSQL: the time partitions of ``events``, made ahead of time and dropped whole.

``events`` is range-partitioned by ``ts`` (migration 0009) into partitions of
``EVENT_PARTITION_DAYS`` UTC days, named ``events_pYYYYMMDD`` after their first day and aligned
on multiples of that length since 1970-01-01, plus ``events_default`` for any instant without
one, so that no event is ever refused for want of a partition, and ``events_legacy`` (the table
as it was before the conversion) for everything before its first day. ``make_ahead`` makes
the partitions of today and the next ``EVENT_PARTITIONS_AHEAD_DAYS`` days, and of any day
whose events wait in the default partition, moving them there; ``drop_before`` detaches and
drops those entirely past retention, with the client ids of their events. SQLite has one plain
table: both do nothing there.

A new partition is filled and checked before it is attached, which takes only a
``SHARE UPDATE EXCLUSIVE`` lock on ``events`` (ingest and reports go on). Detaching takes an
``ACCESS EXCLUSIVE`` one, briefly: it waits at most ``LOCK_TIMEOUT`` for the queries in
flight, so that ingest never queues for long behind it; the next run tries again.
"""

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .rollup import protocol

PREFIX = "events_p"
DEFAULT = "events_default"
LOCK_TIMEOUT = "2s"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BOUND = re.compile(r"FROM \((.+)\) TO \((.+)\)")

_PARTITIONS = sa.text("""
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events'::regclass
""")
_WAITING = sa.text(f"""
    SELECT DISTINCT date_bin(make_interval(days => :days), ts, timestamptz 'epoch')
    FROM {DEFAULT}
""")


def partitioned():
    """Whether events are partitioned here (PostgreSQL)."""
    return db.session.get_bind().dialect.name == "postgresql"


def _bound(text):
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    return datetime.fromisoformat(text.strip("'"))


def existing():
    """The range partitions as ``{name: (first instant or None, end instant or None)}``."""
    db.session.execute(sa.text("SET LOCAL TimeZone = 'UTC'"))
    found = {}
    for name, bound in db.session.execute(_PARTITIONS):
        if match := _BOUND.search(bound):
            found[name] = (_bound(match[1]), _bound(match[2]))
    return found


def _grid(instant, days):
    """The aligned span of ``days`` days that holds ``instant``."""
    first = _EPOCH + timedelta(days=(instant - _EPOCH).days // days * days)
    return first, first + timedelta(days=days)


def _gaps(span, taken):
    """What of ``span`` no partition in ``taken`` covers, as a list of spans."""
    lo, hi = span
    gaps = []
    for first, end in sorted(
        taken.values(), key=lambda r: r[0] or datetime.min.replace(tzinfo=UTC)
    ):
        if (end is not None and end <= lo) or (first is not None and first >= hi):
            continue
        if first is not None and first > lo:
            gaps.append((lo, first))
        lo = hi if end is None else max(lo, end)
        if lo >= hi:
            return gaps
    return [*gaps, (lo, hi)]


def make_ahead(now=None, since=None):
    """Make the partitions from today (or the instant ``since``) to the days ahead, and those
    events wait for; commit. Returns the names of the partitions made."""
    if not partitioned():
        return []
    config = current_app.config
    days = config["EVENT_PARTITION_DAYS"]
    now = now or datetime.now(UTC)
    first = min(since or now, now)
    ahead = (now - first).days + config["EVENT_PARTITIONS_AHEAD_DAYS"]
    spans = {_grid(first + timedelta(days=n), days) for n in range(ahead + 1)}
    spans |= {_grid(instant, days) for (instant,) in db.session.execute(_WAITING, {"days": days})}
    made = []
    for span in sorted(spans):
        for gap in _gaps(span, existing()):
            made.append(_attach(*gap))
    db.session.commit()
    return made


def _attach(first, end):
    """Make the partition of ``[first, end)`` from the events waiting for it, and attach it."""
    name = f"{PREFIX}{first:%Y%m%d}"
    span = {"first": first, "end": end}
    inside = "ts >= :first AND ts < :end"
    statements = [
        f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)",
        f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE",
        f"INSERT INTO {name} SELECT * FROM {DEFAULT} WHERE {inside}",
        f"DELETE FROM {DEFAULT} WHERE {inside}",
        # A valid CHECK spares ATTACH its own scan of the new partition.
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_span CHECK ({inside})",
    ]
    for statement in statements:
        db.session.execute(sa.text(_literal(statement, span)))
    db.session.execute(
        sa.text(
            _literal(
                f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM (:first) TO (:end)",
                span,
            )
        )
    )
    db.session.execute(sa.text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_span"))
    db.session.commit()
    return name


def _literal(statement, span):
    """DDL takes no parameters: the span's instants as literals (our own datetimes, not input)."""
    for key, value in span.items():
        statement = statement.replace(f":{key}", f"'{value.isoformat()}'")
    return statement


def drop_before(cutoff):
    """Detach and drop the partitions that end at or before ``cutoff``, with their events'
    client ids; return how many events went."""
    if not partitioned():
        return 0
    dropped = 0
    for name, (_, end) in sorted(existing().items(), key=lambda item: item[1][1] or cutoff):
        if end is None or end > cutoff:
            continue
        count = db.session.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar()
        # One probe of the primary key per id: a hash join would read all of event_ids for
        # every partition dropped.
        db.session.execute(sa.text("SET LOCAL enable_hashjoin = off"))
        db.session.execute(sa.text("SET LOCAL enable_mergejoin = off"))
        db.session.execute(
            sa.text(
                f"DELETE FROM event_ids WHERE client_id IN "
                f"(SELECT client_id FROM {name} WHERE client_id IS NOT NULL)"
            )
        )
        db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        db.session.execute(sa.text(f"ALTER TABLE events DETACH PARTITION {name}"))
        db.session.execute(sa.text(f"DROP TABLE {name}"))
        if count:
            protocol.bump_cold()
        db.session.commit()
        dropped += count
    return dropped
