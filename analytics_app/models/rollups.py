"""Bookkeeping for rollups: which stretches of event time changed since the last rollup."""

from datetime import datetime

from sqlalchemy import Identity
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Timestamp


class RollupMark(db.Model):
    """The time span of one stored batch, appended at ingest and consumed by the rollup.

    Append-only (no unique key), so concurrent batches never wait on each other; the rollup
    recomputes the days these spans touch, then deletes the marks it has seen.
    """

    __tablename__ = "rollup_marks"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    first_ts: Mapped[datetime] = mapped_column(Timestamp)
    last_ts: Mapped[datetime] = mapped_column(Timestamp)
