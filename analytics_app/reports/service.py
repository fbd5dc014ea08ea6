"""Assemble reports for a ``ReportRange``: rollups and the stored activity for stored, clean
days; live counts for today and a day just ended but not rolled yet (``recent``); raw events
for the rest of those days, stale days, other time zones and filtered queries. Results are
JSON-ready dicts, cached briefly.
"""

from datetime import timedelta
from itertools import pairwise

from flask import current_app

from . import activity, cohorts, live, raw, recent, stored
from .cache import cached
from .range import Filters

RETENTION_OFFSETS = (1, 7, 30)


def _uses_rollups(rng):
    return not rng.filters and rng.tz in stored.rolled_zones(current_app.config)


def _user_counts(names, rng):
    """Distinct users per day of the range over each figure's trailing days (dau 1, wau 7,
    mau 30), as ``{name: [count per day]}``."""
    days = rng.local_days
    values = {name: {} for name in names}
    if _uses_rollups(rng):
        marks = stored.read_marks()
        split = recent.split(rng)
        dates = [d.date for d in split.stored]
        for name in names:
            stale = stored.stale_days(marks, rng.zone, trailing=stored.TRAILING_DAYS[name])
            rolled = stored.read_values(name, rng.tz, dates)
            values[name] = {date: v for date, v in rolled.items() if date not in stale}
        # The days after the last stored one: from live counts and their own raw events.
        lengths = {stored.TRAILING_DAYS[name]: name for name in names}
        longer = [length for length in lengths if length > 1]
        for day in split.recent:
            counts = activity.trailing(rng, day, longer, marks, split.rolled)
            if 1 in lengths:
                counts[1] = live.dau(rng.tz, day, marks)
            for length, count in counts.items():
                if count is not None:
                    values[lengths[length]][day.date] = count
    for name in names:
        missing = [d for d in days if d.date not in values[name]]
        length = stored.TRAILING_DAYS[name]
        spans = [(rng.day(d.date - timedelta(days=length - 1)).start, d.end) for d in missing]
        counts = raw.distinct_users(spans, rng.filters)
        values[name].update(zip((d.date for d in missing), counts, strict=True))
    return {name: [values[name][d.date] for d in days] for name in names}


def _range_fields(rng):
    return {"timezone": rng.tz, "start": rng.start.isoformat(), "end": rng.end.isoformat()}


def _cached(name, rng, compute, span=None):
    """``compute()`` through the cache, keyed by the range and today's date (today is partial),
    kept current by the writes to ``span`` (default: the range's own)."""
    return cached(name, [*rng.key(), rng.today()], span or rng.span(), compute)


def _point(day, today):
    """The fields every series point starts with; today is not a finished day."""
    return {"date": day.date.isoformat(), "period": day.period, "complete": day.date < today}


def with_previous(report, rng, previous):
    """``report(rng)`` with ``previous``: the same figures for ``previous`` (the range of equal
    length just before ``rng``), for period-over-period deltas."""
    return {**report(rng), "previous": report(previous)}


def dau(rng):
    """The seed's DAU shape for the range's one local day, plus its time zone."""

    def compute():
        [day] = rng.local_days
        [count] = _user_counts(["dau"], rng)["dau"]
        return {
            "dau": count,
            "date": day.date.isoformat(),
            "period": day.period,
            "timezone": rng.tz,
        }

    return _cached("dau", rng, compute)


def dau_series(rng):
    """DAU for every day of the range, days without events as 0."""

    def compute():
        counts = _user_counts(["dau"], rng)["dau"]
        today = rng.today()
        series = [
            {**_point(d, today), "dau": c} for d, c in zip(rng.local_days, counts, strict=True)
        ]
        return {**_range_fields(rng), "series": series}

    return _cached("dau_series", rng, compute)


def active_users(rng):
    """DAU, WAU, MAU and stickiness (DAU/MAU) for every day of the range."""

    def compute():
        columns = _user_counts(list(stored.TRAILING_DAYS), rng)
        today = rng.today()
        series = []
        for n, day in enumerate(rng.local_days):
            point = {name: columns[name][n] for name in stored.TRAILING_DAYS}
            point["stickiness"] = round(point["dau"] / point["mau"], 4) if point["mau"] else 0.0
            series.append({**_point(day, today), **point})
        return {**_range_fields(rng), "series": series}

    first = rng.day(rng.start - timedelta(days=stored.LONGEST_TRAILING - 1)).start
    return _cached("active_users", rng, compute, (first, rng.span()[1]))


