"""Write a validated batch, its rollup mark and its audit record in one round trip.

A batch is marked for the rollup when it reaches back before the rollup boundary
(``rollup_boundary``): events earlier than that may belong to a day, or to the part of today,
that a rollup has already counted. On PostgreSQL the boundary is read by
``rollup_covered_before()``, which first takes a shared advisory lock that the rollup takes
exclusively to move it, so a batch that commits after the boundary moved was compared with
the new value. On SQLite the write transaction itself excludes the rollup's.

No ORM objects: on PostgreSQL the whole batch travels in seven parameters into one statement
whose data-modifying CTEs insert the events (``unnest``, skipping erased users, and known
client ids on a retry), append the rollup mark and write the audit row; on SQLite it is one
``executemany`` and two small inserts. Neither commits: the service does.

Text columns go as one string each, values joined by the ASCII unit separator (None as the
record separator) and split by ``string_to_array`` in the database: psycopg adapts a Python
list element by element in Python, which cost more than everything else the ingest request
does. The separators cannot occur in the values: validation refuses control characters in
identifiers, and JSON text holds none outside its escapes. Times go as a binary array.
"""

from dataclasses import dataclass
from datetime import UTC

import psycopg

UNIT, NULL = "\x1f", "\x1e"

_PG_INSERT = """
WITH batch AS (
    SELECT * FROM unnest(
        string_to_array(%(client_id)s, E'\\x1f', E'\\x1e')::varchar[],
        %(ts)b::timestamptz[],
        string_to_array(%(user_id)s, E'\\x1f', E'\\x1e')::varchar[],
        string_to_array(%(type)s, E'\\x1f', E'\\x1e')::varchar[],
        string_to_array(%(src)s, E'\\x1f', E'\\x1e')::varchar[],
        string_to_array(%(payload)s, E'\\x1f', E'\\x1e')::jsonb[]
    ) AS b (client_id, ts, user_id, type, src, payload)
), erased AS (
    SELECT count(*)::int AS n FROM batch JOIN erased_users USING (user_id)
), stored AS (
    INSERT INTO events (client_id, ts, user_id, type, src, payload)
    SELECT * FROM batch
    WHERE NOT EXISTS (SELECT 1 FROM erased_users e WHERE e.user_id = batch.user_id)
    {on_conflict}
    RETURNING ts
), marked AS (
    INSERT INTO rollup_marks (first_ts, last_ts)
    SELECT min(ts), max(ts) FROM stored HAVING count(*) > 0 AND min(ts) < rollup_covered_before()
), counted AS (
    SELECT (SELECT count(*)::int FROM stored) AS stored, (SELECT n FROM erased) AS erased
)
INSERT INTO ingest_audit (
    request_id, subject, remote_addr, user_agent, http_status,
    events_received, events_stored, events_duplicate, events_refused
)
SELECT %(request_id)s, %(subject)s, %(remote_addr)s, %(user_agent)s, 200,
       %(received)s, stored, %(received)s - stored - erased, erased
FROM counted
RETURNING events_stored, events_refused
"""

# ON CONFLICT makes PostgreSQL insert every row speculatively: about 40 % more database CPU
# per event than a plain INSERT (bench/README.md). Client ids repeat only when a client
# retries, so the plain form goes first and the batch is redone with ON CONFLICT when the
# unique index refuses it.
_PG_FRESH = _PG_INSERT.format(on_conflict="")
_PG_RETRY = _PG_INSERT.format(on_conflict="ON CONFLICT (client_id) DO NOTHING")
_CLIENT_ID_UNIQUE = "uq_events_client_id"

_SQLITE_ERASED = "SELECT user_id FROM erased_users WHERE user_id IN ({})"
_SQLITE_INSERT = """
INSERT OR IGNORE INTO events (client_id, ts, user_id, type, src, payload)
VALUES (?, ?, ?, ?, ?, ?)
"""
_SQLITE_BOUNDARY = "SELECT covered_before FROM rollup_boundary"
_SQLITE_MARK = "INSERT INTO rollup_marks (first_ts, last_ts) VALUES (?, ?)"
_SQLITE_AUDIT = """
INSERT INTO ingest_audit (
    request_id, subject, remote_addr, user_agent, http_status,
    events_received, events_stored, events_duplicate, events_refused
)
VALUES (?, ?, ?, ?, 200, ?, ?, ?, ?)
"""


