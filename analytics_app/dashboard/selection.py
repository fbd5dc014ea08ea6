"""What the dashboard shows: a ``ReportRange`` read from the query string (the filter bar).

Every view is a URL that can be bookmarked and shared; ``ReportRange.as_params()`` gives the
canonical query back.
"""

import functools
import zoneinfo
from datetime import timedelta
from urllib.parse import unquote

from flask import current_app, request
from werkzeug.datastructures import MultiDict

from ..reports.range import NO_FILTERS, Filters, RangeError, ReportRange
from .forms import FilterForm

# The browser's time zone, which the page's script keeps in this cookie.
ZONE_COOKIE = "analytics_tz"

# The filter bar's date presets, by the name dashboard.js knows them by.
PRESETS = (
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("month", "This month"),
    ("last-month", "Last month"),
)


def preset_ranges(today):
    """Each preset's first and last day for ``today``, as dashboard.js's ``presetRange``."""
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    return {
        "today": (today, today),
        "7d": (today - timedelta(days=6), today),
        "30d": (today - timedelta(days=29), today),
        "90d": (today - timedelta(days=89), today),
        "month": (first, today),
        "last-month": (last_month.replace(day=1), last_month),
    }


def pressed_preset(chosen):
    """The preset whose range is the one shown, if any: the page opens with it pressed."""
    ranges = preset_ranges(chosen.today())
    return next((name for name, _ in PRESETS if ranges[name] == (chosen.start, chosen.end)), None)


@functools.cache
def time_zones():
    return frozenset(zoneinfo.available_timezones())


def default_zone():
    """The browser's zone when it has told us a valid one, else ``REPORT_TIMEZONE``."""
    zone = unquote(request.cookies.get(ZONE_COOKIE, ""))  # set with encodeURIComponent
    return zone if zone in time_zones() else current_app.config["REPORT_TIMEZONE"]


def _resolve(tz=None, start=None, end=None, filters=NO_FILTERS):
    return ReportRange.resolve(
        tz=tz,
        start=start,
        end=end,
        filters=filters,
        default_zone=default_zone(),
        default_days=current_app.config["DASHBOARD_DEFAULT_DAYS"],
    )


def default(tz=None):
    """The last ``DASHBOARD_DEFAULT_DAYS`` days up to today, unfiltered."""
    return _resolve(tz)


def parse(args):
    """Return ``(range, form, errors)`` for query args; invalid input gives errors."""
    form = FilterForm(MultiDict(args), current_app.config["ALLOWED_EVENT_TYPES"])
    if not form.validate():
        errors = [
            f"{form[name].label.text}: {' '.join(messages)}"
            for name, messages in form.errors.items()
        ]
        return default(), form, errors
    filters = Filters(
        type=form.type.data or None,
        src=(form.src.data or "").strip() or None,
        user_id=(form.user_id.data or "").strip() or None,
    )
    base = default(form.tz.data or None)
    end = form.end.data or base.end
    start = form.start.data or end - (base.end - base.start)
    try:
        return _resolve(base.tz, start, end, filters), form, []
    except RangeError as error:
        # Show the range as asked, with the message; the panels are not computed.
        return ReportRange(base.zone, start, end, filters), form, [error.sentence]


def previous(chosen, form):
    """The range to compare with when the view asks for it (``compare=previous``), else None
    (none either before 1970)."""
    if form.compare.data != "previous":
        return None
    try:
        return chosen.previous()
    except RangeError:
        return None


def query(chosen, compared):
    """The view's query string: its range's, and ``compare=previous`` when it compares."""
    return {**chosen.as_params(), **({"compare": "previous"} if compared else {})}
