"""Per-subject request rate limit, shared by every worker through Redis.

Built on ``limits`` (the storage and strategy library under Flask-Limiter) rather than on the
Flask-Limiter extension itself, whose single global storage cannot serve two differently
configured apps in one process. With Redis unreachable the limit degrades to a per-process
count for a short while instead of failing requests.
"""

import logging
import math
import os
import threading
import time

from flask import current_app
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis import ConnectionError as RedisConnectionError
from redis import Redis, RedisError

from .errors import AppError

log = logging.getLogger(__name__)

# How long to count in process memory after Redis failed, before trying Redis again.
REDIS_RETRY_SECONDS = 10
REDIS_TIMEOUT_SECONDS = 0.5

# limits' own fixed-window script (incr_expire.lua): count the hit, and start the window's
# expiry on its first one.
_INCR_EXPIRE = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
return current
"""


class RateLimitedError(AppError):
    status = 429
    message = "rate limit exceeded"

    def __init__(self, retry_after):
        super().__init__(
            f"rate limit exceeded, retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class ResilientLimiter:
    """A ``limits`` strategy counted in Redis when configured, and in process memory without
    Redis or for ``REDIS_RETRY_SECONDS`` after it failed.

    ``shared``, when given, builds the Redis-side strategy from the storage (default: the
    strategy itself)."""

    def __init__(self, strategy, redis_url, key_prefix, shared=None):
        self.strategy = strategy
        self.local = strategy(MemoryStorage())
        self.shared = None
        if redis_url:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                key_prefix=key_prefix,
            )
            self.shared = (shared or strategy)(storage)
        self._shared_down_until = 0.0

    def run(self, action):
        """Return ``action(limiter)``, on Redis or, while it is failing, in memory."""
        if self.shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return action(self.shared)
            except StorageError as error:
                log.warning("rate-limit store unavailable, counting per process: %s", error)
                self._shared_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return action(self.local)

    def reset(self):
        """Forget every count (tests)."""
        self.local = self.strategy(MemoryStorage())
        if self.shared is not None:
            self.run(lambda limiter: limiter.storage.reset())


def seconds_until_reset(limiter, item, *identifiers):
    """Whole seconds (at least 1) until the window of ``item`` frees a request."""
    reset_at = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_at - time.time()))


class HeldConnectionCounter:
    """Run limits' fixed-window count on one Redis connection that this process keeps open.

    Ingest pays this round trip on every request, and through limits and redis-py's client it
    cost more than twice the CPU of a held connection (bench/README.md, "Figures behind the
    code"): checking a connection out of redis-py's pool polls its socket, and retries and
    event hooks come on top. Failures raise limits' ``StorageError``, as the limits storage
    does, so the fallback to counting in memory is unchanged.
    """

    def __init__(self, redis_url):
        self._pool = Redis.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        ).connection_pool
        self._connection = None
        self._pid = None
        self._lock = threading.Lock()  # the connection serves one request at a time

    def incr(self, key, expiry, amount):
        """Add ``amount`` to ``key`` (expiring after ``expiry`` s from its first hit)."""
        with self._lock:
            try:
                try:
                    return self._eval(key, expiry, amount)
                except RedisConnectionError:  # closed since the last request: reconnect once
                    self._drop()
                    return self._eval(key, expiry, amount)
            except RedisError as error:
                self._drop()
                raise StorageError(error) from error

    def _eval(self, key, expiry, amount):
        if self._connection is None or self._pid != os.getpid():  # new, or forked
            self._connection, self._pid = self._pool.make_connection(), os.getpid()
        command = self._connection.pack_command("EVAL", _INCR_EXPIRE, 1, key, expiry, amount)
        self._connection.send_packed_command(command, check_health=False)
        return int(self._connection.read_response())

    def _drop(self):
        if self._connection is not None and self._pid == os.getpid():
            self._connection.disconnect()
        self._connection = None

    def __del__(self):
        self._drop()


class HeldConnectionFixedWindow(FixedWindowRateLimiter):
    """limits' fixed window on Redis, counting its hits through a ``HeldConnectionCounter``;
    the rest (window stats, reset) goes through the limits storage, on the same keys."""

    def __init__(self, storage, redis_url):
        super().__init__(storage)
        self.counter = HeldConnectionCounter(redis_url)

    def hit(self, item, *identifiers, cost=1):
        key = self.storage.prefixed_key(item.key_for(*identifiers))
        return self.counter.incr(key, item.get_expiry(), cost) <= item.amount


class RateLimit:
    """A fixed one-minute window of ``per_minute`` requests per key."""

    def __init__(self, per_minute, redis_url=None):
        self.item = RateLimitItemPerMinute(per_minute)
        self.limiter = ResilientLimiter(
            FixedWindowRateLimiter,
            redis_url,
            "analytics:ratelimit",
            shared=lambda storage: HeldConnectionFixedWindow(storage, redis_url),
        )

    def hit(self, key):
        """Count one request for ``key``; raise ``RateLimitedError`` past the limit."""

        def attempt(limiter):
            if limiter.hit(self.item, key):
                return 0
            return seconds_until_reset(limiter, self.item, key)

        retry_after = self.limiter.run(attempt)
        if retry_after:
            raise RateLimitedError(retry_after)


def check_rate_limit(key):
    """Count a request against the app's limit for ``key``."""
    current_app.extensions["rate_limit"].hit(key)


def init_app(app):
    """Build this app's limiter from its config."""
    app.extensions["rate_limit"] = RateLimit(
        app.config["RATE_LIMIT_PER_MINUTE"], app.config["REDIS_URL"]
    )
