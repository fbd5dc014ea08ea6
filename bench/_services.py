"""What every bench runs against: its own database, the app's environment, and gunicorn
processes it starts and stops.

gunicorn runs in its own process group, so stopping it (TERM, then KILL) takes its workers
with it on every exit path; ``stop_on_signals`` makes Ctrl-C and TERM take those paths.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = Path(__file__).resolve().parent / "results"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The app settings of the benches that time reads: results computed, not cached; report days
# in UTC, as the generated data is; warnings only in the logs.
READ_SETTINGS = {"REPORT_CACHE_SECONDS": "0", "REPORT_TIMEZONE": "UTC", "LOG_LEVEL": "WARNING"}


def stop_on_signals():
    """Let Ctrl-C and TERM unwind through the ``finally`` blocks that stop what we started,
    even when the shell started us with SIGINT ignored (a background job)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


class Database:
    """One dedicated bench database (the only one its bench creates, fills, empties or drops)
    on a PostgreSQL server given as ``postgresql://…:port``."""

    def __init__(self, server_url, name):
        self.server_url = server_url.rstrip("/")
        self.name = name
        self.url = f"{self.server_url}/{name}"

    def _admin(self, statement, params=None):
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def exists(self):
        return bool(self._admin("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,)))

    def create(self):
        self._admin(f"CREATE DATABASE {self.name}")

    def drop(self):
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def recreate(self):
        self.drop()
        self.create()

    def connect(self, **kwargs):
        return psycopg.connect(self.url, **kwargs)

    def reset(self):
        """Empty every table but Alembic's and checkpoint, so every phase starts alike.

        Every table, not a list: ingest writes more than ``events`` (the audit trail, and
        whatever the app adds), and the list would go stale as the schema grows.
        """
        with self.connect(autocommit=True) as connection:
            tables = connection.execute(
                "SELECT format('%I', tablename) FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).fetchall()
            names = ", ".join(name for (name,) in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY")
            connection.execute("CHECKPOINT")

    def count_events(self):
        with self.connect() as connection:
            return connection.execute("SELECT count(*) FROM events").fetchone()[0]

    def backend_pids(self):
        """Return the server processes of every other session open on the bench database."""
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [pid for (pid,) in rows]


def app_environment(database_url, secret, redis_url="", **settings):
    """The app's environment: production mode, no effective rate limit, ``settings`` on top.

    ``redis_url`` empty, not absent, means no Redis: ``create_app(env)`` overlays ``env`` on
    the process environment.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLASK_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET_KEY=secret,
        APP_ENV="production",
        RATE_LIMIT_PER_MINUTE="100000000",
        **settings,
    )
    return env


def migrate(env, partitions_from=None):
    """Create the schema with the app's own migrations (the real table and its indexes), and
    the day partitions of events the worker would have made (from ``partitions_from``, a date,
    when given)."""
    since = ["--from", partitions_from.isoformat()] if partitions_from else []
    for command in (["db", "upgrade"], ["analytics", "partitions", *since]):
        done = subprocess.run(
            [BIN / "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stderr[-2000:]}")


def port_in_use(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env, log_path, port, workers=1, app_spec="wsgi:app", options=()):
    """Serve ``app_spec`` with ``workers`` sync workers on ``port`` until every worker is up;
    stop the whole process group on exit."""
    log_path.parent.mkdir(exist_ok=True)
    # No control socket: gunicorn 27 otherwise shares ~/.gunicorn/gunicorn.ctl between servers.
    command = [BIN / "gunicorn", "--no-control-socket", "-w", str(workers), *options]
    command += ["-b", f"127.0.0.1:{port}", app_spec]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_listening(server, port, workers, log_path)
        yield server
    finally:
        stop(server)


@contextmanager
def huey_worker(env, log_path, threads=1):
    """Run the Huey consumer (queued tasks and the periodic rollup) as production does, in
    its own process group; stop it on exit."""
    log_path.parent.mkdir(exist_ok=True)
    command = [BIN / "flask", "--app", "wsgi", "analytics", "worker", "--workers", str(threads)]
    with log_path.open("wb") as log:
        consumer = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        time.sleep(1)
        if consumer.poll() is not None:
            raise RuntimeError(f"the worker did not start; see {log_path}")
        yield consumer
    finally:
        stop(consumer)


def rss_mib(pid):
    """Return a process's resident set size in MiB (None once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def _wait_listening(server, port, workers, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while not (port_in_use(port) and len(worker_pids(server)) >= workers):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start; see {log_path}")
        time.sleep(0.1)


def stop(server):
    """Stop a server started in its own process group: TERM, then KILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    finally:  # also on a second Ctrl-C while waiting
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def worker_pids(server):
    """Return the pids of a gunicorn master's workers (none once it has exited)."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(pid) for pid in children.split()]


def cpu_seconds(pids):
    """Return the user + system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            continue
        fields = stat.rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _CLOCK_TICKS
