"""Bearer tokens: standard JWTs work, attacks get 401, missing scopes get 403."""

import base64
import json
import time
from datetime import timedelta

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from analytics_app.config import load_config

from helpers import SECRET, Client, count_events, make_event, make_token, query

AUDIT = "/api/analytics/audit"


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(sub="attacker"):
    """A token with ``alg: none`` and no signature."""
    header = _b64({"alg": "none", "typ": "JWT"})
    payload = _b64({"sub": sub, "exp": 4102444800, "scope": "analytics:admin"})
    return f"{header}.{payload}."


def rsa_keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def tampered(token):
    """Swap in an admin payload but keep the original signature."""
    header, _, signature = token.split(".")
    admin = {"sub": "x", "exp": 4102444800, "scope": "analytics:admin"}
    return f"{header}.{_b64(admin)}.{signature}"


def resigned(payload):
    """A correctly signed token with an arbitrary payload."""
    import jwt as pyjwt

    return pyjwt.encode(payload, SECRET, algorithm="HS256")


ATTACKS = {
    "alg-none": unsigned_token(),
    "wrong-key": make_token(key="another-secret-" + "y" * 60),
    "expired": make_token(expires_in=timedelta(seconds=-30)),
    "no-exp": make_token(expires_in=None),
    "no-sub": resigned({"exp": 4102444800}),
    "garbage": "not-a-jwt",
    "two-segments": "abc.def",
    "tampered-payload": tampered(make_token(scope="")),
    "hs512-same-secret": make_token(algorithm="HS512"),
    # Subjects the audit trail and export jobs could not record.
    "empty-sub": resigned({"sub": "", "exp": int(time.time()) + 3600}),
    "sub-too-long": make_token(sub="s" * 256),
    "sub-with-nul": make_token(sub="a\x00b"),
}


@pytest.mark.parametrize("token", ATTACKS.values(), ids=ATTACKS.keys())
def test_bad_tokens_are_refused_with_401(app, client, token):
    response = client.ingest([make_event()], token=token)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == 401
    assert count_events(app) == 0


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"]
)
def test_malformed_authorization_headers_are_refused_with_401(client, authorization):
    response = client.ingest([make_event()], token=None, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_rs256_tokens_work_when_configured_and_hs256_is_then_refused(make_app, serve):
    private, public = rsa_keys()
    app = make_app(JWT_ALGORITHM="RS256", JWT_PUBLIC_KEY=public)
    url = serve(app).url
    good = make_token(key=private, algorithm="RS256")
    assert Client(url, good).ingest([make_event()]).status_code == 200
    # Algorithm confusion: an HS256 token signed with the public key as the HMAC secret.
    import hashlib
    import hmac

    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64({"sub": "attacker", "exp": 4102444800})
    signature = hmac.new(public.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    forged = (
        f"{header}.{payload}." + base64.urlsafe_b64encode(signature.digest()).rstrip(b"=").decode()
    )
    assert Client(url, forged).ingest([make_event()]).status_code == 401
    assert Client(url, make_token()).ingest([make_event()]).status_code == 401


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({}, 403),
        ({"scope": "analytics:read"}, 403),
        ({"scope": "openid analytics:admin profile"}, 200),
        ({"scopes": ["analytics:admin"]}, 200),
        ({"scopes": "analytics:admin"}, 403),
        ({"scope": "analytics:administrator"}, 403),
    ],
    ids=[
        "ingest-only",
        "read-only",
        "admin-in-scope-string",
        "admin-in-scopes-list",
        "scopes-not-a-list",
        "lookalike-scope",
    ],
)
def test_admin_endpoint_requires_the_admin_scope(client, claims, status):
    token = make_token(**claims)
    response = client.get(AUDIT, token=token)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["message"] == "this endpoint needs the 'analytics:admin' scope"


def test_an_ingest_only_token_cannot_read_the_audit_trail(client):
    client.ingest([make_event()])
    response = client.get(AUDIT)
    assert response.status_code == 403
    assert "events" not in response.text


def test_the_audit_trail_lists_batches_newest_first(client):
    admin = make_token(scope="analytics:admin")
    client.ingest([make_event()], headers={"X-Request-ID": "first"})
    client.ingest([make_event(type="bad")], headers={"X-Request-ID": "second"})
    records = client.get(AUDIT, token=admin).json()
    assert [(r["request_id"], r["http_status"]) for r in records] == [
        ("second", 422),
        ("first", 200),
    ]
    older = client.get(AUDIT + f"?before={records[0]['id']}", token=admin).json()
    assert [r["request_id"] for r in older] == ["first"]
    assert client.get(AUDIT + "?limit=0", token=admin).status_code == 422


