"""Connection settings per dialect."""

from sqlalchemy import event

from .extensions import db


def _sqlite_pragmas(connection, record):
    """WAL lets the web process read while the worker writes; wait for locks, don't fail."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def init_app(app):
    """Bind the database and tune SQLite connections (creating the engine connects nothing)."""
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
