"""API tokens minted for services and web apps, recorded (never stored) as they are minted."""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_jwt_extended import decode_token

from ..auth import SCOPES, mint_token
from ..errors import AppError
from ..extensions import db
from ..models import ApiToken


class UnknownScopeError(AppError):
    status = 422
    message = "unknown scope"


def mint(sub, scopes, ttl, created_by):
    """Mint a token, record its jti, subject, scopes and expiry; return (token, record)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UnknownScopeError(f"unknown scope(s): {', '.join(unknown)}")
    token = mint_token(sub, scopes, ttl)
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
