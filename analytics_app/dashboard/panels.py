"""The overview's data: every panel's report for a selection, ready for the templates."""

from ..reports import service
from ..reports.range import Filters
from ..reports.service import RETENTION_OFFSETS
from . import charts, recent


def retention_summary(cohorts):
    """Day-N retention over all measurable cohorts: retained users / new users."""
    summary = []
    for offset in RETENTION_OFFSETS:
        measured = [c for c in cohorts if c[f"day_{offset}"]["users"] is not None]
        new_users = sum(c["new_users"] for c in measured)
        retained = sum(c[f"day_{offset}"]["users"] for c in measured)
        summary.append(
            {
                "offset": offset,
                "rate": retained / new_users if new_users else None,
                "retained": retained,
                "new_users": new_users,
            }
        )
    return summary


def overview(selection):
    """Active users, engagement, retention and the latest events of the selection."""
    active = service.active_users(selection)
    engagement = service.engagement(selection)
    # Cohorts are new users: only the source filter applies (as in GET /reports/retention).
    retention = service.retention(selection.with_filters(Filters(src=selection.filters.src)))
    return {
        "latest": active["series"][-1],
        "engagement": engagement,
        "retention": retention_summary(retention["cohorts"]),
        "cohorts": retention["cohorts"],
        "dau_figure": charts.dau(active["series"]),
        "types_figure": charts.events_by_type(engagement["by_type"]),
        "events": recent.latest(selection),
    }
