"""Operator commands under ``flask --app wsgi analytics …``."""

import logging
import sys
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from . import demo, partitions, retention
from .accounts import tokens, users
from .auth import SCOPES, split_scopes
from .config import parse_duration
from .errors import AppError
from .metrics import serve_worker_metrics
from .metrics_server import parse_bind
from .reports.stored import rolled_zones
from .rollup.run import roll_up
from .tasks import quiet_huey

log = logging.getLogger(__name__)

analytics = AppGroup("analytics", help="Analytics service administration.")
token = AppGroup("token", help="API tokens for services and web apps.")
user = AppGroup("user", help="Dashboard users.")
analytics.add_command(token)
analytics.add_command(user)


@token.command("create")
@click.option("--sub", required=True, help="Who the token is for (a service or app name).")
@click.option(
    "--scope",
    default="",
    help=f"Space-separated scopes: {', '.join(SCOPES)}. None: ingest only.",
)
@click.option(
    "--ttl",
    default=tokens.DEFAULT_LIFETIME,
    show_default=True,
    help="Lifetime: 15m, 12h, 30d, 2w… (at most TOKEN_MAX_TTL, 365d by default).",
)
def create_token(sub, scope, ttl):
    """Mint a signed token and print it (its record, not the token, goes in api_tokens)."""
    try:
        minted, _ = tokens.mint(sub, split_scopes(scope), ttl, created_by="cli")
    except tokens.UnknownScopeError as refused:
        raise click.BadParameter(refused.message, param_hint="--scope") from None
    except tokens.InvalidLifetimeError as refused:
        raise click.BadParameter(refused.message, param_hint="--ttl") from None
    click.echo(minted)


def _moment(value):
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@token.command("list")
@click.option("--limit", default=200, show_default=True, help="How many, newest first.")
def list_tokens(limit):
    """List minted tokens, newest first: jti, status, subject, scopes, expiry, creator."""
    now = datetime.now(UTC)
    for record in tokens.recent(limit):
        state = tokens.status(record, now)
        if state == "revoked":
            state = f"revoked {_moment(record.revoked_at)} by {record.revoked_by}"
        click.echo(
            "\t".join(
                [
                    record.jti,
                    state,
                    record.sub,
                    record.scopes or "(ingest only)",
                    f"expires {_moment(record.expires_at)}",
                    f"created by {record.created_by}",
                ]
            )
        )


@token.command("revoke")
@click.argument("jti")
def revoke_token(jti):
    """Revoke a minted token by its jti: every worker refuses it within seconds."""
    try:
        record = tokens.revoke(jti, revoked_by="cli")
    except tokens.UnknownTokenError as refused:
        raise click.ClickException(refused.message) from None
    click.echo(
        f"revoked {record.jti} ({record.sub}) at {_moment(record.revoked_at)}"
        f" by {record.revoked_by}"
    )


def _duration(ctx, param, value):
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@token.command("check")
@click.option(
    "--valid-for",
    default="1m",
    show_default=True,
    callback=_duration,
    help="Fail unless the token stays valid at least this long.",
)
def check_token(valid_for):
    """Read a token on standard input; say whether the API accepts it (exit 0) or why not."""
    try:
        claims = tokens.verify(sys.stdin.read())
    except tokens.TokenRefusedError as refused:
        raise click.ClickException(refused.message) from None
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    if expires - datetime.now(UTC) < valid_for:
        raise click.ClickException(f"the token expires at {_moment(expires)}, too soon")
    click.echo(f"valid: sub {claims['sub']}, jti {claims.get('jti')}, expires {_moment(expires)}")


@user.command("create")
@click.option("--email", required=True, help="The user's email address (their sign-in name).")
@click.option("--admin", is_flag=True, help="May manage dashboard users and API tokens.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given (preferable: it stays out of the shell history).",
)
def create_user(email, admin, password):
    """Create a dashboard user."""
    try:
        created = users.create(email, password, is_admin=admin)
    except AppError as refused:
        raise click.ClickException(refused.message) from None
    role = "administrator" if created.is_admin else "user"
    click.echo(f"created {role} {created.email}")


@analytics.command("rollup")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day to recompute.")
@click.option(
    "--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: yesterday)."
)
def rollup_command(start, end):
    """Roll events up into daily metrics (new and changed days, or the given range)."""
    zones = rolled_zones(current_app.config)
    start, end = (d.date() if d else None for d in (start, end))
    with click.progressbar(length=1, label="Rolling up", show_pos=True) as bar:

        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        days = roll_up(zones, start, end, progress)
    click.echo(f"{days} day(s) rolled up for {', '.join(zones)}")


@analytics.command("cleanup")
def cleanup_command():
    """Delete events and metrics past their retention periods."""
    with click.progressbar(length=0, label="Deleting", show_pos=True) as bar:
        deleted = retention.clean_up(progress=lambda count: bar.update(count))
    click.echo(
        f"deleted {deleted['events']} event(s), {deleted['metrics']} metric row(s),"
        f" {deleted['activity_days']} day(s) of activity"
        f" and {deleted['exports']} expired export file(s)"
    )


@analytics.command("partitions")
@click.option(
    "--from",
    "since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Also make those of the days from this UTC date (YYYY-MM-DD) to today.",
)
def partitions_command(since):
    """Make the partitions of events ahead of time, and of days whose events wait (PostgreSQL)."""
    made = partitions.make_ahead(since=since.replace(tzinfo=UTC) if since else None)
    click.echo(f"made {len(made)} partition(s){': ' if made else ''}{', '.join(made)}")


@analytics.command("demo")
@click.option("--users", default=300, show_default=True, help="How many users.")
@click.option("--days", default=28, show_default=True, help="How many days up to today.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
def demo_command(users, days, seed):
    """Load realistic sample events and roll them up, for a dashboard that is alive at once."""
    count = demo.load(users=users, days=days, seed=seed)
    click.echo(f"stored {count} sample event(s) for {users} users over {days} days")
    roll_up(rolled_zones(current_app.config))


def _bind(ctx, param, value):
    if not value:
        return None
    try:
        parse_bind(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@analytics.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option(
    "--metrics-bind",
    envvar="WORKER_METRICS_BIND",
    callback=_bind,
    help="Serve this worker's Prometheus metrics on HOST:PORT (a bare PORT: 127.0.0.1).",
)
def worker_command(workers, metrics_bind):
    """Run the Huey consumer: queued tasks and the periodic rollup and cleanup."""
    app = current_app._get_current_object()
    quiet_huey()
    if metrics_bind:
        serve_worker_metrics(app, metrics_bind)
    log.info(
        "worker started",
        extra={
            "threads": workers,
            "queue": type(app.extensions["huey"]).__name__,
            "metrics": metrics_bind,
        },
    )
    huey = app.extensions["huey"]
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


def init_app(app):
    """Register the command group."""
    app.cli.add_command(analytics)
