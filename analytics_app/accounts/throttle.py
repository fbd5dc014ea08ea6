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

from flask import current_app
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from ..errors import AppError
from ..ratelimit import ResilientLimiter, seconds_until_reset

log = logging.getLogger(__name__)

# The Redis keys of the counts start with this.
KEY_PREFIX = "analytics:signin"


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
        self.limiter = ResilientLimiter(MovingWindowRateLimiter, redis_url, KEY_PREFIX)

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
                return seconds_until_reset(limiter, item, kind, key)

            retry_after = self.limiter.run(blocked_for)
            if retry_after:
                log.warning("sign-in throttled (%s)", kind)
                raise SignInThrottledError(retry_after)

    def failed(self, email, address):
        """Count a failed sign-in against the account and the address."""
        for kind, key in self._keys(email, address).items():
            self.limiter.run(
                lambda limiter, kind=kind, key=key: limiter.hit(self.limits[kind], kind, key)
            )

    def succeeded(self, email):
        """Forget the account's failures after a successful sign-in."""
        key = self._keys(email, None)["account"]
        self.limiter.run(lambda limiter: limiter.clear(self.limits["account"], "account", key))


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
