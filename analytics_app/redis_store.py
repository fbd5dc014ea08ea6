"""The app's Redis client, when ``REDIS_URL`` is set (cache, health); None otherwise. And
``Fallback``: how the users of Redis that must not fail with it carry on while it is down.

Three components keep working without Redis: the ingest rate limit and the sign-in throttle
count in process memory (so each process has its own limits: they multiply by the number of
processes), and the token revocations are read from the database. Each outage is logged
when it starts and ends, and every operation done without Redis is counted in
``analytics_redis_fallback_total{component}``.
"""

import logging
import time

from flask import current_app
from redis import Redis

from .metrics import record_fallback

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 0.5
# How long to work without Redis after it failed, before trying it again.
RETRY_SECONDS = 10


def get_redis():
    """Return the shared Redis client, or None on the embedded (Redis-less) setup."""
    return current_app.extensions.get("redis")


class Fallback:
    """Run an action on ``shared`` (Redis), or on ``local`` for ``RETRY_SECONDS`` after
    ``shared`` raised one of ``errors`` (and when there is no ``shared`` at all).

    ``component`` names the user in the log and the metric (one of ``metrics.FALLBACKS``);
    ``local_means`` says in the log what working without Redis means for it.
    """

    def __init__(self, shared, local, errors, component, local_means):
        self.shared, self.local, self.errors = shared, local, errors
        self.component, self.local_means = component, local_means
        self._shared_down_until = 0.0
        self._down = False

    def run(self, action):
        """Return ``action(store)``, on Redis or, while it is failing, on the local store."""
        if self.shared is None:
            return action(self.local)
        if time.monotonic() >= self._shared_down_until:
            try:
                result = action(self.shared)
            except self.errors as error:
                log.warning(
                    "Redis unreachable: %s for the next %d s: %s",
                    self.local_means,
                    RETRY_SECONDS,
                    error,
                    extra={"component": self.component},
                )
                self._shared_down_until = time.monotonic() + RETRY_SECONDS
                self._down = True
            else:
                if self._down:
                    self._down = False
                    log.warning(
                        "Redis reachable again (%s)",
                        self.component,
                        extra={"component": self.component},
                    )
                return result
        record_fallback(self.component)
        return action(self.local)


def init_app(app):
    """Create the client lazily-connecting: nothing touches the network here."""
    if app.config["REDIS_URL"]:
        app.extensions["redis"] = Redis.from_url(
            app.config["REDIS_URL"],
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
        )
