"""Column types that differ between PostgreSQL and SQLite, declared once."""

from datetime import UTC

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class Timestamp(TypeDecorator):
    """An instant, read back as an aware datetime on both databases.

    PostgreSQL keeps ``timestamptz`` and psycopg returns it aware. SQLite keeps text without an
    offset: instants are written in UTC and read back as UTC, so every answer carries an offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def only_on(dialect):
    """``info`` of a table, index or constraint that exists on one database only."""
    return {"only_on": dialect}


def schema_filter(dialect, partition_prefix="events_"):
    """An Alembic ``include_object`` hook comparing the models with ``dialect``'s schema.

    It skips what the models mark ``only_on`` another database, and the partitions of
    ``events`` (made at run time, not described by a model).
    """

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table" and reflected and compare_to is None:
            return not name.startswith(partition_prefix)
        if reflected:
            return True
        wanted = obj.info.get("only_on")
        if wanted is None and type_ in {"index", "unique_constraint", "column"}:
            wanted = obj.table.info.get("only_on")
        return wanted in (None, dialect)

    return include
