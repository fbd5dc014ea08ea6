"""Breakdown latency from the rollup's bitmaps (issue 13), run by ``reports.py --breakdowns``;
and ``prepare``, which both it and ``--funnels`` run first.

``prepare`` brings the rollups up to date as the worker would (the days not rolled yet, and
the breakdown rows of days rolled before they existed), timing it, then measures what the
breakdown structure costs: one finished day's breakdown rows recomputed (median of 3), and
its tables' rows and disk. The cases are ``_funnels``'s breakdowns (by ``payload.page`` over
30 days, by ``type`` over 90), each beside PostgreSQL's ``GROUP BY`` with
``count(DISTINCT user_id)`` and checked against it, plus the same breakdowns filtered by a
source (``type``) and by a type (``src``), which read day rows rather than blocks.
"""

from dataclasses import asdict
from datetime import timedelta

from _funnels import BREAKDOWN_SQL, TARGETS, _span, prepare_rollup, time_breakdown
from _reports_data import Params, ensure_events, today_utc
from _services import RESULTS, free_port, gunicorn

TABLES = ("breakdown_bits", "breakdown_covers", "user_numbers")
FILTERED_SQL = """
SELECT {value}, count(*), count(DISTINCT user_id) FROM events
WHERE ts >= %(lo)s AND ts < %(hi)s AND {column} = %(filter)s GROUP BY 1 ORDER BY 2 DESC
"""


def prepare(app, connection):
    """Roll up what is missing; return the rollup's time and the breakdown structure's
    costs (``prepare_rollup``)."""
    return prepare_rollup(app, connection, "breakdowns", TABLES)


def phase(args, cases, measure, today):
    """Every breakdown measurement: ``{figures, checks}``."""
    yesterday = today - timedelta(days=1)
    month = (yesterday - timedelta(days=29), yesterday)
    quarter = (today - timedelta(days=args.days - 1), today)
    cases_by = {
        "breakdown_payload_30d": ("payload.page", month, "payload->>'page'", {}),
        "breakdown_type_90d": ("type", quarter, "type", {}),
        "breakdown_type_src_90d": ("type", quarter, "type", {"src": "web_app"}),
        "breakdown_src_type_90d": ("src", quarter, "src", {"type": "page_view"}),
    }
    figures, checks = {}, {}
    for name, (by, (first, last), value, filters) in cases_by.items():
        span = dict(zip(("lo", "hi"), _span(first, last), strict=True))
        params = {"by": by, "start": first, "end": last, "tz": "UTC", **filters}
        if filters:
            [(column, wanted)] = filters.items()
            sql = FILTERED_SQL.format(value=value, column=column)
            span["filter"] = wanted
        else:
            sql = BREAKDOWN_SQL.format(value=value)
        label = f"breakdown by {by}{' ' + str(filters) if filters else ''}, "
        figures[name], checks[f"{name}_equals_bare"] = time_breakdown(
            cases,
            measure,
            f"{label}{(last - first).days + 1} days",
            args.funnel_repeat,
            params,
            sql,
            span,
        )
    return {"figures": figures, "checks": checks}


def verdicts(result):
    figures = result["figures"]
    measured = {
        f"{name}_ms": figures[name]["http"]["median_ms"]
        for name in ("breakdown_payload_30d", "breakdown_type_90d")
    }
    met = {name: measured[name] < TARGETS[name] for name in measured}
    return measured, met


LABELS = {
    "breakdown_payload_30d_ms": ("breakdown by payload key over 30 days, HTTP median < 2 s", " ms"),
    "breakdown_type_90d_ms": ("breakdown by type over 90 days, HTTP median < 50 ms", " ms"),
}


def run(args, database, env, token, cases_class, measure):
    """Make or reuse the data, roll it up, serve it, and time every breakdown case."""
    from analytics_app import create_app

    today = today_utc()
    params = Params(args.events, args.users, args.days, args.seed, today.isoformat())
    load = ensure_events(database, env, params, args.regenerate)
    app = create_app(env)
    with database.connect(autocommit=True) as connection:
        structure = prepare(app, connection)
        port, log = free_port(), RESULTS / "gunicorn-breakdowns.log"
        with gunicorn(env, log, port, options=["-k", "sync", "--timeout", "1800"]):
            cases = cases_class(port, token, app, connection)
            result = phase(args, cases, measure, today)
    data = {**load, **asdict(params)}
    return {"data": data, "structure": structure, **result, "errors": cases.errors}
