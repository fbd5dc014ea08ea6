"""The event rows an export reads: one query for CSV, Excel and export jobs, both dialects.

Columns: id, ts, user_id, type, src, payload (JSON text), then one column per payload key the
``Layout`` names. Times are local to the layout's zone: in CSV as ISO 8601 text with that
zone's offset at the time, in Excel as date-time cells (the zone named in the header). CSV
text cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) get
a leading apostrophe, in SQL where it can be, unless the layout turns the guard off;
Excel cells are typed as text instead, so they hold exactly what was stored.
"""

import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..extensions import db
from .payload import payload_text
from .range import NO_FILTERS
from .raw import conditions, events

COLUMNS = ("id", "ts", "user_id", "type", "src", "payload")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOAD_COLUMN = "payload."
UTC_ZONE = ZoneInfo("UTC")
# PostgreSQL's to_char of a timestamptz in the session's time zone, with its offset then.
_PG_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM'


@dataclass(frozen=True)
class Layout:
    """How exported events look: times in ``zone``, ``payload_keys`` in columns of their own,
    and whether CSV text cells get the formula guard."""

    zone: ZoneInfo = UTC_ZONE
    payload_keys: tuple[str, ...] = ()
    formula_guard: bool = True

    def header(self, excel=False):
        """The column names; Excel's time column names the zone, its cells cannot."""
        ts = f"ts ({self.zone.key})" if excel else "ts"
        keys = (PAYLOAD_COLUMN + key for key in self.payload_keys)
        return ("id", ts, "user_id", "type", "src", "payload", *keys)


DEFAULT_LAYOUT = Layout()


def neutralised(column):
    """The column's text, prefixed with ' when a spreadsheet would evaluate it."""
    first = sa.func.substr(column, 1, 1)
    return sa.case((first.in_(FORMULA_STARTS), sa.literal("'") + column), else_=column)


def guarded(text):
    """``neutralised`` for a value in Python."""
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def select_rows(dialect, lo=None, hi=None, filters=NO_FILTERS, layout=DEFAULT_LAYOUT, excel=False):
    """The export query, oldest first; ``lo``/``hi`` bound ``ts`` when given.

    PostgreSQL gives every value ready: ``ts`` as text in the session's time zone (see
    ``set_time_zone``) for CSV, as a local date-time for Excel. SQLite has no time
    zones: ``ts`` comes as stored (UTC) and ``finish_row`` completes the row. CSV payload keys
    are text as ``payload.payload_text`` reads them, alike on both.
    """
    clauses = list(conditions(filters))
    if lo is not None:
        clauses += [events.c.ts >= lo, events.c.ts < hi]
    guard = neutralised if layout.formula_guard and not excel else (lambda column: column)
    if dialect != "postgresql":
        ts = events.c.ts
    elif excel:
        ts = sa.func.timezone(layout.zone.key, events.c.ts)
    else:
        ts = sa.func.to_char(events.c.ts, _PG_ISO)
    if not excel:
        keys = {key: guard(payload_text(key)) for key in layout.payload_keys}
    elif dialect == "postgresql":
        keys = {key: events.c.payload[key] for key in layout.payload_keys}
    else:
        keys = {}  # SQLite's JSON functions turn booleans into 1 and 0: taken in Python
    return (
        sa.select(
            events.c.id.label("id"),
            ts.label("ts"),
            guard(events.c.user_id).label("user_id"),
            guard(events.c.type).label("type"),
            guard(events.c.src).label("src"),
            sa.cast(events.c.payload, sa.Text).label("payload"),
            *(value.label(PAYLOAD_COLUMN + key) for key, value in keys.items()),
        )
        .where(*clauses)
        .order_by(events.c.ts, events.c.id)
    )


def finish_row(dialect, row, layout, excel=False):
    """A row of ``select_rows`` as the export shows it.

    PostgreSQL's need only Excel's payload values typed. SQLite's get the UTC time in the
    layout's zone, and for Excel the payload keys, taken from the payload's text.
    """
    if dialect == "postgresql":
        typed = excel and layout.payload_keys
        return (*row[:6], *map(excel_value, row[6:])) if typed else tuple(row)
    moment = row[1].astimezone(layout.zone)  # read back aware, in UTC (``Timestamp``)
    if not excel:
        return (row[0], moment.isoformat(timespec="microseconds"), *row[2:])
    payload = json.loads(row[5]) if layout.payload_keys and row[5] else {}
    values = (excel_value(payload.get(key)) for key in layout.payload_keys)
    return (row[0], moment.replace(tzinfo=None), *row[2:6], *values)


def excel_value(value):
    """A payload value as an Excel cell: numbers and booleans as such, objects as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def set_time_zone(layout):
    """The query that makes the current transaction's time zone the layout's (PostgreSQL),
    for the CSV's ``to_char``."""
    return sa.select(sa.func.set_config("TimeZone", layout.zone.key, True))


def count_rows(lo=None, hi=None, filters=NO_FILTERS, limit=None):
    """How many events the export will hold; with ``limit``, counting stops there."""
    clauses = list(conditions(filters))
    if lo is not None:
        clauses += [events.c.ts >= lo, events.c.ts < hi]
    matching = sa.select(sa.literal(1)).select_from(events).where(*clauses).limit(limit)
    return db.session.scalar(sa.select(sa.func.count()).select_from(matching.subquery()))


def psycopg_statement(query):
    """A query as SQL text and parameters for a psycopg cursor."""
    compiled = query.compile(
        dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    return str(compiled), compiled.params


def copy_statement(query):
    """``COPY (query) TO STDOUT`` as CSV with a header, and its parameters, for psycopg."""
    sql, params = psycopg_statement(query)
    return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", params
