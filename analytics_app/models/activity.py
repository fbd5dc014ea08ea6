"""Activity kept by the rollup per rolled zone and finished local day: who was active, when
each user was first and last seen, each day's sessions and page views.

They let reports count what a range holds rather than read raw events (``reports.activity``);
``rollup.activity`` writes them, ``rollup.protocol`` says how marks keep them exact.
"""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Identity, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Timestamp


class UserDay(db.Model):
    """A user active (any event) on a finished local day of a rolled zone."""

    __tablename__ = "user_days"

    # Date first: retention deletes by date; reads name the date and zone.
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)

    __table_args__ = (
        # One user's days: first and last seen, erasure.
        Index("ix_user_days_user_id_tz_date", "user_id", "tz", "date"),
    )


class UserSeen(db.Model):
    """The first and last day of a user in ``user_days`` of a zone (their min and max)."""

    __tablename__ = "users_seen"

    # User first: erasure finds the user's rows in every zone.
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Null only inside the rollup's transaction, while the dates are being recomputed.
    first_date: Mapped[date | None] = mapped_column(Date)
    last_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        # Cohorts of new users, and users active since a date (WAU, MAU, range users).
        Index("ix_users_seen_tz_first_date", "tz", "first_date"),
        Index("ix_users_seen_tz_last_date", "tz", "last_date"),
    )


class SessionDay(db.Model):
    """The part of one session (events sharing ``payload.session_id``) on a local day.

    ``shared`` is true when the same session id has a part on another day too: only those
    parts need merging when a range's sessions are counted (``reports.activity``).
    """

    __tablename__ = "session_days"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    # Client text of any length: looked up by a hash index, never a btree key.
    session_id: Mapped[str] = mapped_column(Text)
    first_ts: Mapped[datetime] = mapped_column(Timestamp)
    last_ts: Mapped[datetime] = mapped_column(Timestamp)
    shared: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_session_days_date_tz_shared", "date", "tz", "shared"),
        Index("ix_session_days_session_id", "session_id", postgresql_using="hash"),
    )


class PageDay(db.Model):
    """Views of one page (``payload.page`` of ``page_view`` events) on a local day."""

    __tablename__ = "page_days"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    page: Mapped[str] = mapped_column(Text)
    views: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_page_days_date_tz", "date", "tz"),)
