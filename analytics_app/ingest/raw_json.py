"""Checks on raw JSON bytes, without decoding them: the payload stays the bytes the client sent.

Each ``may_*`` gate is one C-speed scan of a whole body; only when it matches does the precise,
per-payload check run, so the common body pays almost nothing.
"""

import re

# A JSON "\u0000" escape that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# Control characters reach a decoded string only through these escapes or a raw DEL byte.
_CONTROL_ESCAPE = re.compile(rb"\\[nrtbf]|\\u00[01]|\\u007[fF]|\x7f")
# A number with an exponent of 1000 or more: PostgreSQL's numeric overflows (or a few bytes
# expand to a 100 KB value).
_HUGE_EXPONENT = re.compile(rb"[0-9][eE][+-]?0*[1-9][0-9]{3,}")
# Digits as 0, and E, + and - as e: an exponent of 1000 or more (leading zeros or not) then reads
# "0e0000" or "0ee0000".
_EXPONENT_SHAPE = bytes.maketrans(b"123456789E+-", b"000000000eee")
# Every byte but the opening brackets and the NUL that separates texts.
_NOT_OPENING = bytes(sorted(set(range(256)) - set(b"{[\x00")))
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def may_hold_nul(body):
    return b"\\u0000" in body


def may_hold_control(body):
    return (b"\\" in body or b"\x7f" in body) and _CONTROL_ESCAPE.search(body) is not None


def may_hold_huge_number(data):
    """Whether a number may have an exponent of 1000 or more (strings can make it say so).

    A translate and two substring searches, in C: a regex cost milliseconds per batch
    (bench/README.md, "Figures behind the code"), and hex in UUIDs ("…9e4567…") matched it in
    almost every batch.
    """
    shape = data.translate(_EXPONENT_SHAPE)
    return b"0e0000" in shape or b"0ee0000" in shape


def most_openings(texts):
    """The most opening brackets in any one of the NUL-separated JSON ``texts``."""
    return max(map(len, texts.translate(None, _NOT_OPENING).split(b"\x00")))


def has_nul(raw):
    """Whether a JSON text holds a NUL character (as the escape PostgreSQL's jsonb refuses)."""
    return _NUL_ESCAPE.search(raw) is not None


def has_huge_number(raw):
    """Whether a number outside the strings has an exponent of 1000 or more."""
    return bool(_HUGE_EXPONENT.search(raw) and _HUGE_EXPONENT.search(_STRING.sub(b'""', raw)))


def deeper_than(raw, limit):
    """Whether objects and arrays nest more than ``limit`` levels deep."""
    # Cheap gate: fewer brackets than the limit cannot nest past it.
    if raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    deepest = level = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', raw)):
        level += 1 if bracket in b"[{" else -1
        deepest = max(deepest, level)
    return deepest > limit
