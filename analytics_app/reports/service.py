"""Assemble reports: rollups for finished, clean days and for today's DAU; raw events for the
rest of today, stale days, other time zones and filtered queries. Results are JSON-ready
dicts, cached briefly.
"""

from datetime import timedelta
from itertools import pairwise

from flask import current_app

from . import live, raw, rollups
from .cache import cached
from .periods import day_in, days_between, today_in, zone

RETENTION_OFFSETS = (1, 7, 30)


def _uses_rollups(tz, filters):
    return not filters and tz in rollups.rolled_zones(current_app.config)


def _user_counts(name, days, tz, filters):
    """Distinct users per day over the metric's trailing window (dau 1, wau 7, mau 30 days)."""
    length = rollups.WINDOWS[name]
    values = {}
    if _uses_rollups(tz, filters):
        today = today_in(zone(tz))
        finished = [d.date for d in days if d.date < today]
        marks = rollups.read_marks()
        stale = rollups.stale_days(marks, tz, window=length)
        stored = rollups.read_values(name, tz, finished)
        values = {date: v for date, v in stored.items() if date not in stale}
        current = [d for d in days if d.date == today]
        if name == "dau" and current and (count := live.dau(tz, current[0], marks)) is not None:
            values[today] = count
    missing = [d for d in days if d.date not in values]
    tzinfo = zone(tz)
    spans = [(day_in(d.date - timedelta(days=length - 1), tzinfo).start, d.end) for d in missing]
    values.update(zip((d.date for d in missing), raw.distinct_users(spans, filters), strict=True))
    return [values[d.date] for d in days]


def dau(day, tz, filters):
    """The seed's DAU shape for one local day, plus its time zone."""

    def compute():
        [the_day] = days_between(day, day, zone(tz))
        [count] = _user_counts("dau", [the_day], tz, filters)
        return {"dau": count, "date": day.isoformat(), "period": the_day.period, "timezone": tz}

    return cached("dau", [day, tz, filters], compute)


def dau_series(start, end, tz, filters):
    """DAU for every day from ``start`` to ``end``, days without events as 0."""

    def compute():
        days = days_between(start, end, zone(tz))
        counts = _user_counts("dau", days, tz, filters)
        return {
            "timezone": tz,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "series": [
                {"date": d.date.isoformat(), "dau": c, "period": d.period}
                for d, c in zip(days, counts, strict=True)
            ],
        }

    return cached("dau_series", [start, end, tz, filters], compute)


def active_users(start, end, tz, filters):
    """DAU, WAU, MAU and stickiness (DAU/MAU) for every day from ``start`` to ``end``."""

    def compute():
        days = days_between(start, end, zone(tz))
        columns = {name: _user_counts(name, days, tz, filters) for name in rollups.WINDOWS}
        series = []
        for n, day in enumerate(days):
            point = {name: columns[name][n] for name in rollups.WINDOWS}
            point["stickiness"] = round(point["dau"] / point["mau"], 4) if point["mau"] else 0.0
            series.append({"date": day.date.isoformat(), "period": day.period, **point})
        return {
            "timezone": tz,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "series": series,
        }

    return cached("active_users", [start, end, tz, filters], compute)


def _event_counts(days, tz, filters):
    """Total event counts by (type, src) over the days, from rollups where they are current."""
    totals = {}
    remaining = days
    if not filters.user_id and tz in rollups.rolled_zones(current_app.config):
        today = today_in(zone(tz))
        stale = rollups.stale_days(rollups.read_marks(), tz, window=1)
        clean = [d.date for d in days if d.date < today and d.date not in stale]
        stored = rollups.read_event_counts(tz, clean)
        for counts in stored.values():
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        remaining = [d for d in days if d.date not in stored]
    if remaining:
        span = [(remaining[0].start, remaining[-1].end)] if _contiguous(remaining) else None
        spans = span or [(d.start, d.end) for d in remaining]
        for counts in raw.event_counts(spans, raw.Filters(user_id=filters.user_id)):
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
    return {
        (type_, src): value
        for (type_, src), value in totals.items()
        if (not filters.type or type_ == filters.type) and (not filters.src or src == filters.src)
    }


def _contiguous(days):
    return all(b.date - a.date == timedelta(days=1) for a, b in pairwise(days))


def engagement(start, end, tz, filters):
    """Events by type and source, users, events per user, sessions and top pages."""

    def compute():
        days = days_between(start, end, zone(tz))
        lo, hi = days[0].start, days[-1].end
        counts = _event_counts(days, tz, filters)
        by_type, by_source = {}, {}
        for (type_, src), value in counts.items():
            by_type[type_] = by_type.get(type_, 0) + value
            by_source[src or ""] = by_source.get(src or "", 0) + value
        total = sum(counts.values())
        [users] = raw.distinct_users([(lo, hi)], filters)
        session_count, average = raw.sessions(lo, hi, filters)
        return {
            "timezone": tz,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "events": total,
            "users": users,
            "events_per_user": round(total / users, 4) if users else 0.0,
            "by_type": dict(sorted(by_type.items())),
            "by_source": dict(sorted(by_source.items())),
            "sessions": {"count": session_count, "average_seconds": round(average, 3)},
            "top_pages": [{"page": p, "views": v} for p, v in raw.top_pages(lo, hi, filters)],
        }

    return cached("engagement", [start, end, tz, filters], compute)


def retention(start, end, tz, filters):
    """Day-1/7/30 retention of the users first seen on each day from ``start`` to ``end``."""

    def compute():
        tzinfo = zone(tz)
        today = today_in(tzinfo)
        cohort_days = days_between(start, end, tzinfo)
        # Only finished days count: today's activity is not complete yet.
        horizon_end = min(end + timedelta(days=max(RETENTION_OFFSETS)), today - timedelta(days=1))
        horizon = (
            days_between(end + timedelta(days=1), horizon_end, tzinfo) if horizon_end > end else []
        )
        spans = [(d.start, d.end) for d in cohort_days], [(d.start, d.end) for d in horizon]
        rows = raw.retention(*spans, RETENTION_OFFSETS, filters)
        cohorts = []
        for day, (new_users, retained) in zip(cohort_days, rows, strict=True):
            figures = {}
            for offset in RETENTION_OFFSETS:
                measurable = day.date + timedelta(days=offset) < today
                users = retained[offset] if measurable else None
                rate = round(users / new_users, 4) if measurable and new_users else None
                figures[f"day_{offset}"] = {"users": users, "rate": rate}
            cohorts.append({"date": day.date.isoformat(), "new_users": new_users, **figures})
        return {
            "timezone": tz,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "cohorts": cohorts,
        }

    return cached("retention", [start, end, tz, filters], compute)
