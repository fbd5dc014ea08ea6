"""Bookkeeping for rollups: which stretches of event time changed since the last rollup, how
far the rollups reach, and today's distinct users so far (``rollup.protocol`` explains them)."""

from datetime import date, datetime

from sqlalchemy import Date, Identity, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Timestamp


class RollupMark(db.Model):
    """The time span of events changed behind the rollup boundary (a late batch, an erasure);
    append-only, consumed by the rollup."""

    __tablename__ = "rollup_marks"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    first_ts: Mapped[datetime] = mapped_column(Timestamp)
    last_ts: Mapped[datetime] = mapped_column(Timestamp)


class RollupBoundary(db.Model):
    """One row: the instant before which a rollup may already include events."""

    __tablename__ = "rollup_boundary"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    covered_before: Mapped[datetime | None] = mapped_column(Timestamp)


class LiveDay(db.Model):
    """Today's distinct users in a zone from local midnight up to ``covered_until``."""

    __tablename__ = "live_days"

    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    covered_until: Mapped[datetime] = mapped_column(Timestamp)
    users: Mapped[int] = mapped_column(Integer)


class LiveDayUser(db.Model):
    """One user counted in a ``LiveDay``; lets the rollup and reports add only new users."""

    __tablename__ = "live_day_users"

    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class ReportGeneration(db.Model):
    """A counter that writers bump in the transaction that changes events, so a cached report
    knows it is out of date (``rollup.protocol`` explains the slots)."""

    __tablename__ = "report_generations"

    COLD_SLOT = -1
    """The slot the rollup and retention bump; ingest's are 0 and up."""

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigId)
