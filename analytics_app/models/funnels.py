"""Funnel rollups (PostgreSQL): per finished local day and rolled zone, each user's events in
a compact form, so a funnel reads a few hundred thousand short rows instead of millions of
events (``reports.stored_funnels``).

An event is a *kind* (its type, src and the values of the kept payload keys, numbered once in
``funnel_kinds``) and an instant. ``rollup.funnels`` writes them; ``rollup.protocol`` says how
marks keep them exact. SQLite has none of these tables: its funnels read raw events.
"""

from datetime import date

from sqlalchemy import Date, Identity, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, only_on

KIND_BITS = 26
"""An event in ``FunnelDay.events``: its microseconds after the day's local midnight (under
2**37 in a 25-hour day), shifted left by ``KIND_BITS``, plus its kind's id."""


class FunnelKind(db.Model):
    """An event type, a source and the values of the payload keys kept that day (``kept``:
    each key's text as ``->>`` reads it, JSON null when the event lacks it)."""

    __tablename__ = "funnel_kinds"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    src: Mapped[str | None] = mapped_column(String(64))
    kept: Mapped[dict] = mapped_column(JSONB)

    __table_args__ = (
        UniqueConstraint("type", "src", "kept", postgresql_nulls_not_distinct=True),
        {"info": only_on("postgresql")},
    )


class FunnelDay(db.Model):
    """One user's events of one finished local day of a rolled zone.

    ``events`` is big-endian 64-bit integers: first minus the day's midnight in microseconds
    since the epoch, then the events in time order (``KIND_BITS``). ``kinds`` lists the day's
    kinds, so a funnel tells from the row alone whether the user took a step that day.
    """

    __tablename__ = "funnel_days"

    # Date first: retention deletes by date; reads name the dates and zone.
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(BigId, primary_key=True)
    kinds: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    events: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_funnel_days_number", "number"),  # erasure
        # A range's days: rows are written a day at a time, so a BRIN index (a few pages)
        # finds their blocks; a range of 30 days reads a third of 90 days' rows.
        Index("ix_funnel_days_date", "date", postgresql_using="brin"),
        {"info": only_on("postgresql")},
    )


class FunnelCover(db.Model):
    """That a day's rows are stored (none when it had no events), with the payload keys they
    kept: a key with more than ``ROLLUP_PAYLOAD_VALUES`` values that day is not kept, and
    funnels testing it read that day's raw events."""

    __tablename__ = "funnel_covers"
    __table_args__ = ({"info": only_on("postgresql")},)

    date: Mapped[date] = mapped_column(Date, primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    keys: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
