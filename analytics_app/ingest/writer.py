"""Write a validated batch and its audit record in one statement per database round trip.

No ORM objects: on PostgreSQL the whole batch travels as six arrays into one
``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, chained to the audit insert by a
data-modifying CTE; on SQLite it is one ``executemany``. Neither commits: the service does.
"""

from datetime import UTC

_PG_INSERT = """
WITH stored AS (
    INSERT INTO events (client_id, ts, user_id, type, src, payload)
    SELECT * FROM unnest(
        %(client_id)s::varchar[], %(ts)s::timestamptz[], %(user_id)s::varchar[],
        %(type)s::varchar[], %(src)s::varchar[], %(payload)s::jsonb[]
    )
    ON CONFLICT (client_id) DO NOTHING
    RETURNING 1
), counted AS (
    SELECT count(*)::int AS n FROM stored
)
INSERT INTO ingest_audit (
    request_id, subject, remote_addr, user_agent, http_status,
    events_received, events_stored, events_duplicate, events_refused
)
SELECT %(request_id)s, %(subject)s, %(remote_addr)s, %(user_agent)s, 200,
       %(received)s, n, %(received)s - n, 0
FROM counted
RETURNING events_stored
"""

_SQLITE_INSERT = """
INSERT OR IGNORE INTO events (client_id, ts, user_id, type, src, payload)
VALUES (?, ?, ?, ?, ?, ?)
"""

_SQLITE_AUDIT = """
INSERT INTO ingest_audit (
    request_id, subject, remote_addr, user_agent, http_status,
    events_received, events_stored, events_duplicate, events_refused
)
VALUES (?, ?, ?, ?, 200, ?, ?, ?, 0)
"""


def write_batch(connection, batch, audit):
    """Store the batch, skipping known client ids; return how many events were new."""
    if connection.dialect.name == "postgresql":
        return _write_postgresql(connection, batch, audit)
    return _write_sqlite(connection, batch, audit)


def _write_postgresql(connection, batch, audit):
    params = {
        "client_id": batch.client_id,
        "ts": batch.ts,
        "user_id": batch.user_id,
        "type": batch.type,
        "src": batch.src,
        "payload": batch.payload,
        "received": len(batch),
        **audit,
    }
    return connection.exec_driver_sql(_PG_INSERT, params).scalar_one()


def _write_sqlite(connection, batch, audit):
    # The same text form SQLAlchemy's SQLite DateTime uses, in UTC, so ORM reads agree.
    ts = [t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for t in batch.ts]
    columns = (batch.client_id, ts, batch.user_id, batch.type, batch.src, batch.payload)
    rows = list(zip(*columns, strict=True))
    stored = connection.exec_driver_sql(_SQLITE_INSERT, rows).rowcount
    received = len(batch)
    connection.exec_driver_sql(
        _SQLITE_AUDIT,
        (
            audit["request_id"],
            audit["subject"],
            audit["remote_addr"],
            audit["user_agent"],
            received,
            stored,
            received - stored,
        ),
    )
    return stored
