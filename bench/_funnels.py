"""Funnel and breakdown latency (issue 13), run by ``reports.py --funnels``.

On the reports bench's data (10 M events, 200 k users, 90 days), served by gunicorn (one sync
worker, report cache off), it times over HTTP a 3-step funnel over the last 30 finished days
with one payload condition, breakdowns by a payload key over 30 days and by type over 90,
each beside PostgreSQL's own time for the plainest query that counts the same thing: the
step events grouped per user (what any exact funnel has to read), and a ``GROUP BY`` with
``count(DISTINCT user_id)``. Each HTTP answer is checked against an independent computation.
"""

import json
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from _client import get
from _reports_data import Params, ensure_events, today_utc
from _services import RESULTS, free_port, gunicorn

FUNNEL_STEPS = ("page_view", "page_view[page=/pricing]", "button_click")
TARGETS = {
    "funnel_30d_ms": 2000.0,  # HTTP median, under
    "breakdown_payload_30d_ms": 2000.0,
    "breakdown_type_90d_ms": 50.0,
}
# The funnel's events grouped per user, in PostgreSQL alone (no ordering rules applied). The
# arrays are counted: left unused, PostgreSQL would not build them at all.
FUNNEL_SQL = """
SELECT count(*), sum(cardinality(steps)) FROM (
  SELECT user_id, array_agg(ts) AS steps
  FROM events
  WHERE ts >= %(lo)s AND ts < %(hi)s + interval '1 day'
    AND (type = 'page_view' OR type = 'button_click')
  GROUP BY user_id
  HAVING bool_or(type = 'page_view' AND ts < %(hi)s)
) per_user
"""
# Users with events of each step in the range, without order or window: a floor.
STEP_USERS_SQL = """
SELECT count(DISTINCT user_id) FILTER (WHERE type = 'page_view'),
       count(DISTINCT user_id) FILTER (WHERE type = 'page_view' AND payload->>'page' = '/pricing'),
       count(DISTINCT user_id) FILTER (WHERE type = 'button_click')
FROM events WHERE ts >= %(lo)s AND ts < %(hi)s
"""
BREAKDOWN_SQL = """
SELECT {value}, count(*), count(DISTINCT user_id) FROM events
WHERE ts >= %(lo)s AND ts < %(hi)s GROUP BY 1 ORDER BY 2 DESC
"""


def _span(first, last):
    lo = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    return lo, datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _http(cases, path, params):
    query = urlencode(params, doseq=True)

    def call():
        status, body, seconds = get(
            cases.port, f"/api/analytics/reports/{path}?{query}", cases.token
        )
        if status != 200:
            cases.errors.append(f"GET {path}?{query}: HTTP {status} {body[:200]!r}")
            return seconds, None
        return seconds, json.loads(body)

    return call


def _sql(cases, sql, params):
    def call():
        began = time.perf_counter()
        rows = cases.connection.execute(sql, params).fetchall()
        return time.perf_counter() - began, rows

    return call


def time_breakdown(cases, measure, label, repeat, params, sql, span):
    """Time a breakdown over HTTP beside ``sql`` in PostgreSQL; return its figure and whether
    every listed value but "other" has PostgreSQL's events and users."""
    figure, values = measure(
        label,
        repeat,
        1,
        http=_http(cases, "breakdown", params),
        bare=_sql(cases, sql, span),
    )
    top = {row[0]: (row[1], row[2]) for row in values["bare"]}
    equal = bool(values["http"]) and all(
        top.get(row["value"]) == (row["events"], row["users"])
        for row in values["http"]["rows"]
        if row["value"] != "other"
    )
    return figure, equal


