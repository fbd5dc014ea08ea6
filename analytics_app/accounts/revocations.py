"""Revoked tokens, known to every process within seconds without a query per request.

The database is the record (``api_tokens.revoked_at``, written by ``tokens.revoke``). Each
process keeps the ``jti``s of the revoked tokens that have not expired yet in memory, and the
first request that finds that copy older than ``REFRESH_SECONDS`` refreshes it, so every
worker refuses a revoked token within that time, busy or idle, and a request costs a set
lookup. Tokens are short-lived, so the set stays small.

Where from: with Redis, a sorted set of jtis scored by expiry (one round trip, no database);
``publish`` adds to it as a token is revoked. Redis is a copy: while the marker key
``SYNCED_KEY`` is absent (Redis restarted or flushed, and every ``RESYNC_SECONDS`` in any case,
which also mends a revocation whose publishing failed), the refreshing process adds the
database's revoked tokens to it first. Without Redis, or while it is unreachable, each
process reads the database instead (an indexed query every ``REFRESH_SECONDS``).
"""

import logging
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import ApiToken
from ..redis_store import Fallback, get_redis

log = logging.getLogger(__name__)

KEY = "analytics:revoked_tokens"
SYNCED_KEY = "analytics:revoked_tokens:synced"
REFRESH_SECONDS = 2
RESYNC_SECONDS = 30


def _from_database():
    """The unexpired revoked tokens in the database: {jti: expiry (Unix seconds)}."""
    now = datetime.now(UTC)
    query = sa.select(ApiToken.jti, ApiToken.expires_at).where(
        ApiToken.revoked_at.is_not(None), ApiToken.expires_at > now
    )
    # A connection of its own: the request's session and transaction stay untouched.
    with db.engine.connect() as connection:
        rows = connection.execute(query).all()
    return {jti: expires_at.timestamp() for jti, expires_at in rows}


class DatabaseSource:
    def jtis(self):
        return set(_from_database())


class RedisSource:
    def __init__(self, client):
        self.client = client

    def jtis(self):
        pipe = self.client.pipeline(transaction=False)
        pipe.zremrangebyscore(KEY, "-inf", time.time())
        pipe.zrange(KEY, 0, -1)
        pipe.exists(SYNCED_KEY)
        _, members, synced = pipe.execute()
        jtis = {member.decode() for member in members}
        if not synced:
            try:
                revoked = _from_database()
            except SQLAlchemyError as error:
                log.warning("could not resync the revoked tokens from the database: %s", error)
                return jtis
            pipe = self.client.pipeline(transaction=False)
            if revoked:
                pipe.zadd(KEY, revoked)
            pipe.set(SYNCED_KEY, 1, ex=RESYNC_SECONDS)
            pipe.execute()
            jtis.update(revoked)
        return jtis


class RevokedTokens:
    """This process's view of the revoked jtis, refreshed at most every ``REFRESH_SECONDS``."""

    def __init__(self, redis_client):
        shared = RedisSource(redis_client) if redis_client is not None else None
        self.source = Fallback(
            shared,
            DatabaseSource(),
            RedisError,
            "token_revocations",
            "revoked tokens are read from the database",
        )
        self.jtis = frozenset()
        self.fresh_until = 0.0
        self.lock = threading.Lock()

    def __contains__(self, jti):
        if time.monotonic() >= self.fresh_until:
            self.refresh()
        return jti in self.jtis

    def refresh(self):
        """Read the revoked jtis again (a failure keeps the last view, and says so)."""
        with self.lock:
            if time.monotonic() < self.fresh_until:
                return  # another thread has just refreshed
            try:
                self.jtis = frozenset(self.source.run(lambda source: source.jtis()))
            except SQLAlchemyError as error:
                log.warning("could not read the revoked tokens, keeping the last view: %s", error)
            self.fresh_until = time.monotonic() + REFRESH_SECONDS

    def forget(self):
        """Make the next check read the revoked jtis again."""
        self.fresh_until = 0.0


def publish(jti, expires_at):
    """Tell every process that ``jti`` (valid until ``expires_at``) is revoked; this one at once.

    Without Redis, the other processes read it from the database at their next refresh. Should
    Redis fail now, the next resync (``RESYNC_SECONDS``) adds it from the database.
    """
    client = get_redis()
    if client is not None:
        try:
            client.zadd(KEY, {jti: expires_at.timestamp()})
        except RedisError as error:
            log.warning(
                "could not publish a revocation to Redis; processes reading Redis refuse the"
                " token within %d s: %s",
                RESYNC_SECONDS,
                error,
            )
    current_app.extensions["revoked_tokens"].forget()


def is_revoked(header, claims):
    """flask-jwt-extended's blocklist check: is this token's jti revoked?"""
    jti = claims.get("jti")
    return isinstance(jti, str) and jti in current_app.extensions["revoked_tokens"]


def init_app(app):
    """Keep this app's view of the revoked tokens, and refuse them on every request."""
    app.extensions["revoked_tokens"] = RevokedTokens(app.extensions.get("redis"))
    app.extensions["flask-jwt-extended"].token_in_blocklist_loader(is_revoked)
