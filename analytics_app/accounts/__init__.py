"""Who may use the service: dashboard users, API token records, dashboard sessions.

The dashboard (sign-in, administration) and the CLI (``token create``, ``user create``) both
use this package; it imports neither of them.
"""

from . import throttle

# Internal settings (the environment-driven ones are in config.py).
DEFAULTS = {
    # Werkzeug's generate_password_hash method (tests use a cheap one).
    "DASHBOARD_PASSWORD_HASH": "scrypt",
}


def init_app(app):
    """Set the accounts' defaults and build the app's sign-in throttle."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    throttle.init_app(app)
