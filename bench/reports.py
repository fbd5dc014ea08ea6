"""Report benchmark (issues 3 and 17): DAU from rollups and raw events against PostgreSQL's own
query, then every report the dashboard shows and the signed-in overview, from the rollups.

Run from the repository root: ``.venv/bin/python bench/reports.py`` (see bench/README.md).
Generates (or reuses) 10 million events in the database ``analytics_bench_reports``, then
times the DAU report over HTTP (gunicorn, one sync worker) and in-process (the service
functions in an app context), before and after the rollup, beside the bare
``count(DISTINCT user_id)`` query for the same day; times the full rollup and what each stored
structure costs (one day's rollup, disk); then times every report endpoint and the overview
page with its fragments (report cache off). Prints human-readable lines, then one JSON object
with every figure as the last line. Exits 1 when a report answered an error or a wrong count,
0 otherwise (missed targets included).
"""

import argparse
import json
import os
import secrets
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import _breakdowns
import _funnels
import _report_endpoints as endpoints
from _client import finish, get, read_token, summary
from _reports_data import (
    Params,
    add_data_arguments,
    ensure_events,
    parse_data_args,
    today_utc,
)
from _services import (
    READ_SETTINGS,
    RESULTS,
    Database,
    app_environment,
    free_port,
    gunicorn,
    stop_on_signals,
)