@dataclass(frozen=True)
class Outcome:
    """What became of a batch's events."""

    stored: int
    duplicates: int
    dropped: int


def write_batch(connection, batch, audit):
    """Store the batch, skipping known client ids and erased users; mark it if it is late.

    ``connection`` is a SQLAlchemy connection, or (the ingest hot path) a psycopg one.
    """
    if isinstance(connection, psycopg.Connection):
        return _write_postgresql(connection, batch, audit)
    if connection.dialect.name == "postgresql":
        return _write_postgresql(connection.connection.driver_connection, batch, audit)
    return _write_sqlite(connection, batch, audit)


def joined(values):
    """One column as a single string for ``string_to_array``: UNIT between values, NULL for None.

    Raises ValueError if a value holds a separator, or is a lone empty string (which
    ``string_to_array`` would read as no element at all), rather than store something else.
    """
    # A generator through join costs about half again as much as a list (1000 values).
    text = UNIT.join(values if None not in values else [NULL if v is None else v for v in values])
    if text.count(UNIT) != len(values) - 1 or text.count(NULL) != values.count(None) or text == "":
        raise ValueError("a value holds a separator character or is a lone empty string")
    return text


def _write_postgresql(connection, batch, audit):
    params = {
        "client_id": joined(batch.client_id),
        "ts": batch.ts,
        "user_id": joined(batch.user_id),
        "type": joined(batch.type),
        "src": joined(batch.src),
        "payload": joined(batch.payload),
        "received": len(batch),
        **audit,
    }
    if not connection.autocommit:
        # Inside a caller's transaction a refused statement would abort all of it.
        stored, dropped = connection.execute(_PG_RETRY, params).fetchone()
    else:
        try:
            stored, dropped = connection.execute(_PG_FRESH, params, prepare=True).fetchone()
        except psycopg.errors.UniqueViolation as error:
            if error.diag.constraint_name != _CLIENT_ID_UNIQUE:
                raise
            stored, dropped = connection.execute(_PG_RETRY, params, prepare=True).fetchone()
    return Outcome(stored, len(batch) - stored - dropped, dropped)


def sqlite_time(moment):
    """The text form SQLAlchemy's SQLite DateTime uses, in UTC, so ORM reads agree."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _write_sqlite(connection, batch, audit):
    users = sorted(set(batch.user_id))
    placeholders = ", ".join("?" * len(users))
    erased = {
        row[0]
        for row in connection.exec_driver_sql(_SQLITE_ERASED.format(placeholders), tuple(users))
    }
    columns = (batch.client_id, batch.ts, batch.user_id, batch.type, batch.src, batch.payload)
    rows = [row for row in zip(*columns, strict=True) if row[2] not in erased]
    dropped = len(batch) - len(rows)
    stored = 0
    if rows:
        values = [(c, sqlite_time(ts), u, t, s, p) for c, ts, u, t, s, p in rows]
        stored = connection.exec_driver_sql(_SQLITE_INSERT, values).rowcount
    if stored and (boundary := connection.exec_driver_sql(_SQLITE_BOUNDARY).scalar()):
        first = min(row[1] for row in rows)
        if sqlite_time(first) < boundary:
            last = max(row[1] for row in rows)
            connection.exec_driver_sql(_SQLITE_MARK, (sqlite_time(first), sqlite_time(last)))
    duplicates = len(rows) - stored
    connection.exec_driver_sql(
        _SQLITE_AUDIT,
        (
            audit["request_id"],
            audit["subject"],
            audit["remote_addr"],
            audit["user_agent"],
            len(batch),
            stored,
            duplicates,
            dropped,
        ),
    )
    return Outcome(stored, duplicates, dropped)
