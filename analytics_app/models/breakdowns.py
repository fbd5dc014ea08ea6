"""Breakdown rollups (PostgreSQL): per finished local day and rolled zone, the events and a
bitmap of the users of each value of type, src and the configured payload keys.

A range's distinct users of a value are the bits set in the OR of its days' bitmaps, so a
90-day breakdown reads a few hundred small rows instead of millions of events
(``reports.stored_breakdowns``). ``rollup.breakdowns`` writes them; ``rollup.protocol`` says
how marks keep them exact. SQLite has none of these tables: its breakdowns read raw events.
"""

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, only_on

CHUNK_BITS = 65536
"""Users per bitmap row: user number ``n`` is bit ``n % CHUNK_BITS`` of chunk
``n // CHUNK_BITS``. Every bitmap has this one length, so bitmaps OR together without padding
as users are added, and a chunk without users of a value is no row at all."""

LIVE, STRETCH = 0, -1
"""``days`` of today's rows, counted from local midnight up to the live count's
``covered_until`` (``rollup.live``), and of the newest stretch's while the rollup folds it in."""


class UserNumber(db.Model):
    """A user's dense number: the bit that stands for the user in every bitmap."""

    __tablename__ = "user_numbers"
    __table_args__ = ({"info": only_on("postgresql")},)

    number: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), unique=True)


class BreakdownBits(db.Model):
    """The events and users of one value of a dimension over ``days`` days from ``date``, for
    the users of one chunk.

    ``days`` is 1 for a finished day, or 2**k for a block of days aligned on their ordinal (the
    OR of its two halves), so a long range reads few rows; ``LIVE`` for today so far.
    ``dimension`` is ``type``, ``src`` or ``payload.<key>``; ``type`` is None, except for
    ``src`` rows narrowed to one event type, which serve breakdowns filtered by type or src.
    """

    __tablename__ = "breakdown_bits"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(SmallInteger)
    tz: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[str] = mapped_column(String(80))
    type: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    chunk: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(BigInteger)
    users: Mapped[str] = mapped_column(BIT(CHUNK_BITS))

    __table_args__ = (
        Index("ix_breakdown_bits_tz_dimension_date", "tz", "dimension", "date", "days"),
        {"info": only_on("postgresql")},
    )


class BreakdownCover(db.Model):
    """That the rows of a dimension for ``days`` days from ``date`` are stored (zero rows when
    there were no events), or, ``overflowed``, that the payload key had too many values that
    day to store (``ROLLUP_PAYLOAD_VALUES``): its breakdowns read that day's raw events."""

    __tablename__ = "breakdown_covers"
    __table_args__ = ({"info": only_on("postgresql")},)

    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(80), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    days: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    overflowed: Mapped[bool] = mapped_column(Boolean)
