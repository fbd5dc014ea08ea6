"""Write a validated batch, its rollup mark and its audit record: no ORM objects.

On PostgreSQL, when the connection is in autocommit (the ingest hot path):

- a batch of fewer than ``COPY_FROM`` events goes in one statement, one round trip, whose
  data-modifying CTEs record the client ids in ``event_ids``, insert the events (``unnest``,
  skipping erased users), append the rollup mark and write the audit row;
- a larger batch goes by two ``COPY``s, its client ids into ``event_ids`` and its events,
  then one statement appends the rollup mark and the audit row, in one transaction; unless one
  of its users has been erased, since COPY cannot skip their events;
- either way without ON CONFLICT: when ``event_ids`` refuses a repeated client id (a client's
  retry), the batch is redone by the statement with ``ON CONFLICT DO NOTHING``, which stores
  only the events whose id was new.

Inside a caller's transaction (demo data, tests) the ON CONFLICT statement runs at once. On
SQLite it is one ``executemany`` and two small inserts in the service's transaction.

A batch reaching back before the rollup boundary leaves a rollup mark, erased users' events
are dropped, and a batch that stored events bumps its report generation, in the same statement
or transaction: ``rollup.protocol`` explains the boundary, the marks, the generations and the
advisory lock that the functions named there take.

In the statement, text columns go as one string each, values joined by the ASCII unit
separator (None as the record separator) and split by ``string_to_array`` in the database:
psycopg adapts a Python list element by element in Python, which cost more than everything
else the ingest request does. The separators cannot occur in the values: validation refuses
control characters in identifiers, and JSON text holds none outside its escapes. Times go as
a binary array.
"""

from dataclasses import dataclass
from datetime import UTC

import msgspec
import psycopg

from ..rollup.protocol import BUMP, COVERED_BEFORE, ERASED_AMONG, INGEST_SLOT, START

UNIT, NULL = "\x1f", "\x1e"

_UNNEST = """
SELECT * FROM unnest(
    string_to_array(%(client_id)s, E'\\x1f', E'\\x1e')::varchar[],
    %(ts)b::timestamptz[],
    string_to_array(%(user_id)s, E'\\x1f', E'\\x1e')::varchar[],
    string_to_array(%(type)s, E'\\x1f', E'\\x1e')::varchar[],
    string_to_array(%(src)s, E'\\x1f', E'\\x1e')::varchar[],
    string_to_array(%(payload)s, E'\\x1f', E'\\x1e')::jsonb[]
) WITH ORDINALITY AS b (client_id, ts, user_id, type, src, payload, ord)
"""
_UNNEST_USERS = "string_to_array(%(user_id)s, E'\\x1f', E'\\x1e')::varchar[]"

_WRITE = """
WITH batch AS ({batch}), erased AS MATERIALIZED (
    SELECT {erased_among}({users}) AS ids
), kept AS (
    SELECT * FROM batch WHERE batch.user_id <> ALL ((SELECT ids FROM erased)::varchar[])
), new_ids AS (
    INSERT INTO event_ids (client_id)
    SELECT client_id FROM kept WHERE client_id IS NOT NULL
    {on_conflict}
), stored AS (
    INSERT INTO events (client_id, ts, user_id, type, src, payload)
    {rows}
    RETURNING ts
), marked AS (
    INSERT INTO rollup_marks (first_ts, last_ts)
    SELECT min(ts), max(ts) FROM stored HAVING count(*) > 0 AND min(ts) < {covered_before}
), bumped AS ({bump_generation}
), counted AS (
    SELECT (SELECT count(*)::int FROM stored) AS stored,
           (SELECT count(*)::int FROM batch
            WHERE user_id = ANY ((SELECT ids FROM erased)::varchar[])) AS dropped
)
INSERT INTO ingest_audit (
    request_id, subject, remote_addr, user_agent, http_status,
    events_received, events_stored, events_duplicate, events_refused
)
SELECT %(request_id)s, %(subject)s, %(remote_addr)s, %(user_agent)s, 200,
       %(received)s, stored, %(received)s - stored - dropped, dropped
FROM counted
RETURNING events_stored, events_refused
"""

# A unique index on the partitioned ``events`` would have to hold ``ts``, which a retry may
# change (``X-Sent-At``), so client ids are unique through ``event_ids``, written by the same
# statement. ON CONFLICT makes PostgreSQL insert every row speculatively, which costs more
# database CPU per batch than a plain INSERT (bench/README.md, "Figures behind the code").
# Client ids repeat only when a client retries, so the plain form goes first, and the batch is
# redone when ``event_ids`` refuses it: then only the events whose id was new are stored (the
# first of those a batch repeats).
_FRESH_ROWS = "SELECT client_id, ts, user_id, type, src, payload FROM kept"
_RETRY_ROWS = """
SELECT client_id, ts, user_id, type, src, payload FROM kept WHERE client_id IS NULL
UNION ALL
SELECT * FROM (
    SELECT DISTINCT ON (client_id) client_id, ts, user_id, type, src, payload
    FROM kept JOIN new_ids USING (client_id)
    ORDER BY client_id, ord
) first_of_each
"""
_PG_SLOT, _PG_START = INGEST_SLOT["postgresql"], START["postgresql"]
_PROTOCOL = {
    "erased_among": ERASED_AMONG,
    "covered_before": COVERED_BEFORE,
    "bump_generation": BUMP.format(
        rows=f"SELECT {_PG_SLOT}, {_PG_START} FROM stored HAVING count(*) > 0"
    ),
}
_PG_FRESH = _WRITE.format(
    batch=_UNNEST, users=_UNNEST_USERS, on_conflict="", rows=_FRESH_ROWS, **_PROTOCOL
)
_PG_RETRY = _WRITE.format(
    batch=_UNNEST,
    users=_UNNEST_USERS,
    on_conflict="ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
    rows=_RETRY_ROWS,
    **_PROTOCOL,
)
_CLIENT_ID_UNIQUE = "pk_event_ids"

