"""Events: what users did, as the clients reported it; and the client ids already stored."""

from datetime import datetime
from typing import Any

from sqlalchemy import Identity, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Json, Timestamp, only_on


class Event(db.Model):
    """One user-behaviour event; immutable once stored.

    Written in bulk by ``ingest.writer`` (never one ORM object per event); the model is the
    schema's single description and serves the read side.

    On PostgreSQL the table is range-partitioned by ``ts`` (``partitions``; migration 0009):
    its primary key is ``(user_id, ts, id)``, which holds the partition key and serves one
    user's events, and client ids are unique through ``event_ids``. SQLite keeps a plain table
    whose ``client_id`` is unique itself. The ORM identifies a row by ``id`` on both.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    # The client's own id for the event (a UUID from the SDK): retries are deduplicated on it.
    client_id: Mapped[str | None] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(Timestamp)
    user_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    src: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        # Time-range scans, and DAU as an index-only scan (distinct users in a range).
        Index("ix_events_ts_user_id", "ts", "user_id"),
        # One user's events: the user filter of reports and exports, and erasure (on
        # PostgreSQL the primary key's leading columns).
        Index("ix_events_user_id_ts", "user_id", "ts", info=only_on("sqlite")),
        UniqueConstraint("client_id", name="uq_events_client_id", info=only_on("sqlite")),
        {"postgresql_partition_by": "RANGE (ts)"},
    )


class EventId(db.Model):
    """A client id already stored (PostgreSQL): one row per event that came with an ``id``.

    Inserted in the same statement as its event, deleted with it (retention, erasure), so the
    table is as large as the events that carry ids, and a retry is a duplicate for as long as
    its first copy is stored, whichever day partition each attempt's ``ts`` falls on.
    """

    __tablename__ = "event_ids"
    __table_args__ = ({"info": only_on("postgresql")},)

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
