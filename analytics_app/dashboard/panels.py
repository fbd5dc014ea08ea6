"""The overview's panels: each one's data for a selection, ready for its template.

Every panel is its own HTMX fragment (``overview.panel``), loaded on its own, so a slow report
holds up only the panel that shows it; the page carries it ready instead when the report cache
holds its figures (``overview._cached_panels``). A panel asks only for the reports it shows.
"""

from dataclasses import replace
from datetime import timedelta

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


def exports(selection, previous=None):
    """The export buttons: the raw events (a direct download, or a background job past the
    direct limits) and the figures of the reports behind the panels."""
    return {
        "events": service.event_counts(selection)["events"],
        "direct_rows": direct_limits(),
        "figures": {name: label for name, (label, _, _) in FIGURES.items()},
    }


def change(now, before):
    """The relative change from ``before`` to ``now`` (None without a base to compare)."""
    return None if not before else (now - before) / before


def totals(selection, previous=None):
    """Active users and events over the range (and their change since the previous one)."""
    totals = service.event_totals(selection)
    before = service.event_totals(previous) if previous else {}
    return {
        "totals": totals,
        "changes": {name: change(totals[name], before.get(name)) for name in ("users", "events")},
        "before": before,
    }


def _last_complete(selection):
    """The active users of the selection's last finished day (its last day when none is)."""
    series = service.active_users(selection)["series"]
    finished = [point for point in series if point["complete"]]
    return (finished or series)[-1]


def _up_to_last_complete(selection):
    """The selection without its days from today on, when it has a finished day: the tiles
    show the last complete day, and today's WAU and MAU (30 days of users) are the costly
    part of the series."""
    yesterday = selection.today() - timedelta(days=1)
    if selection.start <= yesterday < selection.end:
        return replace(selection, end=yesterday)
    return selection


def active(selection, previous=None):
    """DAU, WAU, MAU and stickiness on the range's last complete day (today is not over), and
    their change since the previous range's last day."""
    latest = _last_complete(_up_to_last_complete(selection))
    before = _last_complete(_up_to_last_complete(previous)) if previous else {}
    names = ("dau", "wau", "mau", "stickiness")
    return {
        "latest": latest,
        "changes": {name: change(latest[name], before.get(name)) for name in names},
        "before": before,
    }


def sessions(selection, previous=None):
    now = service.sessions(selection)
    before = service.sessions(previous) if previous else {}
    return {
        "sessions": now,
        "changes": {"count": change(now["count"], before.get("count"))},
        "before": before,
    }


def _dau_series(selection):
    """The range's DAU per day; the chart needs no WAU or MAU, which cost far more to count
    for today (30 days of users against one)."""
    return service.dau_series(selection)["series"]


def dau(selection, previous=None):
    """The daily-active-users chart."""
    before = _dau_series(previous) if previous else None
    return {"dau_figure": charts.dau(_dau_series(selection), before)}


def types(selection, previous=None):
    by_type = service.event_counts(selection)["by_type"]
    return {"by_type": by_type, "types_figure": charts.events_by_type(by_type) if by_type else None}


def pages(selection, previous=None):
    return {"top_pages": service.top_pages(selection)}


def retention(selection, previous=None):
    cohorts = _retention_report(selection)
    return {"retention": retention_summary(cohorts["cohorts"]), "cohorts": cohorts["cohorts"]}


def sources(selection, previous=None):
    return {"by_source": service.event_counts(selection)["by_source"]}


def latest_events(selection, previous=None):
    return {"events": recent.latest(selection)}


def chart_table(name, selection, previous=None):
    """A chart's figures as a table, ``(header, rows)``: what its CSV download holds.

    With ``previous`` the DAU chart draws the period before faintly, so its table carries
    that period too, day for day beside the current one (its own dates, as the chart's
    hover does); the types chart draws no comparison and ignores it.
    """
    if name == "dau":
        header = ("date", "dau", "complete")
        rows = [(p["date"], p["dau"], str(p["complete"]).lower()) for p in _dau_series(selection)]
        if previous is not None:
            header += ("previous_date", "previous_dau")
            before = _dau_series(previous)
            rows = [
                (*row, point["date"], point["dau"]) for row, point in zip(rows, before, strict=True)
            ]
        return header, rows
    by_type = service.event_counts(selection)["by_type"]
    return ("type", "events"), sorted(by_type.items(), key=lambda item: (-item[1], item[0]))


def _retention_report(selection):
    # Cohorts are new users: only the source filter applies (as in GET /reports/retention).
    return service.retention(selection.with_filters(Filters(src=selection.filters.src)))


# What the export buttons offer beside the raw events: the reports behind the panels, by the
# name the API gives them (GET /reports/<name>), each with its table's name (exports.tables).
FIGURES = {
    "dau": ("Daily active users", "dau_series", service.dau_series),
    "active-users": ("Active users", "active_users", service.active_users),
    "engagement": ("Engagement", "engagement", service.engagement),
    "retention": ("Retention", "retention", _retention_report),
}


def figures(name, selection, previous=None):
    """``(table name, body)`` of the report ``name`` for the selection, as the API answers it
    (with ``previous`` beside it when the view compares)."""
    _, table, report = FIGURES[name]
    if previous is None:
        return table, report(selection)
    return table, service.with_previous(report, selection, previous)


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

# The panels whose figures all come through the report cache, so the page can carry them
# ready when it holds them (overview._cached_panels); the recent events are read afresh.
FROM_CACHE = tuple(name for name in PANELS if name != "recent")
