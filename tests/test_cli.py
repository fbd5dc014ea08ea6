"""``flask --app wsgi analytics token create`` mints tokens that work against the API."""

import jwt as pyjwt
import pytest

from analytics_app.config import DEFAULT_EVENT_TYPES

from helpers import SECRET, Client, make_event


def test_token_create_mints_a_working_scoped_token(app, serve):
    result = app.test_cli_runner().invoke(
        args=["analytics", "token", "create", "--sub", "billing", "--scope", "analytics:admin"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "billing"
    assert claims["scope"] == "analytics:admin"
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    client = Client(serve(app).url, token)
    assert client.ingest([make_event()]).status_code == 200
    assert client.get("/api/analytics/audit").status_code == 200


def test_token_without_scope_is_ingest_only(app):
    result = app.test_cli_runner().invoke(
        args=["analytics", "token", "create", "--sub", "web", "--ttl", "12h"]
    )
    claims = pyjwt.decode(result.output.strip(), SECRET, algorithms=["HS256"])
    assert "scope" not in claims
    assert claims["exp"] - claims["iat"] == 12 * 3600


@pytest.mark.parametrize(
    "args",
    [
        ["--sub", "x", "--scope", "analytics:root"],
        ["--sub", "x", "--ttl", "forever"],
        ["--sub", "x", "--ttl", "0d"],
        ["--scope", "analytics:read"],
    ],
)
def test_token_create_refuses_bad_options(app, args):
    result = app.test_cli_runner().invoke(args=["analytics", "token", "create", *args])
    assert result.exit_code == 2


def test_demo_loads_realistic_data_and_rolls_it_up(app):
    from helpers import query

    result = app.test_cli_runner().invoke(
        args=["analytics", "demo", "--users", "60", "--days", "14"]
    )
    assert result.exit_code == 0, result.output
    types = {row[0] for row in query(app, "SELECT DISTINCT type FROM events")}
    assert types == set(DEFAULT_EVENT_TYPES)
    assert query(app, "SELECT count(DISTINCT user_id) FROM events")[0][0] >= 30
    assert query(app, "SELECT count(*) FROM metrics WHERE name = 'dau'")[0][0] >= 13
    again = app.test_cli_runner().invoke(
        args=["analytics", "demo", "--users", "60", "--days", "14"]
    )
    assert again.exit_code == 0
    assert query(app, "SELECT count(*) FROM events")[0][0] == int(result.output.split()[1])


def test_rollup_and_cleanup_commands_report_their_work(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["analytics", "demo", "--users", "20", "--days", "5"])
    rolled = runner.invoke(
        args=["analytics", "rollup", "--from", "2026-01-01", "--to", "2026-01-03"]
    )
    assert rolled.exit_code == 0, rolled.output
    assert "3 day(s) rolled up" in rolled.output
    cleaned = runner.invoke(args=["analytics", "cleanup"])
    assert cleaned.exit_code == 0
    assert "deleted 0 event(s)" in cleaned.output
    bad = runner.invoke(args=["analytics", "rollup", "--from", "yesterday"])
    assert bad.exit_code == 2
