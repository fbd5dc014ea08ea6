"""Ingest benchmark: our app against PostgreSQL's own COPY ceiling and the seed's naive pipeline.

Run from the repository root: ``.venv/bin/python bench/ingest.py`` (see bench/README.md).
Prints one line per phase, the targets, then a JSON object with every figure as the last line.
Exits 1 when a phase lost events or had errors, 0 otherwise (missed targets included).
"""

import argparse
import json
import os
import platform
import secrets
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median

from _drivers import CopySession, HttpSession, Run, drive
from _services import (
    RESULTS,
    Database,
    app_environment,
    cpu_seconds,
    gunicorn,
    migrate,
    port_in_use,
    stop_on_signals,
    worker_pids,
)
from _workload import chunks, copy_ids, copy_text, http_request, make_events, make_token

# The only database this bench creates, empties or drops.
DATABASE = "analytics_bench"
BATCH_SIZE = 1000
# (figure, numerator phase, denominator phase, minimum ratio)
TARGETS = (
    ("batch_vs_ceiling", "http_batch", "copy_ceiling", 0.75),
    ("batch_vs_naive", "http_batch", "naive_batch", 6.0),
    ("single_vs_naive", "http_single", "naive_single", 2.0),
)
APPS = {"http": "wsgi:app", "naive": "bench.naive_app:app"}
# (key, label, app or None for COPY, jobs, events per job, unit), in run order: the two
# phases of each ratio run back to back.
PHASES = (
    ("copy_ceiling", "copy ceiling", None, "copy", BATCH_SIZE, "rows"),
    ("http_batch", "our app batch", "http", "batch", BATCH_SIZE, "events"),
    ("naive_batch", "naive app batch", "naive", "batch", BATCH_SIZE, "events"),
    ("http_single", "our app single", "http", "single", 1, "req"),
    ("naive_single", "naive app single", "naive", "single", 1, "req"),
)


@dataclass
class Workload:
    """Every request's events, built before any clock starts; each phase sends the same ones."""

    batches: list
    singles: list
    warmup: list

    @classmethod
    def build(cls, batches, singles, workers):
        return cls(
            batches=chunks(make_events(batches * BATCH_SIZE, seed=1), BATCH_SIZE),
            singles=[[event] for event in make_events(singles, seed=2)],
            # Enough requests for every worker to load the app and open its connections.
            warmup=chunks(make_events(2 * workers * BATCH_SIZE, seed=3), BATCH_SIZE)
            + [[event] for event in make_events(20 * workers, seed=4)],
        )


@dataclass
class Phase:
    """One timed phase: the run, what the table holds after it, and the CPU it cost."""

    label: str
    unit: str
    run: Run
    events_per_job: int
    stored: int
    app_cpu_seconds: float | None  # None: no app in the path (COPY)
    db_cpu_seconds: float

    @property
    def events(self):
        return self.run.jobs * self.events_per_job

    @property
    def errors(self):
        return sum(self.run.errors.values())

    @property
    def rate(self):
        """Events (or requests) per second; failed requests do not count."""
        return (self.run.jobs - self.errors) * self.events_per_job / self.run.seconds

    @property
    def complete(self):
        return not self.run.errors and self.stored == self.events

    def cpu_per_event(self):
        """Return (app, db) CPU microseconds per event; app is None without an app."""
        app = None if self.app_cpu_seconds is None else self.app_cpu_seconds * 1e6 / self.events
        return app, self.db_cpu_seconds * 1e6 / self.events

    def line(self):
        run = self.run
        app_cpu, db_cpu = self.cpu_per_event()
        errors = f"errors {self.errors}" + (f" {dict(run.errors)}" if run.errors else "")
        stored = f"stored {self.stored}/{self.events} {'ok' if self.complete else 'MISMATCH'}"
        return (
            f"{self.label:<20} {self.rate:>7,.0f} {self.unit + '/s':<9}"
            f" {run.jobs} requests in {run.seconds:.2f} s, p50 {run.percentile(0.5) * 1e3:.1f} ms,"
            f" p99 {run.percentile(0.99) * 1e3:.1f} ms; {errors}; {stored};"
            f" CPU µs/event app {'n/a' if app_cpu is None else f'{app_cpu:.1f}'}, db {db_cpu:.1f};"
            f" client {100 * run.client_cpu_seconds / run.seconds:.0f}% of a core"
        )

    def as_json(self):
        app_cpu, db_cpu = self.cpu_per_event()
        return {
            "rate": round(self.rate, 1),
            "requests": self.run.jobs,
            "seconds": round(self.run.seconds, 3),
            "p50_ms": round(self.run.percentile(0.5) * 1e3, 2),
            "p99_ms": round(self.run.percentile(0.99) * 1e3, 2),
            "errors": self.errors,
            "stored": self.stored,
            "expected": self.events,
            "app_cpu_us_per_event": None if app_cpu is None else round(app_cpu, 1),
            "db_cpu_us_per_event": round(db_cpu, 1),
            "client_cpu_share": round(self.run.client_cpu_seconds / self.run.seconds, 3),
        }


