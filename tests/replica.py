"""A PostgreSQL primary and its streaming replica, each a postmaster of its own, for tests.

The primary is a fresh cluster (``initdb``) rather than the shared test server, so the
replica's base backup (``pg_basebackup -R``) copies a few megabytes and needs no change to that
server's ``pg_hba.conf``; replication itself is PostgreSQL's own, as in production. Debian's
server binaries are used (``/usr/lib/postgresql/<version>/bin``, or ``PG_BINDIR``); run as
root, the clusters belong to the ``postgres`` user.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from glob import glob
from pathlib import Path

import psycopg


def _bindir():
    found = os.environ.get("PG_BINDIR") or next(
        iter(sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[-1:]),
        None,
    )
    return Path(found) if found and (Path(found) / "pg_basebackup").exists() else None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamingPair:
    """``start()`` a primary and a hot-standby replica streaming from it; ``stop()`` both."""

    def __init__(self):
        self.bindir = _bindir()
        self.root = None
        self.ports = {"primary": _free_port(), "replica": _free_port()}

    @property
    def available(self):
        return self.bindir is not None

    def url(self, which, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.ports[which]}/{database}"

    def _run(self, *command):
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_owner, *command], check=True, capture_output=True, text=True, timeout=120
        )

    def _start(self, which):
        data = self.root / which
        options = (
            f"-p {self.ports[which]} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.root} -c fsync=off -c max_connections=40"
        )
        log = self.root / f"{which}.log"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-o",
            options,
            "start",
        )

    def start(self):
        self.root = Path(tempfile.mkdtemp(prefix="analytics-replica-", dir="/tmp"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        primary, replica = self.root / "primary", self.root / "replica"
        self._run(
            str(self.bindir / "initdb"), "-D", str(primary), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        self._start("primary")
        self._run(
            str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.ports["primary"]),
            "-U", "postgres", "-D", str(replica), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self._start("replica")
        return self

    def stop(self):
        for which in ("replica", "primary"):
            data = self.root / which
            if (data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def execute(self, which, sql, database="postgres"):
        """Run one statement on ``which`` server; return its rows (or None)."""
        with psycopg.connect(self.url(which, database), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else None
