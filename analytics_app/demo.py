"""Realistic sample data, so a newcomer's dashboard is alive at once.

Users with a long-tailed activity level, new users arriving every day, sessions of page views
with clicks, searches, forms, videos, completions and the odd error, from web and mobile.
Written through the ingest batch writer, as real traffic would be.
"""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

from .extensions import db
from .ingest.validation import Batch
from .ingest.writer import write_batch

PAGES = [
    "/",
    "/dashboard",
    "/courses",
    "/courses/python",
    "/courses/sql",
    "/search",
    "/profile",
    "/settings",
    "/pricing",
    "/help",
]
SOURCES = ["web_app", "web_app", "web_app", "ios_app", "android_app"]
ACTIONS = [
    ("button_click", 0.35),
    ("search_query", 0.12),
    ("form_submit", 0.08),
    ("video_play", 0.15),
    ("course_complete", 0.03),
    ("error_occurred", 0.02),
]


def _payload(kind, page, session_id, rng):
    payload = {"page": page, "session_id": session_id}
    if kind == "button_click":
        payload["button_id"] = rng.choice(["save", "enroll", "next", "share", "like"])
    elif kind == "search_query":
        payload["query"] = rng.choice(["python", "sql joins", "pandas", "flask", "react hooks"])
    elif kind == "video_play":
        payload["video_id"] = f"vid-{rng.randint(1, 40)}"
    elif kind == "course_complete":
        payload.update(course_id=f"course-{rng.randint(1, 12)}", score=rng.randint(50, 100))
    elif kind == "error_occurred":
        payload["message"] = rng.choice(["timeout", "404", "validation failed"])
    return payload


def _session(user, start, rng):
    session_id = f"sess-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
    src = rng.choice(SOURCES)
    ts = start
    for _ in range(rng.randint(1, 8)):
        page = rng.choice(PAGES)
        yield ts, user, "page_view", src, {"page": page, "session_id": session_id}
        for kind, chance in ACTIONS:
            if rng.random() < chance:
                ts += timedelta(seconds=rng.randint(2, 90))
                yield ts, user, kind, src, _payload(kind, page, session_id, rng)
        ts += timedelta(seconds=rng.randint(5, 240))


def generate(users=300, days=28, seed=7, now=None):
    """Yield ``(ts, user_id, type, src, payload)`` for ``days`` up to now, oldest first."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    first_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    people = [
        (f"user-{n:04d}", rng.randint(0, days - 1), rng.paretovariate(1.5) / 4)
        for n in range(users)
    ]
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        events = []
        for user, joined, activity in people:
            if offset < joined or rng.random() > min(0.9, activity):
                continue
            for _ in range(1 + int(activity * rng.random() * 2)):
                start = day + timedelta(seconds=rng.randint(6 * 3600, 23 * 3600))
                events.extend(e for e in _session(user, start, rng) if e[0] <= now)
        yield from sorted(events, key=lambda event: event[0])


def load(users=300, days=28, seed=7, batch_size=1000):
    """Store generated events; return how many."""
    total, batch = 0, Batch()
    audit = {"request_id": "demo", "subject": "demo", "remote_addr": None, "user_agent": None}

    def flush():
        nonlocal batch
        write_batch(db.session.connection(), batch, audit)
        db.session.commit()
        batch = Batch()

    rng = random.Random(seed + 1)
    for ts, user, kind, src, payload in generate(users, days, seed):
        batch.client_id.append(str(uuid.UUID(int=rng.getrandbits(128))))
        batch.ts.append(ts)
        batch.user_id.append(user)
        batch.type.append(kind)
        batch.src.append(src)
        batch.payload.append(json.dumps(payload))
        total += 1
        if len(batch) == batch_size:
            flush()
    if len(batch):
        flush()
    return total
