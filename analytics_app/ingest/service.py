"""Ingest a batch: parse → validate → anonymise → write with its audit record → commit.

The one unit of work of the hot path. Refused batches are audited in a transaction of their own,
so a refusal stores nothing but its audit row.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy.exc import DataError

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
        return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return db.engine.begin()


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
