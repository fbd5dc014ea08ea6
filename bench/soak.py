"""A soak: bench/load.py's mixed load for half an hour, with the Huey worker running, minute
by minute: throughput, errors, and the resident memory of every gunicorn worker.

    .venv/bin/python bench/soak.py [--minutes 30] [--clients 16] [--workers 4]
                                   [--database analytics_soak] [--redis redis://…/11]

Same app, data and requests as bench/load.py (production gunicorn config, demo data rolled
up, Redis), plus the worker, whose schedule rolls finished days and today's part up every
minute, as in production. Targets, checked at the end: after minute 5 the workers' RSS
grows by less than 10 %; the last 5 minutes' throughput is within 15 % of minutes 5-10; no
errors; every acknowledged event stored. The last line printed is one JSON object.
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import threading
import time
from datetime import UTC, datetime

from _services import (
    RESULTS,
    Database,
    app_environment,
    gunicorn,
    huey_worker,
    migrate,
    rss_mib,
    stop_on_signals,
    worker_pids,
)
from _workload import SDK_AGE
from load import EVENT_AGE_HELP, client, parse_mix, seed_data, token

SAMPLE_SECONDS = 5


class Minutes:
    """Requests, events and errors per minute of the run, shared by the client threads."""

    def __init__(self, started):
        self.started = started
        self.lock = threading.Lock()
        self.rows = {}
        self.events = 0

    def add(self, kind, seconds, error, events):
        minute = int((time.monotonic() - self.started) // 60)
        with self.lock:
            row = self.rows.setdefault(
                minute, {"requests": 0, "reports": 0, "errors": 0, "report": [], "ingest": []}
            )
            row["requests"] += 1
            row["reports"] += kind == "report"
            row["report" if kind == "report" else "ingest"].append(seconds)
            if error:
                row["errors"] += 1
            elif kind != "report":
                self.events += events


def sample_memory(server, consumer, started, until, samples):
    """Every few seconds: each gunicorn worker's RSS and the Huey worker's, by minute."""
    while time.monotonic() < until:
        minute = int((time.monotonic() - started) // 60)
        web = [rss for pid in worker_pids(server) if (rss := rss_mib(pid)) is not None]
        samples.setdefault(minute, []).append((web, rss_mib(consumer.pid)))
        time.sleep(SAMPLE_SECONDS)


def p95(values):
    return round(sorted(values)[int(0.95 * (len(values) - 1))], 2) if values else None


def minute_table(minutes, samples, count):
    """One row per minute: requests/s, reports/s, errors, the 95th percentile of report and
    ingest latency, web workers' RSS, worker RSS."""
    table = []
    empty = {"requests": 0, "reports": 0, "errors": 0, "report": [], "ingest": []}
    for minute in range(count):
        row = minutes.rows.get(minute, empty)
        taken = samples.get(minute) or [([], None)]
        web, consumer = taken[-1]  # the state at the end of the minute
        table.append(
            {
                "minute": minute + 1,
                "req_s": round(row["requests"] / 60, 1),
                "reports_s": round(row["reports"] / 60, 1),
                "errors": row["errors"],
                "report_p95_s": p95(row["report"]),
                "ingest_p95_s": p95(row["ingest"]),
                "rss_mean_mib": round(statistics.mean(web), 1) if web else None,
                "rss_max_mib": round(max(web), 1) if web else None,
                "worker_rss_mib": round(consumer, 1) if consumer else None,
            }
        )
    return table


def verdict(table, acknowledged, stored):
    """The targets, each with its figure."""
    rss = [row["rss_mean_mib"] for row in table]
    rate = [row["req_s"] for row in table]
    growth = (rss[-1] - rss[4]) / rss[4] if len(rss) > 5 else None
    middle = statistics.mean(rate[5:10]) if len(rate) >= 10 else None
    last = statistics.mean(rate[-5:]) if len(rate) >= 15 else None
    change = (last - middle) / middle if middle and last is not None else None
    errors = sum(row["errors"] for row in table)
    return {
        "rss_growth_after_minute_5": round(growth, 3) if growth is not None else None,
        "rss_ok": growth is not None and growth < 0.10,
        "throughput_last_5_vs_minutes_5_10": round(change, 3) if change is not None else None,
        "throughput_ok": change is not None and abs(change) <= 0.15,
        "errors": errors,
        "events_acknowledged": acknowledged,
        "events_stored": stored,
        "events_ok": errors == 0 and acknowledged == stored,
    }


