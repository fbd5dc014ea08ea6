"""A throttle on failed sign-ins, per account and per client address, on ``limits``.

Moving windows (``DASHBOARD_SIGNIN_ACCOUNT_LIMIT``, default 5 failures per 15 minutes per
email address, known or not; ``DASHBOARD_SIGNIN_IP_LIMIT``, 30 per 15 minutes per address),
counted in Redis when configured so every worker sees them, in process memory otherwise or
while Redis is unreachable (as the ingest rate limit does). A success clears the account's
count, not the address's.
"""

import hashlib
import logging
import math
import time

from flask import current_app
from limits import parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..errors import AppError

log = logging.getLogger(__name__)

REDIS_RETRY_SECONDS = 10


class SignInThrottledError(AppError):
    status = 429
    message = "too many failed sign-ins"

    def __init__(self, retry_after):
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes > 1)}.",
            headers={"Retry-After": str(retry_after)},
        )


class SignInThrottle:
    """Failure counts per account and per address, each with its own limit."""

    def __init__(self, account_limit, ip_limit, redis_url=None):
        self.limits = {"account": parse(account_limit), "ip": parse(ip_limit)}
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.shared = None
        if redis_url:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
                key_prefix="analytics:signin",
            )
            self.shared = MovingWindowRateLimiter(storage)
        self._shared_down_until = 0.0

    def _run(self, action):
        """Run ``action(limiter)`` on Redis, or in memory while Redis is failing."""
        if self.shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return action(self.shared)
            except StorageError as error:
                log.warning("sign-in throttle store unavailable, counting per process: %s", error)
                self._shared_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return action(self.local)

    @staticmethod
    def _keys(email, address):
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return {"account": account, "ip": address or "unknown"}

    def check(self, email, address):
        """Raise ``SignInThrottledError`` while the account or the address is locked out."""
        for kind, key in self._keys(email, address).items():
            item = self.limits[kind]

            def blocked_for(limiter, item=item, kind=kind, key=key):
                if limiter.test(item, kind, key):
                    return 0
                reset_at = limiter.get_window_stats(item, kind, key).reset_time
                return max(1, math.ceil(reset_at - time.time()))

            retry_after = self._run(blocked_for)
            if retry_after:
                log.warning("sign-in throttled (%s)", kind)
                raise SignInThrottledError(retry_after)

    def failed(self, email, address):
        """Count a failed sign-in against the account and the address."""
        for kind, key in self._keys(email, address).items():
            self._run(lambda limiter, kind=kind, key=key: limiter.hit(self.limits[kind], kind, key))

    def succeeded(self, email):
        """Forget the account's failures after a successful sign-in."""
        key = self._keys(email, None)["account"]
        self._run(lambda limiter: limiter.clear(self.limits["account"], "account", key))

    def reset(self):
        """Forget every count (tests)."""
        self.local = MovingWindowRateLimiter(MemoryStorage())
        if self.shared is not None:
            self._run(lambda limiter: limiter.storage.reset())


def throttle():
    """The current app's sign-in throttle."""
    return current_app.extensions["signin_throttle"]


def init_app(app):
    """Build this app's throttle from its config."""
    app.extensions["signin_throttle"] = SignInThrottle(
        app.config["DASHBOARD_SIGNIN_ACCOUNT_LIMIT"],
        app.config["DASHBOARD_SIGNIN_IP_LIMIT"],
        app.config["REDIS_URL"],
    )
