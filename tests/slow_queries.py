"""A report query that runs far past any time limit a test sets, on either database."""

from sqlalchemy import text

from analytics_app.extensions import db

# Each runs for tens of seconds unless the report's time limit stops it.
SLOW_SQL = {
    "postgresql": "SELECT pg_sleep(60)",
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 2000000000)"
        " SELECT count(*) FROM n"
    ),
}


def slow_top_pages(*args, **kwargs):
    """Stands in for a report query (``raw.top_pages``…): a statement the limit must cancel."""
    db.session.execute(text(SLOW_SQL[db.engine.dialect.name]))
    return []
