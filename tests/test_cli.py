"""The operators' commands: tokens minted, listed, checked and revoked against the real API;
rollup, cleanup and demo."""

from datetime import timedelta

import jwt as pyjwt
import pytest

from analytics_app.config import DEFAULT_EVENT_TYPES

from helpers import SECRET, Client, make_event, make_token, query


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
        ["--sub", "x", "--scope", "x\u00a0analytics:read"],
    ],
)
def test_token_create_refuses_bad_options(app, args):
    result = app.test_cli_runner().invoke(args=["analytics", "token", "create", *args])
    assert result.exit_code == 2


@pytest.mark.parametrize("ttl", ["400000w", "366d", "53w", "99999999999999d"])
def test_token_create_refuses_lifetimes_beyond_the_max_ttl(app, ttl):
    result = app.test_cli_runner().invoke(
        args=["analytics", "token", "create", "--sub", "x", "--ttl", ttl]
    )
    assert result.exit_code == 2
    assert "--ttl" in result.output
    assert query(app, "SELECT count(*) FROM api_tokens")[0][0] == 0


def test_token_create_mints_up_to_the_max_ttl(make_app):
    runner = make_app(TOKEN_MAX_TTL="90d").test_cli_runner()
    longest = runner.invoke(args=["analytics", "token", "create", "--sub", "x", "--ttl", "90d"])
    claims = pyjwt.decode(longest.output.strip(), SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 90 * 24 * 3600
    too_long = runner.invoke(args=["analytics", "token", "create", "--sub", "x", "--ttl", "91d"])
    assert too_long.exit_code == 2
    assert "TOKEN_MAX_TTL" in too_long.output


def _cli(app, *args, **kwargs):
    result = app.test_cli_runner().invoke(args=["analytics", "token", *args], **kwargs)
    return result.exit_code, result.output


def test_tokens_are_listed_revoked_and_checked_by_their_jti(app, serve):
    _, token = _cli(app, "create", "--sub", "billing", "--scope", "analytics:read")
    token = token.strip()
    jti = pyjwt.decode(token, SECRET, algorithms=["HS256"])["jti"]
    client = Client(serve(app).url, token)
    assert client.ingest([make_event()]).status_code == 200

    code, listed = _cli(app, "list")
    assert code == 0
    [line] = listed.splitlines()
    assert line.split("\t")[:4] == [jti, "active", "billing", "analytics:read"]
    assert _cli(app, "check", input=token)[0] == 0

    code, output = _cli(app, "revoke", jti)
    assert code == 0, output
    assert output.startswith(f"revoked {jti} (billing) at ")
    assert output.strip().endswith("by cli")
    assert client.ingest([make_event()]).status_code == 401
    assert "revoked" in _cli(app, "list")[1].split("\t")[1]
    code, output = _cli(app, "check", input=token)
    assert code == 1
    assert "revoked" in output
    [(revoked_by, revoked)] = query(app, "SELECT revoked_by, revoked_at FROM api_tokens")
    assert revoked_by == "cli"
    assert revoked is not None

    assert _cli(app, "revoke", jti)[0] == 0  # twice: still revoked, nothing changes
    assert query(app, "SELECT revoked_at FROM api_tokens")[0][0] == revoked
    code, output = _cli(app, "revoke", "no-such-jti")
    assert code == 1
    assert "no minted token" in output


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (make_token(expires_in=timedelta(seconds=-5)), "expired"),
        (make_token(key="another-secret-" + "Qw9rT2yU8iO3pA7sD1fG" * 3), "Signature"),
        (make_token(expires_in=timedelta(days=800)), "TOKEN_MAX_TTL"),
        (make_token(expires_in=timedelta(hours=2)), "too soon"),
        ("not a token", "invalid token"),
    ],
)
def test_token_check_says_why_a_token_would_be_refused(app, token, reason):
    code, output = _cli(app, "check", "--valid-for", "1d", input=token)
    assert code == 1
    assert reason in output


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
