"""``flask --app wsgi analytics token create`` mints tokens that work against the API."""

import jwt as pyjwt
import pytest

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
