"""The ingest audit trail: one row per accepted or refused batch."""

from datetime import datetime

from sqlalchemy import Identity, Index, Integer, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Timestamp


class IngestAudit(db.Model):
    """Who sent a batch, when, from where, and what became of its events."""

    __tablename__ = "ingest_audit"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    subject: Mapped[str] = mapped_column(String(255))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    http_status: Mapped[int] = mapped_column(SmallInteger)
    events_received: Mapped[int] = mapped_column(Integer)
    events_stored: Mapped[int] = mapped_column(Integer)
    events_duplicate: Mapped[int] = mapped_column(Integer)
    # Neither stored nor duplicates: all of a refused batch's events, and of an accepted
    # batch its dropped ones (their user has been erased).
    events_refused: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_ingest_audit_received_at", "received_at"),)