def phase(args, cases, measure, today):
    """Every funnel and breakdown measurement: ``{figures, checks}``."""
    yesterday = today - timedelta(days=1)
    month, quarter = (
        (yesterday - timedelta(days=29), yesterday),
        (
            today - timedelta(days=args.days - 1),
            today,
        ),
    )
    lo, hi = _span(*month)
    repeat, warmup = args.funnel_repeat, 1
    figures, checks = {}, {}
    funnel, values = measure(
        "funnel, 3 steps, 30 days",
        repeat,
        warmup,
        http=_http(
            cases,
            "funnel",
            {"step": FUNNEL_STEPS, "start": month[0], "end": month[1], "tz": "UTC"},
        ),
        bare_grouped=_sql(cases, FUNNEL_SQL, {"lo": lo, "hi": hi}),
        bare_step_users=_sql(cases, STEP_USERS_SQL, {"lo": lo, "hi": hi}),
    )
    figures["funnel_30d"] = funnel
    steps = values["http"]["steps"]
    [(users, *_)] = values["bare_step_users"]
    [(starters, _)] = values["bare_grouped"]
    checks["funnel_first_step_equals_bare"] = steps[0]["users"] == users == starters
    checks["funnel_narrows"] = steps[0]["users"] >= steps[1]["users"] >= steps[2]["users"]
    print(f"  funnel users per step: {[s['users'] for s in steps]}", flush=True)
    cases_by = {
        "breakdown_payload_30d": ("payload.page", month, "payload->>'page'"),
        "breakdown_type_90d": ("type", quarter, "type"),
    }
    if args.funnel_only:
        cases_by = {}
    for name, (by, (first, last), value) in cases_by.items():
        span = dict(zip(("lo", "hi"), _span(first, last), strict=True))
        figures[name], checks[f"{name}_equals_bare"] = time_breakdown(
            cases,
            measure,
            f"breakdown by {by}, {(last - first).days + 1} days",
            repeat,
            {"by": by, "start": first, "end": last, "tz": "UTC"},
            BREAKDOWN_SQL.format(value=value),
            span,
        )
    return {"figures": figures, "checks": checks}


def verdicts(result):
    figures = result["figures"]
    measured = {
        f"{name}_ms": figures[name]["http"]["median_ms"]
        for name in ("funnel_30d", "breakdown_payload_30d", "breakdown_type_90d")
        if name in figures  # --funnel-only times the funnel alone
    }
    met = {name: measured[name] < TARGETS[name] for name in measured}
    return measured, met


LABELS = {
    "funnel_30d_ms": ("3-step funnel over 30 days, HTTP median < 2 s", " ms"),
    "breakdown_payload_30d_ms": ("breakdown by payload key over 30 days, HTTP median < 2 s", " ms"),
    "breakdown_type_90d_ms": ("breakdown by type over 90 days, HTTP median < 50 ms", " ms"),
}


FUNNEL_TABLES = ("funnel_days", "funnel_kinds", "funnel_covers")


def prepare_rollup(app, connection, module, tables):
    """Roll up what is missing (REPORT_TIMEZONE is UTC: one zone), as the worker would; return
    the rollup's time and what the structure ``analytics_app.rollup.<module>`` costs: one
    finished day's rows recomputed by its ``store`` (median of 3), and ``tables``' rows and
    disk."""
    from importlib import import_module

    from analytics_app.extensions import db
    from analytics_app.reports.periods import zone
    from analytics_app.rollup.run import roll_up

    structure = import_module(f"analytics_app.rollup.{module}")
    with app.app_context():
        began = time.perf_counter()
        days = roll_up(["UTC"])
        seconds = time.perf_counter() - began
        print(f"rollup brought up to date: {days} day(s) in {seconds:.1f} s", flush=True)
        yesterday = today_utc() - timedelta(days=1)
        times = []
        for _ in range(3):
            began = time.perf_counter()
            structure.store([yesterday], zone("UTC"))
            db.session.commit()
            times.append(time.perf_counter() - began)
    one_day = sorted(times)[1]
    print(f"one day's {module} rows recomputed: {one_day * 1e3:.0f} ms", flush=True)
    sizes = {}
    for table in tables:
        size = connection.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()[0]
        rows = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        sizes[table] = {"bytes": size, "rows": rows}
        print(f"{table:<17} {size / 2**20:9.1f} MiB, {rows:,} rows", flush=True)
    return {
        "rollup_days": days,
        "rollup_seconds": round(seconds, 1),
        f"one_day_{module}_seconds": round(one_day, 3),
        "tables": sizes,
    }


def run(args, database, env, token, cases_class, measure):
    """Make or reuse the data, serve it, and time every case; return the JSON-able result."""
    from _breakdowns import prepare  # it imports this module's cases

    from analytics_app import create_app

    today = today_utc()
    params = Params(args.events, args.users, args.days, args.seed, today.isoformat())
    load = ensure_events(database, env, params, args.regenerate)
    app = create_app(env)
    with database.connect(autocommit=True) as connection:
        if args.funnel_only:  # the funnel reads the rollups too
            load["rollup"] = prepare_rollup(app, connection, "funnels", FUNNEL_TABLES)
        else:
            load["rollup"] = prepare(app, connection)
        port, log = free_port(), RESULTS / "gunicorn-funnels.log"
        with gunicorn(env, log, port, options=["-k", "sync", "--timeout", "1800"]):
            cases = cases_class(port, token, app, connection)
            result = phase(args, cases, measure, today)
    return {"data": {**load, **asdict(params)}, **result, "errors": cases.errors}
