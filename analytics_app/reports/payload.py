"""A top-level payload value as text in SQL, alike on PostgreSQL and SQLite.

Strings read as they are; numbers, booleans, objects and arrays as their JSON text; a missing
key or a JSON null as SQL NULL. PostgreSQL's ``->>`` does exactly this. SQLite's
``json_extract`` hands numbers and booleans back as numbers (``true`` as 1), so there the JSON
text comes from ``->`` for everything that is not a string.
"""

import sqlalchemy as sa

from ..extensions import db
from .raw import events


def payload_text(key):
    """SQL for the text of ``payload[key]`` (NULL when the key is missing or null)."""
    if db.engine.dialect.name == "postgresql":
        return events.c.payload[key].as_string()
    payload = sa.type_coerce(events.c.payload, sa.Text)
    path = sa.literal('$."' + key + '"', sa.Text)
    kind = sa.func.json_type(payload, path)
    return sa.case(
        (kind == "text", sa.func.json_extract(payload, path)),
        (kind == "null", sa.null()),
        else_=payload.op("->", return_type=sa.Text)(path),
    )
