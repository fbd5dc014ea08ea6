"""What a funnel asks: its steps (an event type, optionally with payload conditions) and its
conversion window, parsed from the query's text once, at the edge.

A step reads ``page_view`` or ``button_click[button_id=buy][plan=pro]``: the event's type and
string equality on top-level payload keys. A window reads ``30m``, ``24h`` or ``14d``.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

MIN_STEPS, MAX_STEPS = 2, 10
DEFAULT_WINDOW = "1d"
MAX_WINDOW = timedelta(days=366)
# A payload key: anything but the characters the step syntax uses, quotes (SQLite's JSON paths
# quote keys with them) and control characters.
KEY_CHARACTERS = r'[^\[\]="\\\x00-\x1f\x7f]{1,64}'
PAYLOAD_KEY = re.compile(KEY_CHARACTERS)
_STEP = re.compile(r"(?P<type>[^\[\]]{1,64})(?P<conditions>(?:\[[^\[\]]*\])*)")
_CONDITION = re.compile(r"\[([^\[\]]*)\]")
_WINDOW = re.compile(r"(?P<count>[1-9][0-9]{0,6})(?P<unit>[smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StepError(ValueError):
    """A step or window the funnel cannot use; the message says why in the API's terms."""


@dataclass(frozen=True)
class FunnelStep:
    """One step: an event type and the payload values it requires (``(key, value)`` pairs)."""

    text: str
    type: str
    conditions: tuple[tuple[str, str], ...] = ()


def parse_step(text, allowed_types):
    """The ``FunnelStep`` a query's ``step`` text names, or ``StepError``."""
    found = _STEP.fullmatch(text)
    if not found:
        raise StepError(f"{text!r} is not a step: write type or type[key=value][key=value]")
    type_ = found["type"]
    if type_ not in allowed_types:
        raise StepError(f"{text!r}: unknown event type {type_!r}")
    conditions = []
    for condition in _CONDITION.findall(found["conditions"]):
        key, equals, value = condition.partition("=")
        if not equals or not PAYLOAD_KEY.fullmatch(key):
            raise StepError(f"{text!r}: a condition reads [key=value], not [{condition}]")
        if _CONTROL.search(value):
            raise StepError(f"{text!r}: a condition's value holds a control character")
        conditions.append((key, value))
    return FunnelStep(text, type_, tuple(conditions))


def parse_steps(texts, allowed_types):
    """The steps of ``texts`` that parse, and the problem of each text that does not."""
    steps, problems = [], []
    for text in texts:
        try:
            steps.append(parse_step(text, allowed_types))
        except StepError as error:
            problems.append(str(error))
    return steps, problems


def parse_window(text):
    """A conversion window (``30m``, ``24h``, ``14d``; also ``s`` and ``w``) as a timedelta."""
    found = _WINDOW.fullmatch(text)
    if not found:
        raise StepError(f"{text!r} is not a window: write a number and s, m, h, d or w (24h)")
    window = timedelta(**{_UNITS[found["unit"]]: int(found["count"])})
    if window > MAX_WINDOW:
        raise StepError(f"{text!r}: a window lasts at most {MAX_WINDOW.days} days")
    return window


@dataclass(frozen=True)
class Funnel:
    """The steps in order and the window within which the last follows the first."""

    steps: tuple[FunnelStep, ...]
    window: timedelta
    window_text: str = DEFAULT_WINDOW

    def key(self):
        """The values that identify the funnel, for caches."""
        return [[step.text for step in self.steps], self.window.total_seconds()]
