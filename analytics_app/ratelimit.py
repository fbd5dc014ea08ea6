"""Rate limits counted for every worker in Redis, with a per-process fallback: ingest's, and the
strategy wrapper the dashboard's sign-in throttle uses.

Each request counts in two fixed one-minute windows: one per token subject *and client
address* (``RATE_LIMIT_PER_MINUTE``), so one noisy browser is slowed and nobody else, and one
per subject (``RATE_LIMIT_TOKEN_PER_MINUTE``), a ceiling on what a leaked token can send. The
client address is the peer's, or the one ``TRUSTED_PROXIES`` proxies put in
``X-Forwarded-For`` (Werkzeug's ProxyFix, set up in ``create_app``).

Both windows are counted by one script in one Redis round trip, on a connection the process
holds. With Redis unreachable, limits degrade to a per-process count (``limits``' memory
storage) for a short while instead of failing requests, and say so in the log and the metrics
(``redis_store.Fallback``).
"""

import math
import os
import threading
import time

from flask import current_app, request
from limits.storage import MemoryStorage
from redis import ConnectionError as RedisConnectionError
from redis import Redis, RedisError
from redis.exceptions import NoScriptError

from .errors import AppError
from .redis_store import TIMEOUT_SECONDS, Fallback

WINDOW_SECONDS = 60
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


class RedisWindows:
    """Count window hits with the ``_HIT`` script on one connection this process keeps open.

    A held connection costs far less CPU per request than checking one out of redis-py's
    pool (bench/README.md, "Figures behind the code"). Raises ``RedisError`` on failure.
    """

    def __init__(self, redis_url):
        self._pool = Redis.from_url(
            redis_url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
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
        self.windows = Fallback(
            shared,
            MemoryWindows(),
            RedisError,
            "ingest_rate_limit",
            "ingest requests are counted per process",
        )

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
