"""Daily metrics: the rollups of events, one row per (date, name, dimensions).

The table is ``metrics`` (the product's name for it); the Python name says 'daily' to keep
it apart from the Prometheus metrics of ``analytics_app.metrics``.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Json, Timestamp


class DailyMetric(db.Model):
    """A daily figure such as DAU, keyed by its dimensions (time zone, event type, …)."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    date: Mapped[date]
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(BigInteger)
    # Canonical JSON (sorted keys), so equal dimensions compare equal on SQLite too.
    dimensions: Mapped[dict[str, Any]] = mapped_column(Json, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        Timestamp, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (UniqueConstraint("date", "name", "dimensions"),)
