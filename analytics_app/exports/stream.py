"""Read the export rows from the database as a stream, whichever the dialect.

PostgreSQL: CSV straight from ``COPY … TO STDOUT``, rows through a server-side cursor; SQLite:
rows fetched in batches and finished in Python (it has no time zones). Either way the worker
holds one chunk at a time. Exports read the report replica when there is one and it has caught
up (``reports.source``).
"""

from ..extensions import db
from ..reports.events import (
    DEFAULT_LAYOUT,
    copy_statement,
    finish_row,
    psycopg_statement,
    select_rows,
    set_time_zone,
)
from ..reports.range import NO_FILTERS
from ..reports.source import caught_up_engine
from . import csv

FETCH_ROWS = 2000


def rows(lo=None, hi=None, filters=NO_FILTERS, layout=DEFAULT_LAYOUT, excel=False):
    """Yield export rows as tuples, oldest first, without loading them all: for Excel (times
    as local date-times, payload values typed) or, on SQLite, for CSV."""
    dialect = db.engine.dialect.name
    query = select_rows(dialect, lo, hi, filters, layout, excel)
    with caught_up_engine().connect() as connection:
        options = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS)
        for row in options.execute(query):
            yield finish_row(dialect, row, layout, excel)


def csv_chunks(lo=None, hi=None, filters=NO_FILTERS, layout=DEFAULT_LAYOUT):
    """Yield the CSV export as byte chunks, header first."""
    if db.engine.dialect.name != "postgresql":
        yield from csv.from_rows(rows(lo, hi, filters, layout), layout.header())
        return
    sql, params = copy_statement(select_rows("postgresql", lo, hi, filters, layout))
    connection = caught_up_engine().raw_connection()
    try:
        with connection.cursor() as cursor:
            # For this transaction only: the connection goes back to the pool rolled back.
            cursor.execute(*psycopg_statement(set_time_zone(layout)))
            with cursor.copy(sql, params) as copy:
                yield from csv.crlf(copy)
    finally:
        connection.close()
