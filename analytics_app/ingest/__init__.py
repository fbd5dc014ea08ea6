"""The ingest hot path: body → validation → batch writer, with its audit trail."""

from .validation import Rules


def init_app(app):
    """Freeze the validation rules from the config once, not per request."""
    app.extensions["ingest_rules"] = Rules.from_config(app.config)
