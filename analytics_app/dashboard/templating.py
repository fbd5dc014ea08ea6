"""Template filters and globals for the dashboard's pages."""

from ..exports.jobs import status_of
from ..job_lifecycle import JobStatus
from ..reports.periods import as_utc
from .panels import PANELS
from .selection import PRESETS, pressed_preset

# htmx's settings: no eval (the CSP forbids it anyway), no page snapshots in localStorage,
# and a 422 (a refused filter) is swapped in like a success, to show what was wrong.
# allowScriptTags stays on: off, htmx would strip the figures' <script type="application/json">
# from swapped panels; no inline JavaScript could run anyway (CSP script-src 'self').
# No settle delay: htmx processes swapped content and fires htmx:load (on which a panel's chart
# is drawn) that long after the swap, for CSS transitions between old and new attributes,
# which the dashboard has none of; a chart is drawn in the task its panel arrives in.
HTMX_CONFIG = {
    "allowEval": False,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "selfRequestsOnly": True,
    "defaultSettleDelay": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "422", "swap": True},
        {"code": "[45]..", "swap": False, "error": True},
    ],
}


def thousands(value):
    """1234567 → 1,234,567."""
    return f"{value:,}" if isinstance(value, int) else value


def percent(value, digits=1):
    """0.1234 → 12.3 %; None → —."""
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def duration(seconds):
    """372.4 → 6 min 12 s."""
    seconds = round(seconds or 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def moment(value):
    """A stored timestamp as ``2026-11-29 14:03 UTC``."""
    return "—" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def register(bp):
    """Make the filters, the htmx settings and the job statuses available to every template."""
    for function in (thousands, percent, duration, moment):
        bp.add_app_template_filter(function)
    bp.add_app_template_filter(status_of, "job_status")
    bp.add_app_template_global(HTMX_CONFIG, "htmx_config")
    bp.add_app_template_global(JobStatus, "JobStatus")
    bp.add_app_template_global(PRESETS, "presets")
    bp.add_app_template_global(pressed_preset)
    bp.add_app_template_global({name: title for name, (title, _) in PANELS.items()}, "panel_titles")