def test_unauthenticated_audit_request_gets_401_before_argument_errors(client):
    assert client.get(AUDIT + "?limit=abc", token=None).status_code == 401


def test_the_secret_used_by_tests_is_a_valid_production_secret(tmp_path):
    config = load_config({"APP_ENV": "production", "JWT_SECRET_KEY": SECRET}, tmp_path)
    assert config["JWT_SECRET_KEY"] == SECRET


def test_a_remembered_token_still_expires(client):
    token = make_token(expires_in=timedelta(seconds=2))
    assert client.ingest([make_event()], token=token).status_code == 200
    import time

    time.sleep(2.2)
    assert client.ingest([make_event()], token=token).status_code == 401


def test_a_token_remembered_by_one_app_is_not_trusted_by_another_with_another_key(make_app, serve):
    token = make_token()
    first = Client(serve(make_app()).url, token)
    assert first.ingest([make_event()]).status_code == 200
    other = make_app(JWT_SECRET_KEY="another-secret-" + "z" * 60)
    assert Client(serve(other).url, token).ingest([make_event()]).status_code == 401


@pytest.mark.parametrize(
    ("expires_in", "status"),
    [
        (timedelta(days=364), 200),
        (timedelta(days=365, minutes=4), 200),  # within the issuer's clock leeway
        (timedelta(days=366), 401),
        (timedelta(days=400_000), 401),
    ],
)
def test_tokens_may_not_expire_further_ahead_than_the_max_ttl(client, expires_in, status):
    response = client.ingest([make_event()], token=make_token(expires_in=expires_in))
    assert response.status_code == status
    if status == 401:
        assert "TOKEN_MAX_TTL" in response.json()["message"]


@pytest.mark.parametrize("exp", [10**18, "99999999999", 1e300])
def test_an_expiry_in_another_millennium_is_refused(client, exp):
    response = client.ingest([make_event()], token=make_token(expires_in=None, exp=exp))
    assert response.status_code == 401


def test_the_max_ttl_is_a_setting(make_app, serve):
    client = Client(serve(make_app(TOKEN_MAX_TTL="12h")).url, None)
    assert client.ingest([make_event()], token=make_token(expires_in=timedelta(hours=11))).ok
    refused = client.ingest([make_event()], token=make_token(expires_in=timedelta(hours=13)))
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"scope": "analytics:admin"}, 200),
        ({"scope": " analytics:admin  other "}, 200),
        ({"scope": "x\u00a0analytics:admin"}, 403),
        ({"scope": "x\tanalytics:admin"}, 403),
        ({"scope": "x\u2003analytics:admin\u3000y"}, 403),
        ({"scopes": ["x analytics:admin"]}, 403),
    ],
)
def test_scopes_are_split_on_ascii_spaces_only(client, claims, status):
    assert client.get(AUDIT, token=make_token(**claims)).status_code == status


AUDIENCE = {"JWT_DECODE_AUDIENCE": "analytics", "JWT_DECODE_ISSUER": "https://auth.example"}


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"aud": "analytics", "iss": "https://auth.example"}, 200),
        ({"aud": ["billing", "analytics"], "iss": "https://auth.example"}, 200),
        ({"iss": "https://auth.example"}, 401),
        ({"aud": "analytics"}, 401),
        ({"aud": "billing", "iss": "https://auth.example"}, 401),
        ({"aud": "analytics", "iss": "https://evil.example"}, 401),
    ],
)
def test_audience_and_issuer_are_required_claims_when_set(make_app, serve, claims, status):
    client = Client(serve(make_app(**AUDIENCE)).url, None)
    assert client.ingest([make_event()], token=make_token(**claims)).status_code == status


def test_minted_tokens_carry_the_audience_and_issuer(make_app, serve):
    app = make_app(**AUDIENCE)
    result = app.test_cli_runner().invoke(args=["analytics", "token", "create", "--sub", "svc"])
    token = result.output.strip()
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"], audience="analytics")
    assert (claims["aud"], claims["iss"]) == ("analytics", "https://auth.example")
    assert Client(serve(app).url, token).ingest([make_event()]).status_code == 200
    # A service that expects another audience refuses it.
    other = make_app(JWT_DECODE_AUDIENCE="reports")
    assert Client(serve(other).url, token).ingest([make_event()]).status_code == 401


def test_a_subject_of_the_longest_recordable_length_is_accepted(app, client):
    subject = "s" * 255
    assert client.ingest([make_event()], token=make_token(sub=subject)).status_code == 200
    assert query(app, "SELECT subject FROM ingest_audit") == [(subject,)]
