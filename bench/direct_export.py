"""The direct Excel limit: as many Excel exports of every event as there are web workers, with
the limit and without it, and what /healthz sees meanwhile.

    .venv/bin/python bench/direct_export.py [--rows 300000] [--workers 2] [--port 8094]

Generates ``--rows`` events (as bench/reports.py does) in ``analytics_bench_direct_export`` and
serves the app with the production gunicorn config and ``--workers`` sync workers, twice: with
the default ``EXPORT_DIRECT_XLSX_ROWS``, and with the limit lifted past ``--rows`` (the code
before the limit, the baseline). Each time it sends one ``GET /reports/events?format=xlsx`` of
every event per worker, all at once, while asking ``/healthz`` every 0.1 s, and then times one
direct Excel export of the newest days that fit within the limit. The last line printed is one
JSON object.
"""

import argparse
import json
import os
import secrets
import sys
import threading
import time
from datetime import UTC, datetime

import requests
from _client import get, read_token, summary
from _reports_data import Params, ensure_events, today_utc
from _services import (
    READ_SETTINGS,
    RESULTS,
    Database,
    app_environment,
    gunicorn,
    stop_on_signals,
)

DATABASE = "analytics_bench_direct_export"
EXPORT = "/api/analytics/reports/events?format=xlsx"
HEALTHZ = "/api/analytics/healthz"
DEFAULT_LIMIT = 20_000  # EXPORT_DIRECT_XLSX_ROWS's default


def within_limit(database, limit):
    """The newest whole UTC days holding at most ``limit`` events: ``(start, end, rows)``."""
    with database.connect() as connection:
        days = connection.execute(
            "SELECT (ts AT TIME ZONE 'UTC')::date AS day, count(*) FROM events"
            " GROUP BY day ORDER BY day DESC"
        ).fetchall()
    start, end, rows = None, days[0][0], 0
    for day, count in days:
        if rows + count > limit:
            break
        start, rows = day, rows + count
    return start, end, rows


def excel(port, token, path):
    """GET an Excel export (its body comes chunked: requests decodes it); its figures."""
    began = time.perf_counter()
    answer = requests.get(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=600
    )
    seconds = round(time.perf_counter() - began, 2)
    return {"status": answer.status_code, "seconds": seconds, "bytes": len(answer.content)}


def exports_at_once(port, token, how_many):
    """Send ``how_many`` Excel exports of every event at once; time /healthz meanwhile."""
    answers = []

    def export():
        answers.append(excel(port, token, EXPORT))

    threads = [threading.Thread(target=export) for _ in range(how_many)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    health = []
    while any(thread.is_alive() for thread in threads):
        health.append(get(port, HEALTHZ, token, timeout=120)[2])
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    return {
        "exports": answers,
        "wall_seconds": round(time.perf_counter() - began, 2),
        "healthz": {**summary(health), "max_ms": round(max(health) * 1e3, 1)},
    }


def measure(env, port, token, workers, span):
    """One server's figures: idle /healthz, the exports at once, one export within the limit."""
    log = RESULTS / f"gunicorn-direct-export-{port}.log"
    options = ["-c", "python:analytics_app.gunicorn_conf"]
    with gunicorn(env, log, port, workers, options=options):
        idle = [get(port, HEALTHZ, token)[2] for _ in range(20)]
        at_once = exports_at_once(port, token, workers)
        start, end, rows = span
        within = excel(port, token, f"{EXPORT}&start={start}&end={end}&tz=UTC")
    return {"healthz_idle": summary(idle), **at_once, "within_limit": {"rows": rows, **within}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="events to generate")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--port", type=int, default=8094, help="the servers': this and the next")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    stop_on_signals()

    started, load_before = datetime.now(UTC), round(os.getloadavg()[0], 2)
    database = Database(args.postgres, DATABASE)
    secret = secrets.token_urlsafe(48)
    env = app_environment(database.url, secret, **READ_SETTINGS, WEB_CONCURRENCY=str(args.workers))
    token = read_token(secret)
    result = {}
    try:
        params = Params(args.rows, args.users, args.days, 5, today_utc().isoformat())
        result["data"] = ensure_events(database, env, params)
        span = within_limit(database, DEFAULT_LIMIT)
        limits = (("limited", DEFAULT_LIMIT), ("unlimited", args.rows))
        for port, (name, limit) in enumerate(limits, args.port):
            server_env = {**env, "EXPORT_DIRECT_XLSX_ROWS": str(limit)}
            result[name] = measure(server_env, port, token, args.workers, span)
            print(name, json.dumps(result[name]), flush=True)
    finally:
        if not args.keep:
            database.drop()
    ok = all(answer["status"] == 413 for answer in result["limited"]["exports"]) and all(
        answer["status"] == 200 for answer in result["unlimited"]["exports"]
    )
    print(
        json.dumps(
            {
                "date": started.isoformat(timespec="seconds"),
                "rows": args.rows,
                "workers": args.workers,
                "load_average": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
                **result,
                "ok": ok,
            },
            default=str,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
