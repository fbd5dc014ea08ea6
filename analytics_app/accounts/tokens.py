"""API tokens minted for services and web apps: recorded (never stored) as they are minted,
and revoked by their ``jti``.

The scopes a token may carry and the lifetimes it may have (at most ``TOKEN_MAX_TTL``) are
checked here, once, for the CLI and the dashboard alike. Revoking records who revoked the token
and when (the audit), and tells every process (``revocations.publish``).
"""

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from ..auth import SCOPES, expiry_within_bound, mint_token
from ..config import parse_duration
from ..errors import AppError
from ..extensions import db
from ..models import ApiToken
from ..reports.periods import as_utc
from . import revocations

log = logging.getLogger(__name__)

# The lifetimes the dashboard offers (those within TOKEN_MAX_TTL), in the CLI's --ttl notation.
LIFETIMES = {
    "1h": "1 hour",
    "1d": "1 day",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "365d": "1 year",
}
DEFAULT_LIFETIME = "30d"


class UnknownScopeError(AppError):
    status = 422
    message = "unknown scope"


class InvalidLifetimeError(AppError):
    status = 422
    message = "invalid token lifetime"


class UnknownTokenError(AppError):
    status = 404
    message = "no minted token has this id (jti)"


def check_scopes(scopes):
    """Raise ``UnknownScopeError`` unless every scope is one the API knows."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UnknownScopeError(f"unknown scope(s): {', '.join(map(repr, unknown))}")


def parse_lifetime(text):
    """Parse ``90s``, ``15m``, ``12h``, ``30d`` or ``2w`` into a timedelta within
    ``TOKEN_MAX_TTL``."""
    try:
        lifetime = parse_duration(text)
    except ValueError as error:
        raise InvalidLifetimeError(str(error)) from None
    longest = current_app.config["TOKEN_MAX_TTL"]
    if lifetime > longest:
        raise InvalidLifetimeError(
            f"{text!r} is longer than the longest lifetime allowed, {longest.days} days"
            f"{'' if longest.seconds == 0 else f' {longest.seconds} s'} (TOKEN_MAX_TTL)"
        )
    return lifetime


def lifetimes():
    """The dashboard's lifetimes within ``TOKEN_MAX_TTL``, and the default among them."""
    longest = current_app.config["TOKEN_MAX_TTL"]
    offered = {code: label for code, label in LIFETIMES.items() if parse_duration(code) <= longest}
    default = DEFAULT_LIFETIME if DEFAULT_LIFETIME in offered else list(offered)[-1]
    return offered, default


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


def status(record, now=None):
    """``revoked``, ``expired`` or ``active``."""
    if record.revoked_at is not None:
        return "revoked"
    if as_utc(record.expires_at) <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


def revoke(jti, revoked_by):
    """Revoke a minted token for good; return its record (unchanged if already revoked).

    The record says who revoked it and when; every process refuses the token within
    ``revocations.REFRESH_SECONDS`` (this one at once).
    """
    record = db.session.get(ApiToken, jti.strip())
    if record is None:
        raise UnknownTokenError(f"no minted token has the id {jti!r}")
    if record.revoked_at is not None:
        return record
    record.revoked_at, record.revoked_by = datetime.now(UTC), revoked_by
    db.session.commit()
    log.info(
        "token revoked",
        extra={"jti": record.jti, "token_sub": record.sub, "revoked_by": revoked_by},
    )
    revocations.publish(record.jti, as_utc(record.expires_at))
    return record


class TokenRefusedError(AppError):
    status = 401
    message = "the service would refuse this token"


def verify(token):
    """The claims of a token the API would accept now; ``TokenRefusedError`` says why not."""
    try:
        claims = decode_token(token.strip())
    except (PyJWTError, JWTExtendedException) as error:
        raise TokenRefusedError(f"invalid token: {error}") from None
    if not expiry_within_bound(claims):
        raise TokenRefusedError("the token has no expiry or expires beyond TOKEN_MAX_TTL")
    if revocations.is_revoked(None, claims):
        raise TokenRefusedError(f"the token {claims['jti']} has been revoked")
    return claims
