"""Events: what users did, as the clients reported it."""

from datetime import datetime
from typing import Any

from sqlalchemy import Identity, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Json, Timestamp


class Event(db.Model):
    """One user-behaviour event; immutable once stored.

    Written in bulk by ``ingest.writer`` (never one ORM object per event); the model is the
    schema's single description and serves the read side.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    # The client's own id for the event (a UUID from the SDK): retries are deduplicated on it.
    client_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    ts: Mapped[datetime] = mapped_column(Timestamp)
    user_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    src: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        # Time-range scans, and DAU as an index-only scan (distinct users in a range).
        Index("ix_events_ts_user_id", "ts", "user_id"),
        # One user's events: the user filter of reports and exports, and erasure.
        Index("ix_events_user_id_ts", "user_id", "ts"),
    )
