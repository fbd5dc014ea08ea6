"""Throwaway servers for fault tests: a PostgreSQL cluster and a Redis of their own.

Each lives in a temporary folder on its own port, so stopping it disturbs nothing else on the
machine. PostgreSQL refuses to run as root, so as root the cluster runs as ``postgres``.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin(name):
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        raise FileNotFoundError(f"{name} (PostgreSQL server binaries) not found")
    return found


class ThrowawayPostgres:
    """``initdb`` into a temporary folder, ``pg_ctl start``/``stop`` on a port of its own.

    The folder is made under the system temp dir (not pytest's, which only root may enter).
    """

    def __init__(self):
        folder = tempfile.mkdtemp(prefix="analytics-pg-")
        self.folder = folder
        self.data = os.path.join(folder, "data")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_owner = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        self._run(_postgres_bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust")

    def _run(self, *args):
        subprocess.run([*self._as_owner, *args], check=True, capture_output=True, timeout=60)

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            self.data,
            "-o",
            options,
            "-w",
            "start",
            "-l",
            os.path.join(self.folder, "log"),
        )

    def stop(self):
        self._run(_postgres_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self):
        shutil.rmtree(self.folder, ignore_errors=True)


class ThrowawayRedis:
    """A ``redis-server`` on a port of its own, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
