"""Blocks of breakdown rows: 2, 4, … 64 days aligned on their ordinal, each the OR of its two
halves (``models.breakdowns``), so a range of up to a year reads at most about a dozen blocks
and days per value where its days alone would be 366 (``reports.stored_breakdowns``).

A block is stored when both its halves are (and neither overflowed), and rebuilt whenever a
day in it is, in the same transaction, so it is never staler than its days.
"""

from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import BreakdownBits, BreakdownCover
from . import bitmaps

LEVELS = 6
"""Blocks of 2**1 … 2**LEVELS days."""


def _start(value, size):
    ordinal = value.toordinal()
    return date.fromordinal(ordinal - ordinal % size)


def store(tz, dates):
    """Rebuild every block holding one of ``dates``, level by level: a block is stored when
    both its halves are (and neither overflowed)."""
    for level in range(1, LEVELS + 1):
        size, half = 2**level, 2 ** (level - 1)
        starts = sorted({_start(value, size) for value in dates})
        for model in (BreakdownBits, BreakdownCover):
            db.session.execute(
                sa.delete(model).where(model.tz == tz, model.days == size, model.date.in_(starts))
            )
        halves = [s + timedelta(days=n) for s in starts for n in (0, half)]
        covered = db.session.execute(
            sa.select(BreakdownCover.dimension, BreakdownCover.date).where(
                BreakdownCover.tz == tz,
                BreakdownCover.days == half,
                BreakdownCover.date.in_(halves),
                BreakdownCover.overflowed.is_(False),
            )
        ).all()
        covered = set(covered)
        blocks = [
            (start, dimension)
            for start in starts
            for dimension in sorted({d for d, _ in covered})
            if {(dimension, start), (dimension, start + timedelta(days=half))} <= covered
        ]
        if not blocks:
            continue
        db.session.execute(
            bitmaps.BLOCKS,
            {
                "starts": [start for start, _ in blocks],
                "dimensions": [dimension for _, dimension in blocks],
                "days": size,
                "half": half,
                "tz": tz,
            },
        )
        db.session.execute(
            sa.insert(BreakdownCover),
            [
                {"tz": tz, "dimension": d, "date": s, "days": size, "overflowed": False}
                for s, d in blocks
            ],
        )


def unbuilt(tz):
    """The first days of the blocks whose halves are stored but which are not (their rows
    were dropped, by migration 0013 for one): ``store`` builds them and those above."""
    covers = db.session.execute(
        sa.select(BreakdownCover.dimension, BreakdownCover.days, BreakdownCover.date).where(
            BreakdownCover.tz == tz, BreakdownCover.overflowed.is_(False)
        )
    ).all()
    stored = set(covers)
    unbuilt = set()
    for dimension, days, value in covers:
        size = days * 2
        if days < 1 or size > 2**LEVELS or value.toordinal() % size:
            continue
        other_half = (dimension, days, value + timedelta(days=days))
        if other_half in stored and (dimension, size, value) not in stored:
            unbuilt.add(value)
    return sorted(unbuilt)
