"""Ingest a batch: parse → validate → anonymise → write with its audit record → commit.

The one unit of work of the hot path. Refused batches are audited in a transaction of their own,
so a refusal stores nothing but its audit row.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from flask import current_app
from sqlalchemy.exc import DataError, DBAPIError

from ..errors import AppError, EventValidationError, MalformedBodyError
from ..extensions import db
from ..metrics import record_refused
from ..models import IngestAudit
from .anonymize import anonymize
from .body import read_body
from .validation import Validator
from .writer import write_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who sent the request and from where, for the audit trail."""

    request_id: str
    subject: str
    remote_addr: str | None
    user_agent: str | None

    def as_audit(self):
        return {
            "request_id": self.request_id,
            "subject": self.subject,
            "remote_addr": self.remote_addr,
            "user_agent": self.user_agent,
        }


def ingest(request, caller):
    """Store the request's events and return the ``Outcome``, or raise a refusal."""
    config = current_app.config
    rules = current_app.extensions["ingest_rules"]
    now = datetime.now(UTC)
    validator = Validator(rules, now)
    try:
        skew = _clock_skew(request, now)
        batch = validator.validate(read_body(request, config["MAX_BODY_BYTES"]), skew)
    except AppError as refusal:
        _audit_refusal(caller, refusal, validator.received)
        raise
    if config["ANONYMIZE_USER_IDS"]:
        batch.user_id = anonymize(config["ANONYMIZE_KEY"], batch.user_id)
    try:
        with _write_connection() as connection:
            return write_batch(connection, batch, caller.as_audit())
    except DataError as error:
        # A value the validator let through but the database cannot represent: still the
        # client's fault, so a 422 and nothing stored, never a 500.
        refusal = EventValidationError(
            "the database refused a value; nothing was stored",
            errors={"json": {"_schema": [str(error.orig).splitlines()[0]]}},
        )
        _audit_refusal(caller, refusal, len(batch))
        raise refusal from None


def _write_connection():
    """A connection whose work commits on leaving the ``with`` block.

    On PostgreSQL the batch is one atomic statement, so it runs in autocommit: one round trip
    instead of BEGIN, statement, COMMIT. SQLite's three statements share a transaction.
    """
    if db.engine.dialect.name == "postgresql":
        return _pooled_autocommit(db.engine)
    return db.engine.begin()


@contextmanager
def _pooled_autocommit(engine):
    """The pool's psycopg connection itself, in autocommit for the block, then back as it was.

    Cheaper than a SQLAlchemy ``Connection`` with ``isolation_level="AUTOCOMMIT"`` by a
    measurable share of a one-event request's worker CPU (bench/README.md, "Figures behind the
    code").
    psycopg's errors leave as SQLAlchemy's, so the error handlers (503 when the database is
    down, 422 for a value it refuses) see what they see everywhere else, and a lost server
    empties the pool as SQLAlchemy's own disconnect handling would.
    """
    try:
        fairy = engine.raw_connection()
    except psycopg.Error as error:  # cannot connect: the pool hands psycopg's error through
        raise DBAPIError.instance(None, None, error, psycopg.Error) from error
    try:
        fairy.driver_connection.autocommit = True
        try:
            yield fairy.driver_connection
        except psycopg.Error as error:
            if engine.dialect.is_disconnect(error, fairy.dbapi_connection, None):
                fairy.invalidate(error)
                engine.dispose()
            raise DBAPIError.instance(None, None, error, psycopg.Error) from error
        finally:
            _leave_autocommit(fairy)
    finally:
        fairy.close()


def _leave_autocommit(fairy):
    """Put a pooled connection back in transaction mode, or drop it if it cannot be."""
    if not fairy.is_valid:
        return
    try:
        fairy.driver_connection.autocommit = False
    except psycopg.Error:
        fairy.invalidate()


def _clock_skew(request, now):
    """Return how far the client's clock is behind ours, from its ``X-Sent-At`` header."""
    header = request.headers.get("X-Sent-At")
    if header is None:
        return timedelta(0)
    try:
        sent_at = datetime.fromisoformat(header.strip())
    except ValueError:
        sent_at = None
    if sent_at is None or sent_at.tzinfo is None:
        raise MalformedBodyError(
            "X-Sent-At must be an RFC 3339 time with an offset",
            errors={"headers": {"X-Sent-At": ["not an RFC 3339 time with an offset"]}},
        )
    return now - sent_at


def _audit_refusal(caller, refusal, received):
    """Record a refused batch: all of its events were refused, nothing was stored."""
    record_refused(received)
    db.session.add(
        IngestAudit(
            **caller.as_audit(),
            http_status=refusal.status,
            events_received=received,
            events_stored=0,
            events_duplicate=0,
            events_refused=received,
            error=refusal.message[:255],
        )
    )
    try:
        db.session.commit()
    except Exception:
        # The refusal stands even if its audit row cannot be written (database down).
        db.session.rollback()
        log.warning("could not audit refused batch %s", caller.request_id, exc_info=True)