def measure(database, label, unit, jobs, sessions, events_per_job, app_pids=None):
    """Empty the tables, run the jobs, then count what was stored.

    CPU time is read from /proc for the app's workers and for the database sessions serving
    them (not the WAL writer or checkpointer): it shows where the work goes, which throughput
    alone cannot on a machine shared with other load (contention inflates it too, less).
    """
    database.reset()
    db_pids = database.backend_pids()
    app_cpu, db_cpu = cpu_seconds(app_pids or ()), cpu_seconds(db_pids)
    try:
        run = drive(jobs, sessions)
    finally:
        for session in sessions:
            session.close()
    db_cpu = cpu_seconds(db_pids) - db_cpu
    app_cpu = None if app_pids is None else cpu_seconds(app_pids) - app_cpu
    phase = Phase(label, unit, run, events_per_job, database.count_events(), app_cpu, db_cpu)
    print(phase.line(), flush=True)
    return phase


def run_phases(database, args, env, workload):
    """Serve both apps at once and run every phase ``args.rounds`` times, in PHASES order.

    Both apps stay up (an idle sync worker costs nothing), so the two sides of each ratio run
    back to back and drifting background load on a shared machine skews them alike.
    """
    token = make_token(env["JWT_SECRET_KEY"])
    jobs = {
        "copy": [(copy_ids(events), copy_text(events)) for events in workload.batches],
        "batch": [http_request(token, events) for events in workload.batches],
        "single": [http_request(token, events) for events in workload.singles],
    }
    warmup = [http_request(token, events) for events in workload.warmup]
    results = {key: [] for key, *_ in PHASES}
    with ExitStack() as stack:
        servers = {}
        for offset, (app, spec) in enumerate(APPS.items()):
            port, log = args.port + offset, RESULTS / f"gunicorn-{app}.log"
            server = stack.enter_context(gunicorn(env, log, port, args.workers, spec))
            database.reset()  # the naive app answers 500 to events stored already
            warm = drive(warmup, [HttpSession(port) for _ in range(args.concurrency)])
            if warm.errors:
                raise RuntimeError(f"{spec} failed its warm-up ({dict(warm.errors)}); see {log}")
            servers[app] = port, worker_pids(server)
        for round_ in range(1, args.rounds + 1):
            prefix = f"[{round_}] " if args.rounds > 1 else ""
            for key, label, app, kind, per_job, unit in PHASES:
                if app is None:
                    sessions = [CopySession(database.url) for _ in range(args.concurrency)]
                    pids = None
                else:
                    port, pids = servers[app]
                    sessions = [HttpSession(port) for _ in range(args.concurrency)]
                phase = measure(database, prefix + label, unit, jobs[kind], sessions, per_job, pids)
                results[key].append(phase)
    return results


def summary(results, args, load_before):
    """Print the targets and return the JSON report: each figure the median over the rounds."""
    rates = {key: median(phase.rate for phase in phases) for key, phases in results.items()}
    report = {
        "copy_ceiling_rows_s": round(rates["copy_ceiling"], 1),
        "http_batch_events_s": round(rates["http_batch"], 1),
        "naive_batch_events_s": round(rates["naive_batch"], 1),
        "http_single_req_s": round(rates["http_single"], 1),
        "naive_single_req_s": round(rates["naive_single"], 1),
    }
    met = {}
    print(f"\nload average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    for figure, numerator, denominator, minimum in TARGETS:
        ratio = rates[numerator] / rates[denominator]
        report[figure] = round(ratio, 3)
        met[figure] = ratio >= minimum
        verdict = "met" if met[figure] else "MISSED"
        print(f"target {figure:<17} {ratio:6.2f}  (>= {minimum:g})  {verdict}")
    phases = [phase for key in results for phase in results[key]]
    report.update(
        targets={figure: minimum for figure, _, _, minimum in TARGETS},
        targets_met=met,
        all_targets_met=all(met.values()),
        errors={key: sum(phase.errors for phase in results[key]) for key in results},
        all_stored=all(phase.complete for phase in phases),
        concurrency=args.concurrency,
        workers=args.workers,
        batches=args.batches,
        batch_size=BATCH_SIZE,
        singles=args.singles,
        rounds=args.rounds,
        cpus=os.cpu_count(),
        load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        phases={key: [phase.as_json() for phase in results[key]] for key in results},
    )
    return report


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=4, help="clients and COPY sessions")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers per app")
    parser.add_argument("--batches", type=int, default=300, help="1000-event batches per phase")
    parser.add_argument("--singles", type=int, default=4000, help="single-event requests")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every phase; report medians")
    parser.add_argument("--port", type=int, default=8765, help="our app's port; naive: port + 1")
    parser.add_argument("--keep", action="store_true", help="keep the analytics_bench database")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    stop_on_signals()
    for port in (args.port, args.port + 1):
        if port_in_use(port):
            sys.exit(f"port {port} is in use; pick another with --port")
    load_before = os.getloadavg()[0]
    print(
        f"ingest bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs"
        f" ({platform.machine()}), concurrency {args.concurrency}, gunicorn -w {args.workers}"
        f" sync, {args.batches} batches of {BATCH_SIZE} events, {args.singles} single-event"
        f" requests, {args.rounds} round(s), load average {load_before:.2f}",
        flush=True,
    )
    workload = Workload.build(args.batches, args.singles, args.workers)
    database = Database(args.postgres, DATABASE)
    database.recreate()
    try:
        env = app_environment(database.url, secrets.token_urlsafe(48), args.redis)
        migrate(env)
        results = run_phases(database, args, env, workload)
    finally:
        if not args.keep:
            database.drop()
    report = summary(results, args, load_before)
    print(json.dumps(report))
    return 0 if report["all_stored"] else 1


if __name__ == "__main__":
    sys.exit(main())
