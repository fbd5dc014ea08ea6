"""Local days in a time zone: where they start and end in UTC, and how long they last.

A report day runs from local midnight to the next local midnight, so on a daylight-saving
change it lasts 23 or 25 hours. Everything downstream works with UTC instants.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimeZoneError(ValueError):
    """Not an IANA time zone name."""


def zone(name):
    """Return the ZoneInfo for an IANA name, or raise ``UnknownTimeZoneError``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZoneError(f"unknown time zone {name!r}") from None


@dataclass(frozen=True)
class Day:
    """One local calendar day and its span in UTC."""

    date: date
    start: datetime
    end: datetime

    @property
    def hours(self):
        return round((self.end - self.start).total_seconds() / 3600)

    @property
    def period(self):
        """The day's length as the API states it: ``24h``, or ``23h``/``25h`` on DST changes."""
        return f"{self.hours}h"


def local_midnight(day, tz):
    """The UTC instant at which ``day`` begins in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_in(day, tz):
    """The ``Day`` for a calendar date in a zone."""
    return Day(day, local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))


def days_between(start, end, tz):
    """Every ``Day`` from ``start`` to ``end`` inclusive."""
    return [day_in(start + timedelta(days=n), tz) for n in range((end - start).days + 1)]


def today_in(tz):
    """The current calendar date in ``tz``."""
    return datetime.now(tz).date()


def as_utc(moment):
    """A stored time as aware UTC: SQLite hands timestamps back naive, PostgreSQL aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_date(instant, tz):
    """The calendar date of a UTC instant in ``tz``."""
    return instant.astimezone(tz).date()