DATABASE = "analytics_bench_reports"
DAU_PATH = "/api/analytics/reports/dau"
BARE_SQL = "SELECT count(DISTINCT user_id) FROM events WHERE ts >= %s AND ts < %s"
# The same count through a hash aggregate: count(DISTINCT) sorts, and spills to disk past
# work_mem (4 MB by default) on a 100k-event day. A reference for what the app could reach.
HASHED_SQL = (
    "SELECT count(*) FROM (SELECT DISTINCT user_id FROM events WHERE ts >= %s AND ts < %s) u"
)
# PostgreSQL alone, all finished days' DAU in one query: what a rollup cannot beat by much.
ONE_QUERY_SQL = (
    "SELECT date_trunc('day', ts AT TIME ZONE 'UTC'), count(DISTINCT user_id) FROM events"
    " WHERE ts < %s GROUP BY 1"
)
# Every stored rollup, today's live count and the boundary: as if no rollup had ever run.
FORGET_ROLLUPS = (
    "TRUNCATE metrics, rollup_marks, live_days, live_day_users,"
    " user_days, users_seen, session_days, page_days,"
    " breakdown_bits, breakdown_covers, user_numbers, funnel_days, funnel_covers, funnel_kinds",
    "UPDATE rollup_boundary SET covered_before = NULL",
)
TARGETS = {
    "dau_finished_day_rollup_ms": 10.0,  # HTTP median, under
    "dau_series_90d_rollup_ms": 20.0,  # HTTP median, under
    "today_vs_bare": 1.2,  # HTTP median ÷ bare query median, at most
    "retention_30_cohorts_ms": 500.0,  # HTTP median, under (issue 17, at 10 M events)
    "engagement_30d_ms": 500.0,
    "engagement_90d_ms": 500.0,
    "active_users_90d_ms": 100.0,
    "overview_first_ms": 1500.0,  # the page and every fragment, first load after sign-in
}
ACTIVITY_TABLES = (
    "user_days",
    "users_seen",
    "session_days",
    "page_days",
    "metrics",
    "breakdown_bits",
    "breakdown_covers",
    "user_numbers",
    "events",
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events to generate")
    add_data_arguments(parser, DATABASE, seed=1)
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per fast case")
    parser.add_argument(
        "--report-repeat", type=int, default=10, help="timed calls per report endpoint"
    )
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before each case")
    parser.add_argument(
        "--raw-series-repeat", type=int, default=3, help="timed calls of the raw 90-day series"
    )
    parser.add_argument(
        "--second-zone",
        metavar="ZONE",
        default="",
        help="also time a full rollup for ZONE plus UTC (about twice the 1-zone time)",
    )
    parser.add_argument(
        "--funnels",
        action="store_true",
        help="time the funnel and breakdown reports instead (bench/_funnels.py)",
    )
    parser.add_argument(
        "--breakdowns",
        action="store_true",
        help="time only the breakdown reports, after bringing the rollups up to date"
        " (bench/_breakdowns.py)",
    )
    parser.add_argument(
        "--funnel-repeat", type=int, default=7, help="timed calls per funnel/breakdown case"
    )
    parser.add_argument(
        "--funnel-only",
        action="store_true",
        help="with --funnels, time the funnel alone (skip the breakdowns)",
    )
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    return parse_data_args(parser, argv)


class Cases:
    """The ways of asking for a figure: HTTP, in-process, and bare SQL queries."""

    def __init__(self, port, token, app, connection):
        self.port, self.token, self.app, self.connection = port, token, app, connection
        self.errors = []

    def http(self, query, key):
        """A callable: GET the DAU report, return (seconds, figure at ``key``)."""

        def call():
            status, body, seconds = get(self.port, f"{DAU_PATH}?{query}", self.token)
            if status != 200:
                self.errors.append(f"GET {query}: HTTP {status} {body[:200]!r}")
                return seconds, None
            return seconds, key(json.loads(body))

        return call

    def inprocess(self, function, key):
        """A callable: run a service function in an app context, return (seconds, figure)."""

        def call():
            with self.app.app_context():
                began = time.perf_counter()
                result = function()
                return time.perf_counter() - began, key(result)

        return call

    def bare(self, lo, hi, sql=BARE_SQL):
        """A callable: the bare count(DISTINCT) query (or ``sql``) for [lo, hi)."""

        def call():
            began = time.perf_counter()
            (count,) = self.connection.execute(sql, (lo, hi)).fetchone()
            return time.perf_counter() - began, count

        return call


def measure(label, repeat, warmup, **calls):
    """Time each call ``repeat`` times, interleaved so background load hits all alike.

    Return ``{name: summary}`` and ``{name: last figure}``, and print one line.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    times = {name: [] for name in calls}
    figures = {}
    for _ in range(repeat):
        for name, call in calls.items():
            seconds, figures[name] = call()
            times[name].append(seconds)
    summaries = {name: summary(values) for name, values in times.items()}
    parts = [
        f"{name} median {s['median_ms']:.1f} ms p95 {s['p95_ms']:.1f}"
        for name, s in summaries.items()
    ]
    print(f"{label:<34} {'; '.join(parts)} (n={repeat})", flush=True)
    return summaries, figures


def dau_of(body):
    return body["dau"]


def series_of(body):
    return [point["dau"] for point in body["series"]]


def roll_up(app, zones):
    """Run the app's rollup for ``zones`` from empty metrics; return its figures."""
    from analytics_app.extensions import db
    from analytics_app.rollup.run import roll_up as run_rollup

    with app.app_context():
        for statement in FORGET_ROLLUPS:
            db.session.execute(db.text(statement))
        db.session.commit()
        began = time.perf_counter()
        days = run_rollup(zones)
        seconds = time.perf_counter() - began
    return {"zones": zones, "days": days, "seconds": round(seconds, 1)}


def structure_costs(app, connection, day):
    """Each stored structure's rows and disk (table + indexes), and the time one finished day's
    rollup spends on it (median of 3 reruns of ``day``, in UTC)."""
    from analytics_app.extensions import db
    from analytics_app.reports.periods import day_in, zone
    from analytics_app.rollup import activity, breakdowns
    from analytics_app.rollup.days import compute_days, store_days

    utc = zone("UTC")
    days = [day_in(day, utc)]
    steps = {
        "user_days + users_seen": lambda: activity.store_users("UTC", days),
        "session_days": lambda: activity.store_sessions("UTC", days),
        "page_days": lambda: activity.store_pages("UTC", days),
        "metrics (dau, wau, mau, events, sessions)": lambda: store_days(
            compute_days([day], utc), utc
        ),
        "breakdown_bits (+ blocks)": lambda: breakdowns.store([day], utc),
    }
    seconds = {}
    with app.app_context():
        for name, step in steps.items():
            times = []
            for _ in range(3):
                began = time.perf_counter()
                step()
                db.session.commit()
                times.append(time.perf_counter() - began)
            seconds[name] = round(sorted(times)[1], 3)
        # As a rollup run does after storing days (the reruns above bypass it): the reports
        # timed next count users_seen by index-only scans, which a fresh vacuum keeps cheap.
        activity.vacuum()
    tables = {}
    for table in ACTIVITY_TABLES:
        size = connection.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()[0]
        rows = None
        if table != "events":
            rows = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        tables[table] = {"bytes": size, "rows": rows}
        print(f"{table:<14} {size / 2**20:9.1f} MiB" + (f", {rows:,} rows" if rows else ""))
    for name, value in seconds.items():
        print(f"one day's rollup, {name}: {value * 1e3:.0f} ms", flush=True)
    return {"tables": tables, "one_day_rollup_seconds": seconds}


def run(args, database, env, token):
    """Every measurement; return the JSON-able result."""
    from analytics_app import create_app

    today = today_utc()
    first = today - timedelta(days=args.days - 1)
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    spans = {"today": (midnight, midnight + timedelta(days=1))}
    spans["yesterday"] = (midnight - timedelta(days=1), midnight)
    params = Params(args.events, args.users, args.days, args.seed, today.isoformat())
    load = ensure_events(database, env, params, args.regenerate)
    app = create_app(env)
    result = {"data": {**load, **asdict(params)}}
    with database.connect(autocommit=True) as connection:
        for statement in FORGET_ROLLUPS:  # raw phase: no rollups at all
            connection.execute(statement)
        for day, (lo, hi) in spans.items():
            count = connection.execute(
                "SELECT count(*) FROM events WHERE ts >= %s AND ts < %s", (lo, hi)
            ).fetchone()[0]
            result["data"][f"events_{day}"] = count
        size = connection.execute(  # a partitioned table's size is its partitions'
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('events')"
        ).fetchone()[0]
        result["data"]["table_bytes"] = size
        data = result["data"]
        print(
            f"data: {data['events']:,} events ({'reused' if load['reused'] else 'generated'}),"
            f" {data['users']:,} users, {data['days']} days to {today};"
            f" today {data['events_today']:,} events, yesterday {data['events_yesterday']:,};"
            f" table + indexes {size / 2**30:.2f} GiB",
            flush=True,
        )
        port, log = free_port(), RESULTS / "gunicorn-reports.log"
        with gunicorn(env, log, port, options=["-k", "sync", "--timeout", "1800"]):
            cases = Cases(port, token, app, connection)
            result.update(_phases(args, cases, spans, first, today))
            result["structures"] = structure_costs(app, connection, today - timedelta(days=1))
            endpoints.create_user(app)
            result["endpoints"] = endpoints.time_reports(
                port, token, today, args.report_repeat, args.warmup, cases.errors
            )
            result["overview"] = endpoints.time_overview(port, args.report_repeat, cases.errors)
            result["inprocess"] = endpoints.time_inprocess(
                app, today, args.report_repeat, args.warmup
            )
    if args.second_zone:
        zones = [args.second_zone, "UTC"]
        result["rollup_two_zones"] = roll_up(app, zones)
        print(
            f"rollup, 2 zones ({', '.join(zones)}): {result['rollup_two_zones']['days']} days in"
            f" {result['rollup_two_zones']['seconds']:.1f} s",
            flush=True,
        )
    result["errors"] = cases.errors
    return result


def _phases(args, cases, spans, first, today):
    """Raw phase, rollup, rollup phase; return their figures and checks."""
    from analytics_app.reports import service
    from analytics_app.reports.periods import zone
    from analytics_app.reports.range import ReportRange

    yesterday = today - timedelta(days=1)
    ninety = f"start={first}&end={today}"
    finished = f"start={first}&end={yesterday}"
    http, inprocess, bare = cases.http, cases.inprocess, cases.bare

    def dau(day):
        return lambda: service.dau(ReportRange(zone("UTC"), day, day))

    def dau_series(start, end):
        return lambda: service.dau_series(ReportRange(zone("UTC"), start, end))

    figures, checks = {}, {}
    # 1. Raw events: no rollups stored yet, so every day is counted from events.
    raw_day, values = measure(
        "dau finished day, raw events",
        args.repeat,
        args.warmup,
        http=http(f"date={yesterday}", dau_of),
        inprocess=inprocess(dau(yesterday), dau_of),
        bare=bare(*spans["yesterday"]),
    )
    figures["dau_finished_day_raw"] = raw_day
    checks["finished_day_raw_equals_bare"] = values["http"] == values["bare"]
    bare_yesterday = values["bare"]
    raw_series, values = measure(
        "dau 90-day series, raw events",
        args.raw_series_repeat,
        1,
        http=http(ninety, series_of),
        inprocess=inprocess(dau_series(first, today), series_of),
    )
    figures["dau_series_90d_raw"] = raw_series
    raw_values = values["http"]
    # 2. The full rollup (REPORT_TIMEZONE=UTC: one zone), and PostgreSQL's one-query DAU.
    rollup = roll_up(cases.app, ["UTC"])
    print(f"rollup, 1 zone (UTC): {rollup['days']} days in {rollup['seconds']:.1f} s", flush=True)
    # What autovacuum does after a bulk insert (visibility map, statistics), done at once.
    began = time.perf_counter()
    for table in ACTIVITY_TABLES[:-1]:
        cases.connection.execute(f"VACUUM ANALYZE {table}")
    rollup["vacuum_seconds"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    one_query_days = len(cases.connection.execute(ONE_QUERY_SQL, (spans["today"][0],)).fetchall())
    one_query_seconds = time.perf_counter() - began
    print(
        f"one query, DAU of all {one_query_days} finished days (PostgreSQL alone):"
        f" {one_query_seconds:.1f} s",
        flush=True,
    )
    rollup["one_query_dau_seconds"] = round(one_query_seconds, 1)
    # 3. From rollups: finished days read metrics; today reads the live count kept by the
    # rollup plus the users of the events after it.
    rolled_day, values = measure(
        "dau finished day, rollups",
        args.repeat,
        args.warmup,
        http=http(f"date={yesterday}", dau_of),
        inprocess=inprocess(dau(yesterday), dau_of),
    )
    figures["dau_finished_day_rollup"] = rolled_day
    checks["finished_day_rollup_equals_bare"] = values["http"] == bare_yesterday
    rolled_series, values = measure(
        "dau 90-day series, rollups + today",
        args.repeat,
        args.warmup,
        http=http(ninety, series_of),
        inprocess=inprocess(dau_series(first, today), series_of),
    )
    figures["dau_series_90d_rollup"] = rolled_series
    checks["series_rollup_equals_raw"] = values["http"] == raw_values
    finished_series, values = measure(
        f"dau {len(raw_values) - 1}-day series, rollups only",
        args.repeat,
        args.warmup,
        http=http(finished, series_of),
        inprocess=inprocess(dau_series(first, yesterday), series_of),
    )
    figures["dau_series_finished_rollup"] = finished_series
    checks["finished_series_equals_raw"] = values["http"] == raw_values[:-1]
    today_live, values = measure(
        "dau today (live)",
        args.repeat,
        args.warmup,
        http=http(f"date={today}", dau_of),
        inprocess=inprocess(dau(today), dau_of),
        bare=bare(*spans["today"]),
        bare_hashed=bare(*spans["today"], sql=HASHED_SQL),
    )
    figures["dau_today"] = today_live
    checks["today_equals_bare"] = len({*values.values()}) == 1
    return {
        "figures": figures,
        "rollup": rollup,
        "checks": checks,
        "dau": {"today": values["bare"], "yesterday": bare_yesterday},
    }


def verdicts(result):
    """The targets, each with its figure and whether it is met."""
    figures = result["figures"]
    today = figures["dau_today"]
    ratio = today["http"]["median_ms"] / today["bare"]["median_ms"]
    reports = result["endpoints"]
    measured = {
        "dau_finished_day_rollup_ms": figures["dau_finished_day_rollup"]["http"]["median_ms"],
        "dau_series_90d_rollup_ms": figures["dau_series_90d_rollup"]["http"]["median_ms"],
        "today_vs_bare": round(ratio, 3),
        "retention_30_cohorts_ms": reports["retention_30_cohorts"]["median_ms"],
        "engagement_30d_ms": reports["engagement_30d"]["median_ms"],
        "engagement_90d_ms": reports["engagement_90d"]["median_ms"],
        "active_users_90d_ms": reports["active_users_90d"]["median_ms"],
        "overview_first_ms": result["overview"]["first_ms"],
    }
    met = {name: value < TARGETS[name] for name, value in measured.items()}
    met["today_vs_bare"] = measured["today_vs_bare"] <= TARGETS["today_vs_bare"]
    return measured, met


def main(argv=None):
    args = parse_args(argv)
    stop_on_signals()
    load_before = round(os.getloadavg()[0], 2)
    started = datetime.now(UTC)
    print(
        f"reports bench {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average"
        f" {load_before:.2f}; {args.events:,} events, {args.repeat} calls per case, warm",
        flush=True,
    )
    database = Database(args.postgres, args.database)
    secret = secrets.token_urlsafe(48)
    env = app_environment(database.url, secret, **READ_SETTINGS)
    try:
        if args.breakdowns:
            result = _breakdowns.run(args, database, env, read_token(secret), Cases, measure)
        elif args.funnels:
            result = _funnels.run(args, database, env, read_token(secret), Cases, measure)
        else:
            result = run(args, database, env, read_token(secret))
    finally:
        if args.drop:
            database.drop()
    if args.funnels or args.breakdowns:
        bench = _breakdowns if args.breakdowns else _funnels
        measured, met = bench.verdicts(result)
        failed = [name for name, ok in result["checks"].items() if not ok] + result["errors"]
        verdict = {"targets": _funnels.TARGETS, "measured": measured, "targets_met": met}
        settings = {"events": args.events, "users": args.users, "repeat": args.funnel_repeat}
        labels = {key: label for key, label in bench.LABELS.items() if key in measured}
        return finish(started, load_before, settings, result, verdict, labels, failed)
    measured, met = verdicts(result)
    labels = {
        "dau_finished_day_rollup_ms": ("finished day's DAU, rollups, HTTP median < 10 ms", " ms"),
        "dau_series_90d_rollup_ms": ("90-day series, rollups, HTTP median < 20 ms", " ms"),
        "today_vs_bare": ("today's live DAU, HTTP median <= 1.2 x bare query", "x"),
        "retention_30_cohorts_ms": ("retention, 30 cohorts, HTTP median < 500 ms", " ms"),
        "engagement_30d_ms": ("engagement, 30 days, HTTP median < 500 ms", " ms"),
        "engagement_90d_ms": ("engagement, 90 days, HTTP median < 500 ms", " ms"),
        "active_users_90d_ms": ("active users, 90 days, HTTP median < 100 ms", " ms"),
        "overview_first_ms": ("overview + fragments, first load < 1,500 ms", " ms"),
    }
    failed = [name for name, ok in result["checks"].items() if not ok] + result["errors"]
    keys = ("events", "users", "days", "seed", "repeat", "warmup", "raw_series_repeat")
    keys += ("report_repeat",)
    settings = {key: getattr(args, key) for key in keys} | {"second_zone": args.second_zone}
    verdict = {"targets": TARGETS, "measured": measured, "targets_met": met}
    return finish(started, load_before, settings, result, verdict, labels, failed)


if __name__ == "__main__":
    sys.exit(main())
