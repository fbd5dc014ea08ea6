"""Settings from the environment: defaults, validation, and refusing unsafe production."""

import secrets
from datetime import timedelta

import pytest

from analytics_app import create_app
from analytics_app.config import ConfigError, database_url, load_config

from helpers import SECRET

GOOD_SECRET = SECRET


def config(tmp_path, **env):
    return load_config(env, tmp_path)


def test_defaults_run_on_embedded_sqlite_in_development(tmp_path):
    settings = config(tmp_path)
    assert settings["APP_ENV"] == "development"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/analytics.db"
    assert settings["REDIS_URL"] is None
    assert settings["MAX_BATCH_SIZE"] == 1000
    assert settings["RATE_LIMIT_PER_MINUTE"] == 100
    assert settings["EVENT_RETENTION_DAYS"] == 90
    assert settings["METRICS_RETENTION_DAYS"] == 365
    assert "page_view" in settings["ALLOWED_EVENT_TYPES"]
    assert settings["RATE_LIMIT_TOKEN_PER_MINUTE"] == 60_000
    assert settings["TRUSTED_PROXIES"] == 0


def test_trusted_proxies_keeps_its_earlier_name_working(tmp_path):
    assert config(tmp_path, PROXY_FIX_HOPS="2")["TRUSTED_PROXIES"] == 2
    assert config(tmp_path, TRUSTED_PROXIES="1", PROXY_FIX_HOPS="2")["TRUSTED_PROXIES"] == 1
    with pytest.raises(ConfigError):
        config(tmp_path, TRUSTED_PROXIES="-1")


def test_development_keeps_a_generated_secret_across_restarts(tmp_path):
    first = config(tmp_path)["JWT_SECRET_KEY"]
    assert len(first) >= 32
    assert config(tmp_path)["JWT_SECRET_KEY"] == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "secret",
    [
        None,
        "",
        "your-jwt-secret-key",
        "change-me",
        "short-secret",
        "a" * 36,
        "ab" * 32,
        "test-secret-" + "x" * 60,
        "password" * 4,
    ],
)
@pytest.mark.parametrize("app_env", ["production", "test"])
def test_outside_development_a_missing_or_default_secret_refuses_to_start(
    tmp_path, monkeypatch, secret, app_env
):
    env = {"APP_ENV": app_env}
    if secret is not None:
        env["JWT_SECRET_KEY"] = secret
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        config(tmp_path, **env)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app(env)


@pytest.mark.parametrize(
    "secret",
    [
        secrets.token_urlsafe(24),
        secrets.token_hex(16),
        secrets.token_hex(32),
        "correct horse battery staple 42 Ways",
    ],
)
def test_random_secrets_are_accepted_in_production(tmp_path, secret):
    assert config(tmp_path, APP_ENV="production", JWT_SECRET_KEY=secret)["JWT_SECRET_KEY"] == secret


def test_a_session_key_with_too_little_variety_refuses_to_start(tmp_path):
    env = {"APP_ENV": "production", "JWT_SECRET_KEY": GOOD_SECRET, "SECRET_KEY": "k" * 40}
    with pytest.raises(ConfigError, match="SECRET_KEY is too uniform"):
        config(tmp_path, **env)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, timedelta(days=365)), ("90d", timedelta(days=90)), ("7200", timedelta(hours=2))],
)
def test_the_longest_token_lifetime_is_a_duration(tmp_path, value, expected):
    env = {"TOKEN_MAX_TTL": value} if value else {}
    assert config(tmp_path, **env)["TOKEN_MAX_TTL"] == expected


def test_audience_and_issuer_are_unset_by_default_and_bind_minted_tokens_when_set(tmp_path):
    unset = config(tmp_path)
    assert unset["JWT_DECODE_AUDIENCE"] is None
    assert unset["JWT_DECODE_ISSUER"] is None
    bound = config(tmp_path, JWT_DECODE_AUDIENCE="analytics", JWT_DECODE_ISSUER="https://a.example")
    assert bound["JWT_DECODE_AUDIENCE"] == bound["JWT_ENCODE_AUDIENCE"] == "analytics"
    assert bound["JWT_DECODE_ISSUER"] == bound["JWT_ENCODE_ISSUER"] == "https://a.example"
    several = config(tmp_path, JWT_DECODE_AUDIENCE="analytics, reports")
    assert several["JWT_DECODE_AUDIENCE"] == ["analytics", "reports"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TOKEN_MAX_TTL", "forever", "TOKEN_MAX_TTL"),
        ("TOKEN_MAX_TTL", "30m", "at least"),
        ("TOKEN_MAX_TTL", "99999999999w", "TOKEN_MAX_TTL"),
        ("MAX_BATCH_SIZE", "lots", "integer"),
        ("MAX_BATCH_SIZE", "0", "at least 1"),
        ("RATE_LIMIT_PER_MINUTE", "-5", "at least 1"),
        ("ANONYMIZE_USER_IDS", "maybe", "true or false"),
        ("REPORT_TIMEZONE", "Mars/Olympus", "IANA"),
        ("APP_ENV", "staging", "APP_ENV"),
        ("JWT_ALGORITHM", "none", "HS256 or RS256"),
        ("JWT_ALGORITHM", "RS256", "JWT_PUBLIC_KEY"),
        ("ALLOWED_EVENT_TYPES", " , ", "at least one"),
        ("INGEST_ALIAS_PATH", "collect", "start with"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL"),
        ("REPORT_DATABASE_URL", "postgresql://replica/analytics", "REPORT_DATABASE_URL"),
        ("EVENT_PARTITION_DAYS", "0", "at least 1"),
    ],
)
def test_bad_values_are_refused_with_their_name(tmp_path, name, value, message):
    env = {"APP_ENV": "production", "JWT_SECRET_KEY": GOOD_SECRET, name: value}
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, **env)


def test_a_report_replica_is_a_second_engine_beside_a_postgresql_primary(tmp_path):
    settings = config(
        tmp_path,
        DATABASE_URL="postgresql://primary/analytics",
        REPORT_DATABASE_URL="postgres://replica/analytics",
    )
    assert (
        settings["SQLALCHEMY_BINDS"]["reports"]["url"] == "postgresql+psycopg://replica/analytics"
    )
    assert config(tmp_path)["SQLALCHEMY_BINDS"] == {}


def test_anonymisation_needs_a_key(tmp_path):
    with pytest.raises(ConfigError, match="ANONYMIZE_KEY"):
        config(tmp_path, ANONYMIZE_USER_IDS="true")
    assert config(tmp_path, ANONYMIZE_USER_IDS="on", ANONYMIZE_KEY="k" * 32)["ANONYMIZE_USER_IDS"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_postgresql_urls_use_psycopg_3(given, expected):
    assert database_url(given) == expected


def test_the_factory_connects_to_nothing(tmp_path):
    """Creating the app with unreachable servers succeeds: connections are made on use."""
    app = create_app(
        {
            "APP_ENV": "production",
            "JWT_SECRET_KEY": GOOD_SECRET,
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    assert app.config["APP_ENV"] == "production"


def test_trusted_hosts_are_host_names_without_scheme_or_port(tmp_path):
    hosts = config(tmp_path, TRUSTED_HOSTS="Analytics.Example.com, .example.org")
    assert hosts["TRUSTED_HOSTS"] == ("analytics.example.com", ".example.org")
    assert config(tmp_path)["TRUSTED_HOSTS"] == ()
    for wrong in ("https://analytics.example.com", "analytics.example.com:443", "a/b", "*"):
        with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
            config(tmp_path, TRUSTED_HOSTS=wrong)