# From this size on, a batch goes by COPY when none of its users has been erased (COPY cannot
# filter them): PostgreSQL's multi-row insert path costs less per row than INSERT … SELECT
# (bench/README.md, "Figures behind the code").
# Below it the one statement's single round trip matters more.
COPY_FROM = 100
_ERASED_IN_BATCH = f"SELECT cardinality({ERASED_AMONG}({_UNNEST_USERS}))"
_COPY_IDS = "COPY event_ids (client_id) FROM STDIN"
_COPY = "COPY events (client_id, ts, user_id, type, src, payload) FROM STDIN"
_AFTER_COPY = f"""
WITH marked AS (
    INSERT INTO rollup_marks (first_ts, last_ts)
    SELECT %(first)s, %(last)s WHERE %(first)s < {COVERED_BEFORE}
), bumped AS ({BUMP.format(rows=f"VALUES ({_PG_SLOT}, {_PG_START})")}
)
INSERT INTO ingest_audit (
    request_id, subject, remote_addr, user_agent, http_status,
    events_received, events_stored, events_duplicate, events_refused
)
VALUES (%(request_id)s, %(subject)s, %(remote_addr)s, %(user_agent)s, 200,
        %(received)s, %(received)s, 0, 0)
"""
_JSON = msgspec.json.Encoder()

_SQLITE_ERASED = "SELECT user_id FROM erased_users WHERE user_id IN ({})"
_SQLITE_INSERT = """
INSERT OR IGNORE INTO events (client_id, ts, user_id, type, src, payload)
VALUES (?, ?, ?, ?, ?, ?)
"""
_SQLITE_BOUNDARY = "SELECT covered_before FROM rollup_boundary"
_SQLITE_BUMP = BUMP.format(rows=f"VALUES ({INGEST_SLOT['sqlite']}, {START['sqlite']})")
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
    """New events by COPY (large batches) or a plain INSERT; ON CONFLICT only for a retry."""
    if not connection.autocommit:
        # Inside a caller's transaction a refused statement would abort all of it.
        return _insert(connection, batch, audit, _PG_RETRY)
    try:
        if len(batch) >= COPY_FROM and (outcome := _copy(connection, batch, audit)):
            return outcome
        return _insert(connection, batch, audit, _PG_FRESH)
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name != _CLIENT_ID_UNIQUE:
            raise
        return _insert(connection, batch, audit, _PG_RETRY)


def _insert(connection, batch, audit, statement):
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
    stored, dropped = connection.execute(statement, params, prepare=True).fetchone()
    return Outcome(stored, len(batch) - stored - dropped, dropped)


def _copy(connection, batch, audit):
    """COPY the client ids and the events, then mark and audit, in one transaction; None
    (nothing written) when one of the batch's users is erased, since COPY cannot skip them."""
    events = copy_text(batch)  # checks every value, the client ids' too
    ids = [client_id for client_id in batch.client_id if client_id is not None]
    params = {"first": min(batch.ts), "last": max(batch.ts), "received": len(batch), **audit}
    with connection.transaction():
        erased = connection.execute(_ERASED_IN_BATCH, {"user_id": joined(batch.user_id)})
        if erased.fetchone()[0]:
            return None
        if ids:
            with connection.cursor().copy(_COPY_IDS) as copy:
                copy.write("\n".join(ids).replace("\\", "\\\\") + "\n")
        with connection.cursor().copy(_COPY) as copy:
            copy.write(events)
        connection.execute(_AFTER_COPY, params)
    return Outcome(len(batch), 0, 0)


def copy_text(batch):
    """The batch as COPY text rows: tab-separated, backslashes doubled, None as ``\\N``.

    Raises ValueError if a value holds a tab, a line break or the NULL stand-in, rather than
    store something else (validation lets none through).
    """
    # RFC 3339 text from msgspec's C encoder, much cheaper than datetime.isoformat()
    # (bench/README.md). Validation leaves every time aware, so each carries its offset.
    ts = _JSON.encode(batch.ts).decode()[2:-2].split('","')
    columns = (batch.client_id, ts, batch.user_id, batch.type, batch.src, batch.payload)
    nulls = sum(column.count(None) for column in columns)
    columns = [c if None not in c else [NULL if v is None else v for v in c] for c in columns]
    text = "\n".join(map("\t".join, zip(*columns, strict=True)))
    rows = len(batch)
    if (
        text.count("\t") != 5 * rows
        or text.count("\n") != rows - 1
        or text.count(NULL) != nulls
        or "\r" in text
    ):
        raise ValueError("a value holds a tab, a line break or a separator character")
    return text.replace("\\", "\\\\").replace(NULL, "\\N") + "\n"


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
    if stored:
        connection.exec_driver_sql(_SQLITE_BUMP)
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
