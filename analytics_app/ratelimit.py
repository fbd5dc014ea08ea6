"""Per-subject request rate limit, shared by every worker through Redis.

Built on ``limits`` (the storage and strategy library under Flask-Limiter) rather than on the
Flask-Limiter extension itself, whose single global storage cannot serve two differently
configured apps in one process. With Redis unreachable the limit degrades to a per-process
count for a short while instead of failing requests.
"""

import logging
import math
import time

from flask import current_app
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .errors import AppError

log = logging.getLogger(__name__)

# How long to count in process memory after Redis failed, before trying Redis again.
REDIS_RETRY_SECONDS = 10


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
    Redis or for ``REDIS_RETRY_SECONDS`` after it failed."""

    def __init__(self, strategy, redis_url, key_prefix):
        self.strategy = strategy
        self.local = strategy(MemoryStorage())
        self.shared = None
        if redis_url:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
                key_prefix=key_prefix,
            )
            self.shared = strategy(storage)
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


class RateLimit:
    """A fixed one-minute window of ``per_minute`` requests per key."""

    def __init__(self, per_minute, redis_url=None):
        self.item = RateLimitItemPerMinute(per_minute)
        self.limiter = ResilientLimiter(FixedWindowRateLimiter, redis_url, "analytics:ratelimit")

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
