"""Bearer-token authentication and scopes, on flask-jwt-extended.

Tokens from any standard JWT library work: ``sub`` and ``exp`` are required, scopes come from
``scope`` (split on ASCII spaces only) or ``scopes`` (a list), and only the configured algorithm
is accepted. ``JWT_DECODE_AUDIENCE`` / ``JWT_DECODE_ISSUER``, when set, are required claims; an
``exp`` further ahead than ``TOKEN_MAX_TTL`` is refused. Every failure answers 401
(flask-jwt-extended would say 422 for some) in the one error envelope; a valid token without
the needed scope gets 403. Revoked tokens are refused by ``accounts.revocations``, which
registers itself as the blocklist.
"""

import time
from datetime import timedelta
from functools import wraps

from flask import current_app, g
from flask_jwt_extended import JWTManager, create_access_token, get_jwt, verify_jwt_in_request

from .errors import AuthenticationError, MissingScopeError, error_response

READ = "analytics:read"
ADMIN = "analytics:admin"
SCOPES = (READ, ADMIN)
# How far past now + TOKEN_MAX_TTL an ``exp`` may lie: the issuer's clock may run ahead of ours.
EXP_LEEWAY_SECONDS = 300
# The longest subject the audit trail and the jobs record (a longer one could not be stored).
MAX_SUBJECT_LENGTH = 255


def split_scopes(text):
    """The scopes of a space-separated string: split on ASCII spaces only, never on other
    whitespace (``x\u00a0analytics:read`` is one unknown scope, not two)."""
    return [scope for scope in text.split(" ") if scope]


def token_scopes(claims):
    """Return the set of scopes a decoded token grants."""
    granted = set()
    scope = claims.get("scope")
    if isinstance(scope, str):
        granted.update(split_scopes(scope))
    scopes = claims.get("scopes")
    if isinstance(scopes, list):
        granted.update(item for item in scopes if isinstance(item, str))
    if ADMIN in granted:
        granted.add(READ)
    return granted


def require_token(scope=None):
    """Require a valid bearer token, and ``scope`` when given (admin implies read)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request()
            g.subject = get_jwt()["sub"]  # for the logs
            if scope is not None and scope not in token_scopes(get_jwt()):
                raise MissingScopeError(f"this endpoint needs the {scope!r} scope")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_subject():
    """Return the ``sub`` of the request's verified token."""
    return get_jwt()["sub"]


def mint_token(subject, scopes=(), ttl=timedelta(days=30)):
    """Sign a token for a service or web app with the configured key."""
    if current_app.config["JWT_ALGORITHM"] == "RS256" and not current_app.config.get(
        "JWT_PRIVATE_KEY"
    ):
        raise AuthenticationError("minting RS256 tokens needs JWT_PRIVATE_KEY")
    claims = {"scope": " ".join(scopes)} if scopes else {}
    return create_access_token(identity=subject, additional_claims=claims, expires_delta=ttl)


class CachingJWTManager(JWTManager):
    """flask-jwt-extended that remembers the tokens it has verified, until they expire.

    An SDK or service sends the same token with every request; PyJWT's decode (done three
    times per request by flask-jwt-extended) was a fifth of a single-event request's CPU. The
    cache is per process and per app (its keys include the verification settings), holds
    only tokens that carry ``exp``, and re-checks expiry on every hit.
    """

    MAX_TOKENS = 4096

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if csrf_value or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        config = current_app.config
        cache = current_app.extensions.setdefault("verified_tokens", {})
        key = (
            encoded_token,
            config["JWT_SECRET_KEY"],
            config.get("JWT_PUBLIC_KEY"),
            repr(config["JWT_DECODE_AUDIENCE"]),
            config["JWT_DECODE_ISSUER"],
        )
        claims = cache.get(key)
        if claims is not None and claims["exp"] > time.time():
            return dict(claims)
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if isinstance(claims.get("exp"), int | float):
            if len(cache) >= self.MAX_TOKENS:
                cache.clear()
            cache[key] = dict(claims)
        return claims


def _unauthorized(message):
    return error_response(401, message, headers={"WWW-Authenticate": "Bearer"})


def _expiry(claims):
    """The token's ``exp`` as whole seconds, or None when it has none PyJWT would accept."""
    try:
        return int(claims["exp"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def expiry_within_bound(claims):
    """True when the token expires, and no further ahead than ``TOKEN_MAX_TTL``."""
    expiry = _expiry(claims)
    if expiry is None:
        return False
    longest = current_app.config["TOKEN_MAX_TTL"].total_seconds() + EXP_LEEWAY_SECONDS
    return expiry <= time.time() + longest


def _claims_problem(claims):
    """What makes a verified token's claims unusable here, or None."""
    if _expiry(claims) is None:
        return "token has no expiry (exp claim)"
    if not expiry_within_bound(claims):
        return "token expires further ahead than this service allows (TOKEN_MAX_TTL)"
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        return f"token subject (sub) must have 1 to {MAX_SUBJECT_LENGTH} characters"
    if "\x00" in subject:
        return "token subject (sub) must not contain NUL characters"
    return None


def init_app(app):
    """Pin the algorithm and answer every token failure with 401 in the error envelope."""
    app.config.update(
        JWT_TOKEN_LOCATION=["headers"],
        JWT_DECODE_ALGORITHMS=[app.config["JWT_ALGORITHM"]],
        JWT_IDENTITY_CLAIM="sub",
    )
    jwt = CachingJWTManager(app)
    jwt.unauthorized_loader(lambda reason: _unauthorized("missing bearer token"))
    jwt.invalid_token_loader(lambda reason: _unauthorized(f"invalid token: {reason}"))
    jwt.expired_token_loader(lambda header, data: _unauthorized("token has expired"))
    jwt.token_verification_loader(lambda header, data: _claims_problem(data) is None)
    jwt.token_verification_failed_loader(lambda header, data: _unauthorized(_claims_problem(data)))
    jwt.revoked_token_loader(lambda header, data: _unauthorized("token has been revoked"))
    jwt.user_lookup_error_loader(lambda header, data: _unauthorized("unknown token subject"))
