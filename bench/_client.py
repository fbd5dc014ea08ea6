"""The bench's client side: tokens, timed GETs over a plain socket, summaries and the closing
JSON line (reports.py and export.py).

Short responses are fetched over a plain socket: the sync worker closes the connection after
each response, so each request pays a TCP connect, as a browser's would.
"""

import json
import math
import os
import socket
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt


def read_token(secret, subject="bench"):
    """An HS256 token with the ``analytics:read`` scope, as any JWT library would make it."""
    claims = {
        "sub": subject,
        "exp": datetime.now(UTC) + timedelta(hours=6),
        "scope": "analytics:read",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _request_bytes(path, token):
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "User-Agent: analytics-bench/1\r\nAccept-Encoding: identity\r\n\r\n"
    ).encode("ascii")


def get(port, path, token, timeout=3600):
    """GET ``path``; return ``(status, body, seconds)``, connect to last byte.

    The body is read to the end of the stream: the sync worker closes every connection.
    """
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(_request_bytes(path, token))
        pieces = []
        while data := sock.recv(1 << 20):
            pieces.append(data)
    seconds = time.perf_counter() - began
    head, _, body = b"".join(pieces).partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        raise RuntimeError(f"GET {path}: a chunked body; use curl for streamed responses")
    return int(head.split(b" ", 2)[1]), body, seconds


def summary(seconds):
    """Median, p95 (nearest rank) and count of a list of durations, in milliseconds."""
    ordered = sorted(seconds)
    rank = math.ceil(0.95 * len(ordered)) - 1
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "p95_ms": round(ordered[rank] * 1e3, 2),
        "min_ms": round(ordered[0] * 1e3, 2),
        "n": len(ordered),
    }


def machine():
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": sys.version.split()[0]}


def finish(started, load_before, settings, result, verdict, labels, failed):
    """Print a line per target and the checks, then, as the last line, one JSON object with
    every figure; return the exit status (1 when a check failed or a request erred).

    ``verdict`` holds ``targets``, ``measured`` and ``targets_met`` by target; ``labels`` maps
    each target to ``(what it says, unit)``.
    """
    measured, met = verdict["measured"], verdict["targets_met"]
    for key, (label, unit) in labels.items():
        print(f"target: {label}: {measured[key]}{unit} — {'met' if met[key] else 'MISSED'}")
    print(f"checks: {'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}")
    output = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": settings,
        **result,
        "load_average": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
        **verdict,
        "all_targets_met": all(met.values()),
    }
    print(json.dumps(output, default=str))
    return 1 if failed else 0
