"""What a report over a span of event time depends on, read as one cache key component.

The writers bump ``report_generations`` and append ``rollup_marks`` in the transactions that
change events; ``analytics_app.rollup.protocol`` ("The generations") explains why the value
read here changes with every write committed after it was read that can change the report.
Nothing here writes.
"""

import sqlalchemy as sa

from ..extensions import db
from ..models import ReportGeneration, RollupBoundary, RollupMark
from .periods import as_utc


def watermark(lo, hi):
    """``(cold generation, generations' sum or None, marks overlapping)`` for events in
    ``[lo, hi)`` (None: unbounded on that side), read in one statement.

    The sum is left out (None) when the span ends at or before the rollup boundary: ingest
    changes events there only through marks, so the key of such a report survives ingest.
    """
    generations = ReportGeneration.generation
    cold = sa.select(generations).where(ReportGeneration.slot == ReportGeneration.COLD_SLOT)
    marks = sa.select(sa.func.count()).select_from(RollupMark)
    if lo is not None:
        marks = marks.where(RollupMark.last_ts >= lo)
    if hi is not None:
        marks = marks.where(RollupMark.first_ts < hi)
    query = sa.select(
        sa.select(RollupBoundary.covered_before).scalar_subquery(),
        cold.scalar_subquery(),
        sa.select(sa.func.sum(generations)).scalar_subquery(),
        marks.scalar_subquery(),
    )
    boundary, cold, total, overlapping = db.session.execute(query).one()
    hot = hi is None or boundary is None or hi > as_utc(boundary)
    return (cold or 0, int(total or 0) if hot else None, overlapping)
