"""The event rows an export reads: one query for CSV, Excel and export jobs, both dialects.

Columns: id, ts (ISO 8601, UTC), user_id, type, src, payload (JSON text). Text cells that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) get a leading
apostrophe here, in SQL, so no export path does per-row Python work for it.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..extensions import db
from .range import NO_FILTERS
from .raw import conditions, events

COLUMNS = ("id", "ts", "user_id", "type", "src", "payload")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(column):
    """The column's text, prefixed with ' when a spreadsheet would evaluate it."""
    first = sa.func.substr(column, 1, 1)
    return sa.case((first.in_(FORMULA_STARTS), sa.literal("'") + column), else_=column)


def _iso_utc(dialect):
    if dialect == "postgresql":
        return sa.func.to_char(
            sa.func.timezone("UTC", events.c.ts), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
        )
    # SQLite keeps UTC as text 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return sa.func.replace(events.c.ts, " ", "T") + "Z"


def select_rows(dialect, lo=None, hi=None, filters=NO_FILTERS):
    """The export query, oldest first; ``lo``/``hi`` bound ``ts`` when given."""
    clauses = list(conditions(filters))
    if lo is not None:
        clauses += [events.c.ts >= lo, events.c.ts < hi]
    return (
        sa.select(
            events.c.id.label("id"),
            _iso_utc(dialect).label("ts"),
            neutralised(events.c.user_id).label("user_id"),
            neutralised(events.c.type).label("type"),
            neutralised(events.c.src).label("src"),
            sa.cast(events.c.payload, sa.Text).label("payload"),
        )
        .where(*clauses)
        .order_by(events.c.ts, events.c.id)
    )


def count_rows(lo=None, hi=None, filters=NO_FILTERS, limit=None):
    """How many events the export will hold; with ``limit``, counting stops there."""
    clauses = list(conditions(filters))
    if lo is not None:
        clauses += [events.c.ts >= lo, events.c.ts < hi]
    matching = sa.select(sa.literal(1)).select_from(events).where(*clauses).limit(limit)
    return db.session.scalar(sa.select(sa.func.count()).select_from(matching.subquery()))


def copy_statement(query):
    """``COPY (query) TO STDOUT`` as CSV with a header, and its parameters, for psycopg."""
    compiled = query.compile(
        dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    sql = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    return sql, compiled.params
