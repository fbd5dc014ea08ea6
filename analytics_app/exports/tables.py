"""Reports as tables, for ``format=csv|xlsx``: the figures of a report's JSON answer, one row
per day, cohort or figure, under a header. With ``previous``, a first column says which range
a row belongs to."""

from datetime import date

RETENTION_OFFSETS = (1, 7, 30)


def _day(text):
    """A date column's value: a date, which Excel shows as one and CSV writes as ISO text."""
    return date.fromisoformat(text)


def _dau(body):
    return ("date", "dau", "period", "timezone"), [
        (_day(body["date"]), body["dau"], body["period"], body["timezone"])
    ]


def _dau_series(body):
    return ("date", "dau", "period", "complete"), [
        (_day(p["date"]), p["dau"], p["period"], p["complete"]) for p in body["series"]
    ]


def _active_users(body):
    names = ("dau", "wau", "mau", "stickiness")
    header = ("date", "period", "complete", *names)
    rows = [
        (_day(p["date"]), p["period"], p["complete"], *(p[n] for n in names))
        for p in body["series"]
    ]
    return header, rows


def _engagement(body):
    rows = [
        ("events", None, body["events"]),
        ("users", None, body["users"]),
        ("events_per_user", None, body["events_per_user"]),
        ("sessions", None, body["sessions"]["count"]),
        ("session_average_seconds", None, body["sessions"]["average_seconds"]),
        *(("events_by_type", key, value) for key, value in body["by_type"].items()),
        *(("events_by_source", key, value) for key, value in body["by_source"].items()),
        *(("page_views", page["page"], page["views"]) for page in body["top_pages"]),
    ]
    return ("figure", "key", "value"), rows


def _retention(body):
    columns = [(f"day_{n}", field) for n in RETENTION_OFFSETS for field in ("users", "rate")]
    header = ("date", "new_users", *(f"{day}_{field}" for day, field in columns))
    rows = [
        (_day(c["date"]), c["new_users"], *(c[day][field] for day, field in columns))
        for c in body["cohorts"]
    ]
    return header, rows


def _funnel(body):
    names = ("step", "users", "conversion", "step_conversion", "median_seconds_from_previous")
    return names, [tuple(step[n] for n in names) for step in body["steps"]]


def _breakdown(body):
    names = ("value", "events", "users")
    return (body["by"], *names[1:]), [tuple(row[n] for n in names) for row in body["rows"]]


TABLES = {
    "dau": _dau,
    "dau_series": _dau_series,
    "active_users": _active_users,
    "engagement": _engagement,
    "retention": _retention,
    "funnel": _funnel,
    "breakdown": _breakdown,
}


def table(report, body):
    """``(header, rows)`` of a report's answer (``report`` names it as ``TABLES`` does)."""
    header, rows = TABLES[report](body)
    if "previous" not in body:
        return header, rows
    _, earlier = TABLES[report](body["previous"])
    return (
        ("range", *header),
        [("current", *row) for row in rows] + [("previous", *row) for row in earlier],
    )
