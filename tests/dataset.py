"""A generated event set for report tests, and an independent computation of every report.

Fixed dates around both daylight-saving changes of autumn 2026 (Europe on 25 October, the
USA on 1 November), events placed exactly on and just before local and UTC midnights, and
the expected figures computed here in plain Python, not with the service's code.
"""

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

FIRST_DAY = date(2026, 10, 18)
LAST_DAY = date(2026, 11, 14)
TYPES = ["page_view", "button_click", "form_submit", "video_play", "search_query"]
SOURCES = ["web_app", "ios_app", None]
PAGES = ["/", "/dashboard", "/courses", "/pricing", "/help"]


@dataclass(frozen=True)
class Row:
    ts: datetime
    user_id: str
    type: str
    src: str | None
    payload: dict


def generate(users=200, seed=11):
    """Events for ``users`` users from FIRST_DAY to LAST_DAY (UTC days), with edge cases."""
    rng = random.Random(seed)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
    span = (LAST_DAY - FIRST_DAY).days + 1
    rows = []
    for n in range(users):
        user = f"user-{n:03d}"
        joined = rng.randrange(span)
        for day in range(joined, span):
            if rng.random() > 0.35:
                continue
            session = f"s-{user}-{day}"
            moment = start + timedelta(days=day, seconds=rng.randrange(86400))
            for _ in range(rng.randint(1, 4)):
                kind = rng.choice(TYPES)
                payload = {"session_id": session, "page": rng.choice(PAGES)}
                rows.append(Row(moment, user, kind, rng.choice(SOURCES), payload))
                moment += timedelta(seconds=rng.randint(1, 600))
    ny = ZoneInfo("America/New_York")
    for offset in range(span):
        day = FIRST_DAY + timedelta(days=offset)
        local_midnight = datetime.combine(day, datetime.min.time(), tzinfo=ny).astimezone(UTC)
        utc_midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        for moment in (local_midnight, utc_midnight):
            rows.append(Row(moment, f"edge-{offset}", "page_view", "web_app", {"page": "/"}))
            rows.append(
                Row(
                    moment - timedelta(microseconds=1),
                    f"edge-before-{offset}",
                    "page_view",
                    "web_app",
                    {"page": "/"},
                )
            )
    return [r for r in rows if r.ts.date() <= LAST_DAY + timedelta(days=1)]


def store(rows):
    """Write rows through the ingest batch writer (marks and all), in the app context."""
    import json

    from analytics_app.extensions import db
    from analytics_app.ingest.validation import Batch
    from analytics_app.ingest.writer import write_batch

    audit = {"request_id": "test", "subject": "test", "remote_addr": None, "user_agent": None}
    for offset in range(0, len(rows), 1000):
        batch = Batch()
        for row in rows[offset : offset + 1000]:
            batch.client_id.append(str(uuid.uuid4()))
            batch.ts.append(row.ts)
            batch.user_id.append(row.user_id)
            batch.type.append(row.type)
            batch.src.append(row.src)
            batch.payload.append(json.dumps(row.payload))
        write_batch(db.session.connection(), batch, audit)
        db.session.commit()


class Expected:
    """Reports computed from the rows alone."""

    def __init__(self, rows, tz):
        self.rows = rows
        self.tz = ZoneInfo(tz)

    def local(self, row):
        return row.ts.astimezone(self.tz).date()

    def users_by_day(self, rows=None):
        days = defaultdict(set)
        for row in rows if rows is not None else self.rows:
            days[self.local(row)].add(row.user_id)
        return days

    def dau(self, day, **filters):
        return len(self.users_by_day(self.filtered(**filters))[day])

    def window(self, day, length):
        by_day = self.users_by_day()
        users = set()
        for n in range(length):
            users |= by_day[day - timedelta(days=n)]
        return len(users)

    def filtered(self, type=None, src=None, user_id=None):
        return [
            r
            for r in self.rows
            if (type is None or r.type == type)
            and (src is None or r.src == src)
            and (user_id is None or r.user_id == user_id)
        ]

    def in_range(self, start, end, **filters):
        return [r for r in self.filtered(**filters) if start <= self.local(r) <= end]

    def engagement(self, start, end, **filters):
        rows = self.in_range(start, end, **filters)
        by_type, by_source, sessions, pages = (
            defaultdict(int),
            defaultdict(int),
            {},
            defaultdict(int),
        )
        for r in rows:
            by_type[r.type] += 1
            by_source[r.src or ""] += 1
            if "session_id" in r.payload:
                first, last = sessions.get(r.payload["session_id"], (r.ts, r.ts))
                sessions[r.payload["session_id"]] = (min(first, r.ts), max(last, r.ts))
            if r.type == "page_view" and "page" in r.payload:
                pages[r.payload["page"]] += 1
        users = len({r.user_id for r in rows})
        lengths = [(last - first).total_seconds() for first, last in sessions.values()]
        top = sorted(pages.items(), key=lambda item: (-item[1], item[0]))[:10]
        return {
            "events": len(rows),
            "users": users,
            "by_type": dict(by_type),
            "by_source": dict(by_source),
            "sessions": (len(sessions), sum(lengths) / len(lengths) if lengths else 0.0),
            "top_pages": [{"page": p, "views": v} for p, v in top],
        }

    def retention(self, start, end, offsets=(1, 7, 30)):
        first_day, active = {}, defaultdict(set)
        for r in sorted(self.rows, key=lambda r: r.ts):
            first_day.setdefault(r.user_id, self.local(r))
            active[self.local(r)].add(r.user_id)
        cohorts = {}
        for n in range((end - start).days + 1):
            day = start + timedelta(days=n)
            cohort = {u for u, d in first_day.items() if d == day}
            cohorts[day] = (
                len(cohort),
                {k: len(cohort & active[day + timedelta(days=k)]) for k in offsets},
            )
        return cohorts
