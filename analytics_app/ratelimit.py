"""Rate limits counted for every worker in Redis, with a per-process fallback: ingest's, and the
strategy wrapper the dashboard's sign-in throttle uses.

Each request counts in two fixed one-minute windows: one per token subject *and client
address* (``RATE_LIMIT_PER_MINUTE``), so one noisy browser is slowed and nobody else, and one
per subject (``RATE_LIMIT_TOKEN_PER_MINUTE``), a ceiling on what a leaked token can send. The
client address is the peer's, or the one ``TRUSTED_PROXIES`` proxies put in
``X-Forwarded-For`` (Werkzeug's ProxyFix, set up in ``create_app``).

Both windows are counted by one script in one Redis round trip, on a connection the process
holds. With Redis unreachable, limits degrade to a per-process count (``limits``' memory
storage) for a short while instead of failing requests, and say so in the log (``Fallback``).
"""

import logging
import math
import os
import threading
import time

from flask import current_app, request
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from redis import ConnectionError as RedisConnectionError
from redis import Redis, RedisError
from redis.exceptions import NoScriptError

from .errors import AppError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# How long to count in process memory after Redis failed, before trying Redis again.
REDIS_RETRY_SECONDS = 10
REDIS_TIMEOUT_SECONDS = 0.5
KEY_PREFIX = "analytics:ratelimit"

# Count one hit in every window (KEYS), starting a window's expiry on its first hit; return
# each window's count and the seconds left in it.
_HIT = """
local result = {}
for i, key in ipairs(KEYS) do
    local count = redis.call("incr", key)
    if count == 1 then
        redis.call("expire", key, ARGV[1])
    end
    result[2 * i - 1] = count
    result[2 * i] = redis.call("ttl", key)
end
return result
"""


class RateLimitedError(AppError):
    status = 429
    message = "rate limit exceeded"

    def __init__(self, retry_after):
        super().__init__(
            f"rate limit exceeded, retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class Fallback:
    """Run an action on ``shared`` (Redis), or on ``local`` for ``REDIS_RETRY_SECONDS`` after
    ``shared`` raised one of ``errors`` (and when there is no ``shared`` at all)."""

    def __init__(self, shared, local, errors):
        self.shared, self.local, self.errors = shared, local, errors
        self._shared_down_until = 0.0

    def run(self, action):
        """Return ``action(counter)``, on Redis or, while it is failing, in memory."""
        if self.shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return action(self.shared)
            except self.errors as error:
                log.warning("rate-limit store unavailable, counting per process: %s", error)
                self._shared_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return action(self.local)


class ResilientLimiter(Fallback):
    """A ``limits`` strategy counted in Redis (keys under ``key_prefix``) when configured, in
    process memory otherwise or while Redis is failing."""

    def __init__(self, strategy, redis_url, key_prefix):
        shared = None
        if redis_url:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                key_prefix=key_prefix,
            )
            shared = strategy(storage)
        super().__init__(shared, strategy(MemoryStorage()), StorageError)


def seconds_until_reset(limiter, item, *identifiers):
    """Whole seconds (at least 1) until the window of ``item`` frees a request."""
    reset_at = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_at - time.time()))


class RedisWindows:
    """Count window hits with the ``_HIT`` script on one connection this process keeps open.

    A held connection costs far less CPU per request than checking one out of redis-py's
    pool (bench/README.md, "Figures behind the code"). Raises ``RedisError`` on failure.
    """

    def __init__(self, redis_url):
        self._pool = Redis.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        ).connection_pool
        self._sha = None
        self._connection = None
        self._pid = None
        self._lock = threading.Lock()  # the connection serves one request at a time

    def hit(self, keys):
        """Count one hit in each key's window; return ``[(count, seconds_left)]``."""
        with self._lock:
            try:
                return self._hit(keys)
            except RedisConnectionError:  # closed since the last request: reconnect once
                self._drop()
                return self._hit(keys)
            except RedisError:
                self._drop()
                raise

    def _hit(self, keys):
        if self._connection is None or self._pid != os.getpid():  # new, or forked
            self._connection, self._pid = self._pool.make_connection(), os.getpid()
            self._sha = None
        if self._sha is None:
            self._sha = self._call("SCRIPT", "LOAD", _HIT)
        try:
            values = self._call("EVALSHA", self._sha, len(keys), *keys, WINDOW_SECONDS)
        except NoScriptError:  # the server lost its scripts (a restart, SCRIPT FLUSH)
            self._sha = self._call("SCRIPT", "LOAD", _HIT)
            values = self._call("EVALSHA", self._sha, len(keys), *keys, WINDOW_SECONDS)
        return list(zip(values[::2], values[1::2], strict=True))

    def _call(self, *args):
        self._connection.send_packed_command(
            self._connection.pack_command(*args), check_health=False
        )
        response = self._connection.read_response()
        return response.decode() if isinstance(response, bytes) else response

    def _drop(self):
        if self._connection is not None and self._pid == os.getpid():
            self._connection.disconnect()
        self._connection = None

    def __del__(self):
        self._drop()


class MemoryWindows:
    """The same windows in this process's memory (``limits``' memory storage)."""

    def __init__(self):
        self._storage = MemoryStorage()

    def hit(self, keys):
        now = time.time()
        return [
            (
                self._storage.incr(key, WINDOW_SECONDS),
                math.ceil(self._storage.get_expiry(key) - now),
            )
            for key in keys
        ]


class IngestRateLimit:
    """``per_client`` requests a minute per (subject, address), ``per_token`` per subject."""

    def __init__(self, per_client, per_token, redis_url=None):
        self.limits = (per_client, per_token)
        shared = RedisWindows(redis_url) if redis_url else None
        self.windows = Fallback(shared, MemoryWindows(), RedisError)

    def hit(self, subject, address):
        """Count one request; raise ``RateLimitedError`` when a window is past its limit."""
        # Length-prefixed, so no subject and address can make another pair's key.
        keys = [
            f"{KEY_PREFIX}:client:{len(subject)}:{subject}:{address}",
            f"{KEY_PREFIX}:token:{subject}",
        ]
        windows = self.windows.run(lambda counter: counter.hit(keys))
        over = [
            seconds
            for (count, seconds), limit in zip(windows, self.limits, strict=True)
            if count > limit
        ]
        if over:
            raise RateLimitedError(max(1, *over))


def check_rate_limit(subject):
    """Count an ingest request of ``subject`` from the client's address against the limits."""
    current_app.extensions["rate_limit"].hit(subject, request.remote_addr or "")


def init_app(app):
    """Build this app's limiter from its config."""
    config = app.config
    app.extensions["rate_limit"] = IngestRateLimit(
        config["RATE_LIMIT_PER_MINUTE"], config["RATE_LIMIT_TOKEN_PER_MINUTE"], config["REDIS_URL"]
    )