def main():
    stop_on_signals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mix", default="batch=2,single=6,report=2")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--event-age", type=float, default=SDK_AGE, help=EVENT_AGE_HELP)
    parser.add_argument("--port", type=int, default=8096)
    parser.add_argument("--database", default="analytics_soak")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    mix = parse_mix(args.mix)

    database = Database(args.postgres, args.database)
    database.recreate()
    secret = secrets.token_urlsafe(48)
    env = app_environment(
        database.url, secret, args.redis, LOG_LEVEL="WARNING", REPORT_CACHE_SECONDS="30"
    )
    tokens = {
        "ingest": token(secret, "soak-ingest"),
        "read": token(secret, "soak-reader", "analytics:read"),
    }
    try:
        migrate(env)
        seed_data(env)
        production = ["-c", "python:analytics_app.gunicorn_conf"]
        log = RESULTS / "soak-gunicorn.log"
        with (
            huey_worker(env, RESULTS / "soak-worker.log") as consumer,
            gunicorn(env, log, args.port, args.workers, options=production) as server,
        ):
            print(
                f"soak: {args.minutes} min, {args.clients} clients, gunicorn -w {args.workers},"
                f" mix {args.mix}, batches of {args.batch_size}, with the Huey worker;"
                f" load average at start {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            load_started = datetime.now(UTC)
            started = time.monotonic()
            deadline = started + args.minutes * 60
            minutes, samples = Minutes(started), {}
            threads = [
                threading.Thread(
                    target=client,
                    args=(args.port, deadline, mix, args.batch_size, tokens, minutes, n),
                    kwargs={"age": args.event_age},
                )
                for n in range(args.clients)
            ]
            threads.append(
                threading.Thread(
                    target=sample_memory, args=(server, consumer, started, deadline, samples)
                )
            )
            for thread in threads:
                thread.start()
            loads = []
            while any(thread.is_alive() for thread in threads):
                loads.append(os.getloadavg()[0])
                time.sleep(min(60, max(0.1, deadline - time.monotonic())))
            for thread in threads:
                thread.join()
        with database.connect() as connection:
            stored = connection.execute(
                "SELECT count(*) FROM events WHERE created_at >= %s", (load_started,)
            ).fetchone()[0]
    finally:
        database.drop()

    table = minute_table(minutes, samples, args.minutes)
    print(
        "minute  req/s  reports/s  errors  report p95 s  ingest p95 s"
        "  web RSS mean/max MiB  worker RSS MiB"
    )
    for row in table:
        rss = f"{row['rss_mean_mib']!s:>9} / {row['rss_max_mib']!s:<9}"
        print(
            f"{row['minute']:6d} {row['req_s']:6.1f} {row['reports_s']:10.1f} {row['errors']:7d}"
            f"  {row['report_p95_s']!s:>12}  {row['ingest_p95_s']!s:>12}"
            f"  {rss}  {row['worker_rss_mib']!s:>12}"
        )
    figures = verdict(table, minutes.events, stored)
    figures.update(load_average_mean=round(statistics.mean(loads), 2), minutes=table)
    print(
        f"RSS growth after minute 5: {figures['rss_growth_after_minute_5']}; throughput, last 5"
        f" minutes vs minutes 5-10: {figures['throughput_last_5_vs_minutes_5_10']}; errors"
        f" {figures['errors']}; events acknowledged {minutes.events}, stored {stored};"
        f" mean load average {figures['load_average_mean']}"
    )
    print(json.dumps(figures))
    ok = figures["rss_ok"] and figures["throughput_ok"] and figures["events_ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
