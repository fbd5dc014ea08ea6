"""The overview's panels: each one's data for a selection, ready for its template.

Every panel is its own HTMX fragment (``overview.panel``), loaded on its own, so a slow report
holds up only the panel that shows it. A panel asks only for the reports it shows.
"""

from ..reports import service
from ..reports.range import Filters
from ..reports.service import RETENTION_OFFSETS
from . import charts, recent
from .downloads import direct_limits


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


def exports(selection):
    """The export buttons: a direct download, or a background job past the direct limits."""
    return {"events": service.event_totals(selection)["events"], "direct_rows": direct_limits()}


def totals(selection):
    """Active users and events over the range."""
    return {"totals": service.event_totals(selection)}


def _series(selection):
    """The range's active users per day, each point saying whether its day is over."""
    today = selection.today()
    return [
        {**point, "complete": point.get("complete", point["date"] < today.isoformat())}
        for point in service.active_users(selection)["series"]
    ]


def active(selection):
    """DAU, WAU, MAU and stickiness on the range's last complete day (today is not over)."""
    series = _series(selection)
    finished = [point for point in series if point["complete"]]
    return {"latest": (finished or series)[-1]}


def sessions(selection):
    return {"sessions": service.sessions(selection)}


def dau(selection):
    """The daily-active-users chart."""
    return {"dau_figure": charts.dau(_series(selection))}


def types(selection):
    by_type = service.event_totals(selection)["by_type"]
    return {"by_type": by_type, "types_figure": charts.events_by_type(by_type) if by_type else None}


def pages(selection):
    return {"top_pages": service.top_pages(selection)}


def retention(selection):
    # Cohorts are new users: only the source filter applies (as in GET /reports/retention).
    cohorts = service.retention(selection.with_filters(Filters(src=selection.filters.src)))
    return {"retention": retention_summary(cohorts["cohorts"]), "cohorts": cohorts["cohorts"]}


def sources(selection):
    return {"by_source": service.event_totals(selection)["by_source"]}


def latest_events(selection):
    return {"events": recent.latest(selection)}


def chart_table(name, selection):
    """A chart's figures as a table, ``(header, rows)``: what its CSV download holds."""
    if name == "dau":
        rows = [(p["date"], p["dau"], str(p["complete"]).lower()) for p in _series(selection)]
        return ("date", "dau", "complete"), rows
    by_type = service.event_totals(selection)["by_type"]
    return ("type", "events"), sorted(by_type.items(), key=lambda item: (-item[1], item[0]))


CHARTS = ("dau", "types")

# name -> (what it shows, what it reads); the name is its URL and its template, _panel_<name>.
PANELS = {
    "exports": ("Exports", exports),
    "totals": ("Active users and events", totals),
    "active": ("Active users", active),
    "sessions": ("Sessions", sessions),
    "dau": ("Daily active users", dau),
    "types": ("Events by type", types),
    "pages": ("Top pages", pages),
    "retention": ("Retention of new users", retention),
    "sources": ("Events by source", sources),
    "recent": ("Recent events", latest_events),
}
