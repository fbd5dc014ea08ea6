"""Who may use the service: dashboard users, API token records and revocations, dashboard
sessions, the sign-in throttle.

The dashboard (sign-in, administration) and the CLI (``token create``, ``user create``) both
use this package; it imports neither of them.
"""

from . import revocations, throttle

# Internal settings (the environment-driven ones are in config.py).
DEFAULTS = {
    # Werkzeug's generate_password_hash method (tests use a cheap one).
    "DASHBOARD_PASSWORD_HASH": "scrypt",
}


def init_app(app):
    """Set the accounts' defaults, build the app's sign-in throttle and revocation view."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    throttle.init_app(app)
    revocations.init_app(app)
