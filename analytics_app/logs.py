"""Logging: the service's own loggers at ``LOG_LEVEL``, to stderr unless already configured."""

import logging


def init_app(app):
    """Give the app's loggers their level; leave handlers to gunicorn or the host if present."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("analytics_app").setLevel(app.config["LOG_LEVEL"])
