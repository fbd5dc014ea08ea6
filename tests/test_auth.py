"""Bearer tokens: standard JWTs work, attacks get 401, missing scopes get 403."""

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers import SECRET, Client, count_events, make_event, make_token

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


def test_the_secret_used_by_tests_is_a_valid_production_secret():
    assert len(SECRET) >= 32


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
