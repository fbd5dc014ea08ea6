"""What the bench runs against: its own database, and gunicorn processes it starts and stops."""

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = Path(__file__).resolve().parent / "results"
# The only database the bench creates, empties or drops.
DATABASE = "analytics_bench"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Database:
    """The dedicated bench database on a PostgreSQL server given as ``postgresql://…:port``."""

    def __init__(self, server_url):
        self.server_url = server_url.rstrip("/")
        self.url = f"{self.server_url}/{DATABASE}"

    def _admin(self, statement):
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def recreate(self):
        self.drop()
        self._admin(f"CREATE DATABASE {DATABASE}")

    def drop(self):
        self._admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    def reset(self):
        """Empty every table but Alembic's and checkpoint, so every phase starts alike.

        Every table, not a list: ingest writes more than ``events`` (the audit trail, and
        whatever the app adds), and the list would go stale as the schema grows.
        """
        with psycopg.connect(self.url, autocommit=True) as connection:
            tables = connection.execute(
                "SELECT format('%I', tablename) FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).fetchall()
            names = ", ".join(name for (name,) in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY")
            connection.execute("CHECKPOINT")

    def count_events(self):
        with psycopg.connect(self.url) as connection:
            return connection.execute("SELECT count(*) FROM events").fetchone()[0]

    def backend_pids(self):
        """Return the server processes of every other session open on the bench database."""
        with psycopg.connect(self.url) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [pid for (pid,) in rows]


def app_environment(database_url, redis_url, secret):
    """Return the environment both apps run with: production mode, no effective rate limit."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLASK_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET_KEY=secret,
        APP_ENV="production",
        RATE_LIMIT_PER_MINUTE="100000000",
    )
    return env


def migrate(env):
    """Create the schema with the app's own migrations (the real table and its indexes)."""
    done = subprocess.run(
        [BIN / "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stderr[-2000:]}")


def port_in_use(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def gunicorn(app_spec, workers, port, env, log_path, options=()):
    """Serve ``app_spec`` with ``workers`` sync workers; stop the whole process group on exit."""
    log_path.parent.mkdir(exist_ok=True)
    # No control socket: gunicorn 27 otherwise shares ~/.gunicorn/gunicorn.ctl between servers.
    command = [BIN / "gunicorn", "--no-control-socket", "-w", str(workers), *options]
    command += ["-b", f"127.0.0.1:{port}", app_spec]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_listening(server, port, log_path)
        yield server
    finally:
        stop(server)


def _wait_listening(server, port, log_path, timeout=30):
    deadline = time.monotonic() + timeout
    while not port_in_use(port):
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
