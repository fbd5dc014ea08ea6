"""What a report covers: a range of local days in a resolved time zone, and the event filters.

``ReportRange`` is built once at the edge (an API schema, the dashboard's filter bar, an export
job's stored parameters) and passed whole to the services, so its rules (defaults, limits, the
zone) live here and nowhere else.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from .periods import UnknownTimeZoneError, day_in, days_between, today_in, zone

MAX_RANGE_DAYS = 366
"""The longest range a report covers, in days."""
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2200, 12, 31)
"""The dates a report may name: wide enough for any real data, far from datetime's limits."""
DATES_MESSAGE = f"dates run from {EARLIEST_DATE} to {LATEST_DATE}"
DATES_SENTENCE = f"Dates run from {EARLIEST_DATE:%d %b %Y} to {LATEST_DATE:%d %b %Y}."


class RangeError(ValueError):
    """A range that cannot be reported on.

    ``field`` names the parameter at fault and ``message`` says why in the API's terms;
    ``sentence`` says it to a person looking at the dashboard's filter bar.
    """

    def __init__(self, field, message, sentence=None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.sentence = sentence or message


@dataclass(frozen=True)
class Filters:
    """Optional event filters shared by every report; empty ones are None."""

    type: str | None = None
    src: str | None = None
    user_id: str | None = None

    def __bool__(self):
        return any((self.type, self.src, self.user_id))

    def as_params(self):
        """The filters as query parameters, empty ones left out."""
        params = {"type": self.type, "src": self.src, "user_id": self.user_id}
        return {name: value for name, value in params.items() if value}


NO_FILTERS = Filters()


def resolve_zone(name):
    """The ZoneInfo of an IANA name, as a ``RangeError`` on ``tz`` when unknown."""
    try:
        return zone(name)
    except UnknownTimeZoneError as error:
        raise RangeError("tz", str(error)) from None


@dataclass(frozen=True)
class ReportRange:
    """Local days ``start``..``end`` (both included) in ``zone``, and the event filters.

    ``start`` and ``end`` are both None for an unbounded range (an export of every event).
    """

    zone: ZoneInfo
    start: date | None
    end: date | None
    filters: Filters = field(default=NO_FILTERS)

    @classmethod
    def resolve(
        cls,
        *,
        tz=None,
        start=None,
        end=None,
        filters=NO_FILTERS,
        default_zone,
        default_days,
        max_days=MAX_RANGE_DAYS,
        until_today=True,
    ):
        """Fill in the defaults (``default_zone``; a range of ``default_days`` ending today)
        and check the limits; raise ``RangeError`` naming the parameter at fault.

        With ``until_today`` (reports: the future has no data) the range ends today at the
        latest, and a range that starts after today is refused.
        """
        tzinfo = resolve_zone(tz or default_zone)
        for name, value in (("start", start), ("end", end)):
            if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
                raise RangeError(name, DATES_MESSAGE, DATES_SENTENCE)
        today = today_in(tzinfo)
        end = end or today
        start = start or max(EARLIEST_DATE, end - timedelta(days=default_days - 1))
        if start > end:
            raise RangeError(
                "start", "start must not be after end", "The first day comes after the last."
            )
        if until_today and start > today:
            raise RangeError(
                "start",
                f"start is after today ({today} in {tzinfo.key}): days to come have no data",
                "The first day is in the future.",
            )
        if until_today:
            end = min(end, today)
        if max_days and (end - start).days + 1 > max_days:
            raise RangeError(
                "end",
                f"a range covers at most {max_days} days",
                f"A range covers at most {max_days} days.",
            )
        return cls(tzinfo, start, end, filters)

    @classmethod
    def unbounded(cls, tzinfo, filters=NO_FILTERS):
        """Every stored event matching the filters."""
        return cls(tzinfo, None, None, filters)

    @property
    def tz(self):
        """The zone's IANA name, as reports state it."""
        return self.zone.key

    @property
    def bounded(self):
        return self.start is not None

    @property
    def days(self):
        """How many local days the range covers."""
        return (self.end - self.start).days + 1

    @cached_property
    def local_days(self):
        """Every ``Day`` of the range, in order."""
        return days_between(self.start, self.end, self.zone)

    def day(self, value):
        """The ``Day`` of a date in this range's zone."""
        return day_in(value, self.zone)

    def span(self):
        """The UTC instants from the first day's local midnight to the end of the last day,
        or ``(None, None)`` for an unbounded range."""
        if not self.bounded:
            return None, None
        return day_in(self.start, self.zone).start, day_in(self.end, self.zone).end

    def today(self):
        """The current date in the range's zone."""
        return today_in(self.zone)

    def with_filters(self, filters):
        return replace(self, filters=filters)

    def as_params(self):
        """The range as query parameters (``from_params`` reads them back); empty ones left out."""
        params = {"start": self.start, "end": self.end, "tz": self.tz}
        params = {name: str(value) for name, value in params.items() if value is not None}
        return {**params, **self.filters.as_params()}

    @classmethod
    def from_params(cls, params):
        """The range ``as_params`` gave (as stored by an export job)."""

        def day(value):
            return date.fromisoformat(value) if value else None

        filters = Filters(params.get("type"), params.get("src"), params.get("user_id"))
        start, end = day(params.get("start")), day(params.get("end"))
        return cls(resolve_zone(params["tz"]), start, end, filters)

    def previous(self):
        """The range of equal length just before this one, same zone and filters."""
        start = self.start - timedelta(days=self.days)
        if start < EARLIEST_DATE:
            raise RangeError(
                "compare",
                f"the previous range would start before {EARLIEST_DATE}",
                f"There is no previous period before {EARLIEST_DATE:%d %b %Y}.",
            )
        return replace(self, start=start, end=self.start - timedelta(days=1))

    def single(self, value):
        """The one-day range of ``value``, same zone and filters."""
        return replace(self, start=value, end=value)

    def key(self):
        """The values that identify the range, for caches."""
        filters = self.filters
        return [self.tz, self.start, self.end, filters.type, filters.src, filters.user_id]
