"""Operator commands under ``flask --app wsgi analytics …``."""

import re
from datetime import timedelta

import click
from flask.cli import AppGroup

from .auth import SCOPES, mint_token

analytics = AppGroup("analytics", help="Analytics service administration.")
token = AppGroup("token", help="API tokens for services and web apps.")
analytics.add_command(token)

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text):
    """Parse ``90s``, ``15m``, ``12h``, ``30d`` or ``2w`` into a timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(f"{text!r} is not a duration like 15m, 12h, 30d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@token.command("create")
@click.option("--sub", required=True, help="Who the token is for (a service or app name).")
@click.option(
    "--scope",
    default="",
    help=f"Space-separated scopes: {', '.join(SCOPES)}. None: ingest only.",
)
@click.option("--ttl", default="30d", show_default=True, help="Lifetime: 15m, 12h, 30d, 2w…")
def create_token(sub, scope, ttl):
    """Mint a signed token and print it (it is not stored anywhere)."""
    scopes = scope.split()
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise click.BadParameter(f"unknown scope(s): {', '.join(unknown)}", param_hint="--scope")
    click.echo(mint_token(sub, scopes, parse_duration(ttl)))


def init_app(app):
    """Register the command group."""
    app.cli.add_command(analytics)
