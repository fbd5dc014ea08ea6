"""What the dashboard shows: a range of local days in a time zone, and the event filters.

Read from the query string (the filter bar's form), so every view is a URL that can be
bookmarked and shared; ``args()`` gives the canonical query back.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from werkzeug.datastructures import MultiDict

from ..api.report_schemas import MAX_RANGE_DAYS
from ..reports.periods import day_in, today_in, zone
from ..reports.raw import Filters
from .forms import FilterForm


@dataclass(frozen=True)
class Selection:
    start: date
    end: date
    tz: str
    type: str | None = None
    src: str | None = None
    user_id: str | None = None

    @property
    def days(self):
        return (self.end - self.start).days + 1

    @property
    def filters(self):
        return Filters(self.type, self.src, self.user_id)

    def span(self):
        """The UTC instants from the first day's local midnight to the last day's end."""
        tzinfo = zone(self.tz)
        return day_in(self.start, tzinfo).start, day_in(self.end, tzinfo).end

    def args(self):
        """The query-string arguments of this selection (empty filters left out)."""
        args = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tz": self.tz,
            "type": self.type,
            "src": self.src,
            "user_id": self.user_id,
        }
        return {name: value for name, value in args.items() if value}


def default(tz=None):
    """The last ``DASHBOARD_DEFAULT_DAYS`` days up to today, unfiltered."""
    tz = tz or current_app.config["REPORT_TIMEZONE"]
    end = today_in(zone(tz))
    start = end - timedelta(days=current_app.config["DASHBOARD_DEFAULT_DAYS"] - 1)
    return Selection(start, end, tz)


def _range_errors(start, end):
    if start > end:
        return ["The first day comes after the last."]
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return [f"A range covers at most {MAX_RANGE_DAYS} days."]
    return []


def parse(args):
    """Return ``(selection, form, errors)`` for query args; invalid input gives errors."""
    form = FilterForm(MultiDict(args), current_app.config["ALLOWED_EVENT_TYPES"])
    if not form.validate():
        errors = [
            f"{form[name].label.text}: {' '.join(messages)}"
            for name, messages in form.errors.items()
        ]
        return default(), form, errors
    base = default(form.tz.data or None)
    end = form.end.data or base.end
    start = form.start.data or end - (base.end - base.start)
    errors = _range_errors(start, end)
    selection = Selection(
        start=start,
        end=end,
        tz=base.tz,
        type=form.type.data or None,
        src=(form.src.data or "").strip() or None,
        user_id=(form.user_id.data or "").strip() or None,
    )
    return selection, form, errors
