"""Self-hosted product analytics: event ingest, reports, exports and a dashboard."""

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent


def create_app(env=None):
    """Create the app from the process environment, ``env`` overriding variables in it."""
    from . import (
        accounts,
        api,
        auth,
        cli,
        dashboard,
        database,
        errors,
        http_security,
        ingest,
        logs,
        metrics,
        ratelimit,
        redis_store,
        request_id,
        routing,
        static_assets,
        tasks,
    )
    from .config import load_config
    from .extensions import db, migrate
    from .reports import cache as report_cache

    app = Flask(__name__, static_folder=ROOT / "static", template_folder=ROOT / "templates")
    app.config.update(load_config({**os.environ, **(env or {})}, app.instance_path))
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    logs.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    request_id.init_app(app)
    http_security.init_app(app)
    static_assets.init_app(app)
    metrics.init_app(app)
    auth.init_app(app)
    redis_store.init_app(app)
    report_cache.init_app(app)
    ratelimit.init_app(app)
    ingest.init_app(app)
    tasks.init_app(app)
    routing.init_app(app)
    api.init_app(app)
    accounts.init_app(app)
    dashboard.init_app(app)
    errors.init_app(app)  # after api: replaces flask-smorest's own HTTPException handler
    cli.init_app(app)
    return app


def warm_up(app):
    """Build what a new web process's first requests would otherwise build, before it takes
    any (gunicorn's ``post_worker_init``): the dashboard's templates and charts."""
    from .dashboard.warm import warm_up as warm_up_dashboard

    warm_up_dashboard(app)
