"""Concurrent load: C sessions (HTTP connections or database sessions) working through jobs.

The HTTP client is a raw socket that sends pre-built request bytes and reads just the status
line and headers: on a 2-core machine every cycle the client spends is taken from the server,
and ``http.client`` took twice the client CPU per request (270 against 135 µs, TCP connect
included). Threads suffice: a request holds the GIL briefly and waits on sockets without it.
"""

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass

import psycopg
from _workload import COPY_COLUMNS

_COPY_SQL = f"COPY events ({', '.join(COPY_COLUMNS)}) FROM STDIN"
_COPY_IDS_SQL = "COPY event_ids (client_id) FROM STDIN"


@dataclass
class Run:
    """What one timed pass over the jobs measured."""

    jobs: int
    seconds: float
    latencies: list
    errors: Counter
    client_cpu_seconds: float

    def percentile(self, fraction):
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def drive(jobs, sessions):
    """Work through ``jobs`` with one thread per session; time from a common start to the last.

    A session is a callable taking a job and returning None, or a label for the failure.
    """
    pending = iter(jobs)
    lock = threading.Lock()
    start = threading.Barrier(len(sessions) + 1)
    stop = threading.Event()  # set on Ctrl-C: take no more jobs
    outcomes = [[] for _ in sessions]

    def work(session, out):
        start.wait()
        while not stop.is_set():
            with lock:
                job = next(pending, None)
            if job is None:
                return
            began = time.perf_counter()
            try:
                error = session(job)
            except (OSError, psycopg.Error) as failure:
                error = type(failure).__name__
            out.append((time.perf_counter() - began, error))

    threads = [
        threading.Thread(target=work, args=pair, daemon=True)
        for pair in zip(sessions, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    start.wait()
    began = time.perf_counter()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()
        raise
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu
    done = [outcome for out in outcomes for outcome in out]
    errors = Counter(error for _, error in done if error is not None)
    return Run(len(done), seconds, [latency for latency, _ in done], errors, cpu)


class HttpSession:
    """One HTTP/1.1 client connection, reopened whenever the server closes it.

    gunicorn's sync workers answer ``Connection: close``, so there every request pays a TCP
    connect (for both apps alike); threaded or async workers keep the connection alive.
    """

    def __init__(self, port):
        self.port = port
        self.sock = None

    def __call__(self, request):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        try:
            sock.sendall(request)
            status, keep_alive = self._read_response(sock)
        except OSError:
            self.close()
            raise
        if not keep_alive:
            self.close()
        return None if status == 200 else f"HTTP {status}"

    @staticmethod
    def _read_response(sock):
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed before the response headers")
            buffer += chunk
        head, _, body = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        length = headers.get("content-length")
        keep_alive = length is not None and headers.get("connection") != "close"
        remaining = int(length) - len(body) if keep_alive else 0
        # Read to the end of the body, or to EOF when the server closes: it then holds the
        # TIME_WAIT, and thousands of short connections cannot exhaust the client's ports.
        while not keep_alive or remaining > 0:
            chunk = sock.recv(65536)
            if not chunk:
                break
            remaining -= len(chunk)
        return status, keep_alive

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class CopySession:
    """One database session loading each job in its own transaction.

    A job is ``(ids, rows)``: the batch's client ids and its events as COPY text. Where the
    schema keeps client ids unique in their own table (PostgreSQL's partitioned ``events``,
    migration 0009), the ids are copied there first, as ingest's COPY path does: the ceiling
    then stores the same rows with the same guarantee as the app, as it did when the guarantee
    was a unique index on ``events`` itself.
    """

    def __init__(self, url):
        self.connection = psycopg.connect(url)
        found = self.connection.execute("SELECT to_regclass('event_ids')").fetchone()[0]
        self.copy_ids = found is not None
        self.connection.commit()

    @property
    def backend_pid(self):
        return self.connection.info.backend_pid

    def __call__(self, job):
        ids, rows = job
        try:
            with self.connection.cursor() as cursor:
                if self.copy_ids:
                    with cursor.copy(_COPY_IDS_SQL) as copy:
                        copy.write(ids)
                with cursor.copy(_COPY_SQL) as copy:
                    copy.write(rows)
            self.connection.commit()
        except psycopg.Error:
            self.connection.rollback()
            raise
        return None

    def close(self):
        self.connection.close()