def _event_counts(rng):
    """Total event counts by (type, src) over the range, from rollups where they are current."""
    filters, days = rng.filters, rng.local_days
    totals = {}
    remaining = days
    if not filters.user_id and rng.tz in stored.rolled_zones(current_app.config):
        today = rng.today()
        marks = stored.read_marks()
        stale = stored.stale_days(marks, rng.zone, trailing=1)
        clean = [d.date for d in days if d.date < today and d.date not in stale]
        rolled = stored.read_event_counts(rng.tz, clean)
        # Days not rolled (today, a day just ended) from their live counts where current.
        pending = [d for d in days if d.date not in rolled]
        for date, until in live.counted(rng.tz, pending, marks, activity=True).items():
            rolled[date] = live.event_counts(rng.tz, rng.day(date), until)
        for counts in rolled.values():
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        remaining = [d for d in days if d.date not in rolled]
    if remaining:
        span = [(remaining[0].start, remaining[-1].end)] if _contiguous(remaining) else None
        spans = span or [(d.start, d.end) for d in remaining]
        for counts in raw.event_counts(spans, Filters(user_id=filters.user_id)):
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
    return {
        (type_, src): value
        for (type_, src), value in totals.items()
        if (not filters.type or type_ == filters.type) and (not filters.src or src == filters.src)
    }


def _contiguous(days):
    return all(b.date - a.date == timedelta(days=1) for a, b in pairwise(days))


def _stored(rng, read):
    """``read(rng, marks)`` from the stored activity when the range can use it, else None."""
    return read(rng, stored.read_marks()) if _uses_rollups(rng) else None


def event_counts(rng):
    """Events by type and by source, and their total: sums of stored counts, so cheap where
    the rollups cover the range (no distinct users, which ``event_totals`` adds)."""

    def compute():
        counts = _event_counts(rng)
        by_type, by_source = {}, {}
        for (type_, src), value in counts.items():
            by_type[type_] = by_type.get(type_, 0) + value
            by_source[src or ""] = by_source.get(src or "", 0) + value
        return {
            **_range_fields(rng),
            "events": sum(counts.values()),
            "by_type": dict(sorted(by_type.items())),
            "by_source": dict(sorted(by_source.items())),
        }

    return _cached("event_counts", rng, compute)


def event_totals(rng):
    """``event_counts`` plus the range's distinct users and events per user."""

    def compute():
        counts = event_counts(rng)
        users = _stored(rng, activity.range_users)
        if users is None:
            [users] = raw.distinct_users([rng.span()], rng.filters)
        total = counts["events"]
        return {
            **_range_fields(rng),
            "events": total,
            "users": users,
            "events_per_user": round(total / users, 4) if users else 0.0,
            "by_type": counts["by_type"],
            "by_source": counts["by_source"],
        }

    return _cached("event_totals", rng, compute)


def sessions(rng):
    """Sessions (events sharing ``payload.session_id``): their count and average length."""

    def compute():
        found = _stored(rng, activity.sessions)
        count, average = found if found is not None else raw.sessions(*rng.span(), rng.filters)
        return {"count": count, "average_seconds": round(average, 3)}

    return _cached("sessions", rng, compute)


def top_pages(rng):
    """The most viewed pages of the range: from the stored activity when it answers, else raw."""

    def compute():
        found = _stored(rng, activity.top_pages)
        pages = found if found is not None else raw.top_pages(*rng.span(), rng.filters)
        return [{"page": p, "views": v} for p, v in pages]

    return _cached("top_pages", rng, compute)


def engagement(rng):
    """Events by type and source, users, events per user, sessions and top pages.

    Its parts are reports of their own (cached apart too), so the dashboard's panels each ask
    for the one they show and a slow part holds up only its own panel.
    """

    def compute():
        return {**event_totals(rng), "sessions": sessions(rng), "top_pages": top_pages(rng)}

    return _cached("engagement", rng, compute)


def retention(rng):
    """Day-1/7/30 retention of the users first seen on each day of the range."""

    def compute():
        today = rng.today()
        cohort_days = rng.local_days
        # Only finished days count: today's activity is not complete yet.
        last = min(rng.end + timedelta(days=max(RETENTION_OFFSETS)), today - timedelta(days=1))
        horizon = [
            rng.day(rng.end + timedelta(days=n)) for n in range(1, (last - rng.end).days + 1)
        ]
        rows = None
        if _uses_rollups(rng):
            rows = cohorts.retention(rng, last, RETENTION_OFFSETS, stored.read_marks())
        if rows is None:
            spans = [(d.start, d.end) for d in cohort_days], [(d.start, d.end) for d in horizon]
            rows = raw.retention(*spans, RETENTION_OFFSETS, rng.filters)
        answer = []
        for day, (new_users, retained) in zip(cohort_days, rows, strict=True):
            figures = {}
            for offset in RETENTION_OFFSETS:
                measurable = day.date + timedelta(days=offset) < today
                users = retained[offset] if measurable else None
                rate = round(users / new_users, 4) if measurable and new_users else None
                figures[f"day_{offset}"] = {"users": users, "rate": rate}
            answer.append({"date": day.date.isoformat(), "new_users": new_users, **figures})
        return {**_range_fields(rng), "cohorts": answer}

    # Cohort users' first events may lie anywhere before: the span is open to the past.
    horizon = min(rng.end + timedelta(days=max(RETENTION_OFFSETS)), rng.today() - timedelta(days=1))
    last = max(rng.end, horizon)
    return _cached("retention", rng, compute, (None, rng.day(last).end))
