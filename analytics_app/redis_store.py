"""The app's Redis client, when ``REDIS_URL`` is set (cache, health); None otherwise."""

from flask import current_app
from redis import Redis


def get_redis():
    """Return the shared Redis client, or None on the embedded (Redis-less) setup."""
    return current_app.extensions.get("redis")


def init_app(app):
    """Create the client lazily-connecting: nothing touches the network here."""
    if app.config["REDIS_URL"]:
        app.extensions["redis"] = Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5
        )
