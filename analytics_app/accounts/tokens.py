"""API tokens minted for services and web apps, recorded (never stored) as they are minted.

The scopes a token may carry and the lifetimes it may have are checked here, once, for the
CLI and the dashboard alike.
"""

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_jwt_extended import decode_token

from ..auth import SCOPES, mint_token
from ..errors import AppError
from ..extensions import db
from ..models import ApiToken

# The lifetimes the dashboard offers, in the notation the CLI's --ttl takes.
LIFETIMES = {
    "1h": "1 hour",
    "1d": "1 day",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "365d": "1 year",
}
DEFAULT_LIFETIME = "30d"
_LIFETIME = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class UnknownScopeError(AppError):
    status = 422
    message = "unknown scope"


class InvalidLifetimeError(AppError):
    status = 422
    message = "invalid token lifetime"


def check_scopes(scopes):
    """Raise ``UnknownScopeError`` unless every scope is one the API knows."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UnknownScopeError(f"unknown scope(s): {', '.join(unknown)}")


def parse_lifetime(text):
    """Parse ``90s``, ``15m``, ``12h``, ``30d`` or ``2w`` into a timedelta."""
    match = _LIFETIME.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidLifetimeError(f"{text!r} is not a duration like 15m, 12h, 30d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def mint(sub, scopes, lifetime, created_by):
    """Mint a token for ``lifetime`` (``30d``…), record its jti, subject, scopes and expiry;
    return (token, record)."""
    check_scopes(scopes)
    token = mint_token(sub, scopes, parse_lifetime(lifetime))
    claims = decode_token(token)
    record = ApiToken(
        jti=claims["jti"],
        sub=sub,
        scopes=" ".join(scopes),
        created_by=created_by,
        created_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )
    db.session.add(record)
    db.session.commit()
    return token, record


def recent(limit=200):
    """The most recently minted tokens' records, newest first."""
    query = sa.select(ApiToken).order_by(ApiToken.created_at.desc()).limit(limit)
    return db.session.scalars(query).all()
