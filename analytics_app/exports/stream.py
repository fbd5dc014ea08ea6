"""Read the export rows from the database as a stream, whichever the dialect.

PostgreSQL: CSV straight from ``COPY … TO STDOUT``, rows through a server-side cursor; SQLite:
rows fetched in batches. Either way the worker holds one chunk at a time. Exports read the
report replica when there is one and it has caught up (``reports.source``).
"""

from ..extensions import db
from ..reports.events import copy_statement, select_rows
from ..reports.range import NO_FILTERS
from ..reports.source import caught_up_engine
from . import csv

FETCH_ROWS = 2000


def rows(lo=None, hi=None, filters=NO_FILTERS):
    """Yield export rows as tuples, oldest first, without loading them all."""
    query = select_rows(db.engine.dialect.name, lo, hi, filters)
    with caught_up_engine().connect() as connection:
        options = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS)
        for row in options.execute(query):
            yield tuple(row)


def csv_chunks(lo=None, hi=None, filters=NO_FILTERS):
    """Yield the CSV export as byte chunks, header first."""
    if db.engine.dialect.name != "postgresql":
        yield from csv.from_rows(rows(lo, hi, filters))
        return
    sql, params = copy_statement(select_rows("postgresql", lo, hi, filters))
    connection = caught_up_engine().raw_connection()
    try:
        with connection.cursor() as cursor, cursor.copy(sql, params) as copy:
            yield from csv.crlf(copy)
    finally:
        connection.close()
