"""The events the bench sends, built before any clock starts: HTTP requests and COPY text.

Every phase sends the same events (the table is truncated between phases), so the database sees
identical work whichever path stores it.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import orjson

from analytics_app.config import DEFAULT_EVENT_TYPES

USERS = 20_000
INGEST_PATH = "/api/analytics/ingest"
COPY_COLUMNS = ("client_id", "ts", "user_id", "type", "src", "payload")
HOUR = 3600.0
SDK_AGE = 5.0
"""sdk-js's default ``flushInterval``, in seconds: the age of the events in a live batch."""


def make_events(count, seed, age=HOUR):
    """Return ``count`` events with unique ids and timestamps within the last ``age`` seconds.

    An hour (the default) makes nearly every batch reach back before the rollup's boundary,
    so ingest writes its mark too; ``SDK_AGE`` is what the JavaScript SDK sends: events queued
    for at most one flush interval.
    """
    rng = random.Random(seed)
    now = datetime.now(UTC)
    events = []
    for _ in range(count):
        user = rng.randrange(USERS)
        ts = now - timedelta(seconds=rng.uniform(0, age))
        events.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "user_id": f"user-{user}",
                "type": rng.choice(DEFAULT_EVENT_TYPES),
                "src": "web_app",
                "payload": {
                    "page": f"/courses/{rng.randrange(500)}",
                    "referrer": "/dashboard",
                    "session_id": f"sess-{user}-{rng.randrange(8)}",
                },
            }
        )
    return events


def chunks(events, size):
    """Split events into consecutive lists of ``size``."""
    return [events[i : i + size] for i in range(0, len(events), size)]


def make_token(secret, subject="bench"):
    """Sign an HS256 token with ``sub`` and ``exp``, as any client library would."""
    claims = {"sub": subject, "exp": datetime.now(UTC) + timedelta(hours=2)}
    return jwt.encode(claims, secret, algorithm="HS256")


def http_request(token, events):
    """Return the complete bytes of one ingest request carrying ``events`` as a JSON array."""
    body = orjson.dumps(events)
    head = (
        f"POST {INGEST_PATH} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n"
        "User-Agent: analytics-bench/1\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _copy_field(value):
    if value is None:
        return "\\N"
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(char, escaped)
    return value


def copy_ids(events):
    """Return the events' client ids as COPY text rows (UUIDs: nothing to escape)."""
    return ("\n".join(event["id"] for event in events) + "\n").encode()


def copy_text(events):
    """Return the events as COPY text-format rows for ``COPY_COLUMNS``."""
    lines = []
    for event in events:
        payload = orjson.dumps(event["payload"]).decode()
        fields = (event["id"], event["ts"], event["user_id"], event["type"], event["src"], payload)
        lines.append("\t".join(_copy_field(value) for value in fields))
    return ("\n".join(lines) + "\n").encode()
