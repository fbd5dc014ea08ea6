"""Funnels and breakdowns computed from the rows alone, by brute force, for the API tests.

Nothing here shares code with the service: every chain of every user is enumerated.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from statistics import median


def as_text(value):
    """A payload value as the reports compare and show it."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


@dataclass(frozen=True)
class Step:
    type: str
    conditions: tuple = ()

    @property
    def text(self):
        return self.type + "".join(f"[{key}={value}]" for key, value in self.conditions)

    def matches(self, row):
        payload = row.payload or {}
        return row.type == self.type and all(
            as_text(payload.get(key)) == value for key, value in self.conditions
        )


def _chains(events, steps, window, lo, hi):
    """Every chain (a tuple of event indices) of one user's events sorted by time."""
    found = []

    def grow(chain):
        found.append(chain)
        if len(chain) == len(steps):
            return
        first, last = events[chain[0]], events[chain[-1]]
        for n, event in enumerate(events):
            if (
                n not in chain
                and steps[len(chain)].matches(event)
                and last.ts <= event.ts <= first.ts + window
            ):
                grow((*chain, n))

    for n, event in enumerate(events):
        if lo <= event.ts < hi and steps[0].matches(event):
            grow((n,))
    return found


def funnel(rows, steps, window, lo, hi):
    """The funnel report's ``steps`` list for rows whose first step lies in [lo, hi)."""
    by_user = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)
    furthest, gaps = defaultdict(int), defaultdict(list)
    for events in by_user.values():
        events.sort(key=lambda row: row.ts)
        chains = _chains(events, steps, window, lo, hi)
        if not chains:
            continue
        longest = max(map(len, chains))
        furthest[longest] += 1
        first = min(tuple(events[n].ts for n in c) for c in chains if len(c) == longest)
        for k in range(1, longest):
            gaps[k + 1].append((first[k] - first[k - 1]).total_seconds())
    result, first_users, previous = [], None, None
    for k, step in enumerate(steps, 1):
        users = sum(count for reached, count in furthest.items() if reached >= k)
        first_users = users if first_users is None else first_users
        result.append(
            {
                "step": step.text,
                "users": users,
                "conversion": users / first_users if first_users else 0.0,
                "step_conversion": (users / previous if previous else 0.0)
                if k > 1
                else (1.0 if users else 0.0),
                "median_seconds_from_previous": median(gaps[k]) if gaps[k] else None,
            }
        )
        previous = users
    return result


def breakdown(rows, value_of, limit, lo, hi):
    """The breakdown report's ``rows`` for rows in [lo, hi)."""
    events, users = defaultdict(int), defaultdict(set)
    for row in rows:
        if lo <= row.ts < hi:
            value = value_of(row)
            events[value] += 1
            users[value].add(row.user_id)
    ranked = sorted((v for v in events if v is not None), key=lambda v: (-events[v], v))
    result = [{"value": v, "events": events[v], "users": len(users[v])} for v in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        others = set().union(*(users[v] for v in rest))
        result.append(
            {"value": "other", "events": sum(events[v] for v in rest), "users": len(others)}
        )
    if None in events:
        result.append({"value": None, "events": events[None], "users": len(users[None])})
    return result


def window_of(text):
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{units[text[-1]]: int(text[:-1])})
