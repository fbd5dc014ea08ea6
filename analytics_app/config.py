"""Settings from the environment: names, defaults and validation in one place.

Every variable is documented in the README's configuration table; keep the two in step.
"""

import json
import math
import re
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse

DEFAULT_EVENT_TYPES = (
    "page_view",
    "button_click",
    "form_submit",
    "video_play",
    "course_complete",
    "search_query",
    "error_occurred",
)

# Secrets that appear in examples (the seed's README, our docs): never acceptable in production.
KNOWN_EXAMPLE_SECRETS = frozenset(
    {"", "your-jwt-secret-key", "change-me", "changeme", "secret", "dev", "development"}
)
MIN_SECRET_LENGTH = 32
# A secret's entropy estimated from its characters' frequencies must reach this: "a" * 36 has
# none, "password" * 4 has 88 bits, 32 random hex digits 91 to 125, secrets.token_urlsafe(48)
# about 340.
MIN_SECRET_BITS = 90
# The duration notation of TOKEN_MAX_TTL and the CLI's --ttl: 90s, 15m, 12h, 30d, 2w.
_DURATION = re.compile(r"(\d+)([smhdw])")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Tokens may not be bounded below this (the dashboard's shortest lifetime).
MIN_TOKEN_MAX_TTL = timedelta(hours=1)
ENVIRONMENTS = ("development", "test", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(RuntimeError):
    """The environment describes a configuration the service must not start with."""


def _int(env, name, default, minimum=1):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _seconds(env, name, default):
    """A positive number of seconds (fractions allowed)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value < 86400:
        raise ConfigError(f"{name} must be more than 0 and less than a day, got {raw!r}")
    return value


def _bool(env, name, default=False):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _choice(env, name, choices, default):
    value = env.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _rate(env, name, default):
    value = env.get(name) or default
    try:
        parse(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate like '5 per 15 minutes', got {value!r}") from None
    return value


def _list(env, name, default):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return tuple(default)
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def parse_duration(text):
    """Parse ``90s``, ``15m``, ``12h``, ``30d`` or ``2w`` into a timedelta (ValueError if not)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 15m, 12h, 30d or 2w")
    try:
        return timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any calendar can hold") from None


def _duration(env, name, default, minimum):
    """A duration in the CLI's notation (``365d``) or a number of seconds."""
    raw = (env.get(name) or default).strip()
    try:
        value = timedelta(seconds=int(raw)) if raw.isdigit() else parse_duration(raw)
    except (ValueError, OverflowError):
        raise ConfigError(f"{name} must be a duration like 365d or 12h, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _audience(env):
    """``JWT_DECODE_AUDIENCE``: None, one audience, or a list of them (comma-separated)."""
    audiences = _list(env, "JWT_DECODE_AUDIENCE", [])
    if len(audiences) > 1:
        return list(audiences)
    return audiences[0] if audiences else None


def secret_bits(secret):
    """Estimate a secret's entropy in bits from its characters' frequencies."""
    counts, length = Counter(secret), len(secret)
    return -sum(count * math.log2(count / length) for count in counts.values())


def _weakness(secret):
    """Why ``secret`` may not sign anything in production, or None."""
    if secret in KNOWN_EXAMPLE_SECRETS:
        return "missing or an example value"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if secret_bits(secret) < MIN_SECRET_BITS:
        return "too uniform (too few different characters, or too many repeats)"
    return None


def canonical_json(value):
    """JSON with sorted keys and no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


REPORT_BIND = "reports"


def _replica_engine(url):
    """The replica's engine options: a replica that does not answer soon is passed over."""
    return {
        "url": url,
        "json_serializer": canonical_json,
        "connect_args": {"connect_timeout": 2},
    }


def database_url(raw):
    """Point plain PostgreSQL URLs at the psycopg 3 driver (SQLAlchemy defaults to psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


_HOST_NAME = re.compile(r"\.?[a-z0-9-]+(\.[a-z0-9-]+)*")


def _trusted_hosts(env):
    """``TRUSTED_HOSTS``: host names (``.example.com`` takes its subdomains too), no ports."""
    hosts = tuple(host.lower() for host in _list(env, "TRUSTED_HOSTS", ()))
    for host in hosts:
        if not _HOST_NAME.fullmatch(host):
            raise ConfigError(
                f"TRUSTED_HOSTS must list host names such as analytics.example.com "
                f"(no scheme, port or path), got {host!r}"
            )
    return hosts


def _trusted_proxies(env):
    """``TRUSTED_PROXIES``; ``PROXY_FIX_HOPS``, its earlier name, still works."""
    name = "TRUSTED_PROXIES" if env.get("TRUSTED_PROXIES") else "PROXY_FIX_HOPS"
    return _int(env, name, 0, 0)


def _jwt_secret(env, app_env, instance_path):
    secret = env.get("JWT_SECRET_KEY", "")
    weakness = _weakness(secret)
    if weakness is None:
        return secret
    if app_env != "development":
        raise ConfigError(
            f"JWT_SECRET_KEY is {weakness}; set a random secret "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if secret:
        return secret
    # Development only: a random secret kept in instance/, so tokens survive restarts.
    path = Path(instance_path) / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _optional_secret(env, name, app_env):
    secret = env.get(name) or None
    weakness = secret and _weakness(secret)
    if weakness and app_env != "development":
        raise ConfigError(f"{name} is {weakness}")
    return secret


def _jwt_keys(env, algorithm):
    if algorithm == "HS256":
        return {}
    if algorithm != "RS256":
        raise ConfigError(f"JWT_ALGORITHM must be HS256 or RS256, got {algorithm!r}")
    public_key = env.get("JWT_PUBLIC_KEY", "")
    if not public_key:
        raise ConfigError("JWT_ALGORITHM=RS256 needs JWT_PUBLIC_KEY (a PEM public key)")
    return {"JWT_PUBLIC_KEY": public_key, "JWT_PRIVATE_KEY": env.get("JWT_PRIVATE_KEY", "")}


def load_config(env, instance_path):
    """Build the Flask config mapping from environment variables."""
    app_env = env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")

    report_tz = env.get("REPORT_TIMEZONE", "UTC")
    try:
        ZoneInfo(report_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"REPORT_TIMEZONE is not an IANA time zone: {report_tz!r}") from None

    allowed_types = _list(env, "ALLOWED_EVENT_TYPES", DEFAULT_EVENT_TYPES)
    if not allowed_types:
        raise ConfigError("ALLOWED_EVENT_TYPES must name at least one event type")

    anonymize = _bool(env, "ANONYMIZE_USER_IDS")
    anonymize_key = env.get("ANONYMIZE_KEY", "")
    if anonymize and len(anonymize_key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"ANONYMIZE_USER_IDS is on: set ANONYMIZE_KEY to a secret of at least "
            f"{MIN_SECRET_LENGTH} characters (it keys the HMAC of user ids)"
        )

    default_db = "sqlite:///" + str(Path(instance_path) / "analytics.db")
    primary_url = database_url(env.get("DATABASE_URL") or default_db)
    report_url = database_url(env.get("REPORT_DATABASE_URL") or "")
    if report_url and not (
        report_url.startswith("postgresql") and primary_url.startswith("postgresql")
    ):
        raise ConfigError(
            "REPORT_DATABASE_URL is a PostgreSQL replica of a PostgreSQL DATABASE_URL"
        )
    algorithm = env.get("JWT_ALGORITHM", "HS256")
    alias = env.get("INGEST_ALIAS_PATH", "/api/e").rstrip("/")
    if alias and not alias.startswith("/"):
        raise ConfigError(f"INGEST_ALIAS_PATH must start with '/', got {alias!r}")
    max_body = _int(env, "MAX_BODY_BYTES", 5 * 1024 * 1024)
    log_level = env.get("LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    return {
        "APP_ENV": app_env,
        "TESTING": app_env == "test",
        "SQLALCHEMY_DATABASE_URI": primary_url,
        # A streaming replica for reports, exports and the dashboard (``reports.source``).
        "SQLALCHEMY_BINDS": {REPORT_BIND: _replica_engine(report_url)} if report_url else {},
        "REPORT_REPLICA_MAX_WAIT_MS": _int(env, "REPORT_REPLICA_MAX_WAIT_MS", 500, 0),
        # Canonical JSON, so equal metric dimensions are equal text on SQLite too.
        "SQLALCHEMY_ENGINE_OPTIONS": {"json_serializer": canonical_json},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "JWT_SECRET_KEY": _jwt_secret(env, app_env, instance_path),
        "JWT_ALGORITHM": algorithm,
        **_jwt_keys(env, algorithm),
        # Required claims when set; minted tokens carry them (flask-jwt-extended's settings).
        "JWT_DECODE_AUDIENCE": _audience(env),
        "JWT_ENCODE_AUDIENCE": _audience(env),
        "JWT_DECODE_ISSUER": env.get("JWT_DECODE_ISSUER") or None,
        "JWT_ENCODE_ISSUER": env.get("JWT_DECODE_ISSUER") or None,
        "TOKEN_MAX_TTL": _duration(env, "TOKEN_MAX_TTL", "365d", MIN_TOKEN_MAX_TTL),
        "MAX_BATCH_SIZE": _int(env, "MAX_BATCH_SIZE", 1000),
        "MAX_BODY_BYTES": max_body,
        # Werkzeug enforces this while reading, for Content-Length and chunked bodies alike.
        "MAX_CONTENT_LENGTH": max_body,
        "MAX_PAYLOAD_BYTES": _int(env, "MAX_PAYLOAD_BYTES", 32 * 1024),
        "MAX_PAYLOAD_DEPTH": _int(env, "MAX_PAYLOAD_DEPTH", 32),
        "RATE_LIMIT_PER_MINUTE": _int(env, "RATE_LIMIT_PER_MINUTE", 100),
        "RATE_LIMIT_TOKEN_PER_MINUTE": _int(env, "RATE_LIMIT_TOKEN_PER_MINUTE", 60_000),
        "EVENT_RETENTION_DAYS": _int(env, "EVENT_RETENTION_DAYS", 90),
        "METRICS_RETENTION_DAYS": _int(env, "METRICS_RETENTION_DAYS", 365),
        # PostgreSQL: days per partition of events, and how far ahead the worker makes them.
        "EVENT_PARTITION_DAYS": _int(env, "EVENT_PARTITION_DAYS", 1),
        "EVENT_PARTITIONS_AHEAD_DAYS": _int(env, "EVENT_PARTITIONS_AHEAD_DAYS", 7, 0),
        "CLOCK_SKEW_TOLERANCE_SECONDS": _int(env, "CLOCK_SKEW_TOLERANCE_SECONDS", 3600, 0),
        "ACCEPT_NAIVE_TIMESTAMPS": _bool(env, "ACCEPT_NAIVE_TIMESTAMPS", True),
        "ALLOWED_EVENT_TYPES": frozenset(allowed_types),
        "ANONYMIZE_USER_IDS": anonymize,
        "ANONYMIZE_KEY": anonymize_key,
        "INGEST_ALIAS_PATH": alias,
        "CORS_ORIGINS": _list(env, "CORS_ORIGINS", ["*"]),
        "TRUSTED_PROXIES": _trusted_proxies(env),
        "TRUSTED_HOSTS": _trusted_hosts(env),
        "REPORT_TIMEZONE": report_tz,
        # PostgreSQL: payload keys whose breakdowns the rollup keeps, and the most values a
        # key may have on a day to be kept (more, and that day's breakdowns read raw events).
        "ROLLUP_PAYLOAD_KEYS": _list(env, "ROLLUP_PAYLOAD_KEYS", ["page"]),
        "ROLLUP_PAYLOAD_VALUES": _int(env, "ROLLUP_PAYLOAD_VALUES", 200),
        "REPORT_CACHE_SECONDS": _int(env, "REPORT_CACHE_SECONDS", 300, 0),
        # Well inside GUNICORN_TIMEOUT (120 s): a slow report answers 503, its worker lives on.
        "REPORT_STATEMENT_TIMEOUT_SECONDS": _seconds(env, "REPORT_STATEMENT_TIMEOUT_SECONDS", 20.0),
        # The dashboard's session cookie key; derived from JWT_SECRET_KEY when unset.
        "SECRET_KEY": _optional_secret(env, "SECRET_KEY", app_env),
        "DASHBOARD_SESSION_IDLE_MINUTES": _int(env, "DASHBOARD_SESSION_IDLE_MINUTES", 120),
        "DASHBOARD_SESSION_HOURS": _int(env, "DASHBOARD_SESSION_HOURS", 12),
        # Failed sign-ins without a wait (then waits double up to the period): per account and
        # address, per address, per account from addresses it has not signed in from lately.
        "DASHBOARD_SIGNIN_ACCOUNT_IP_LIMIT": _rate(
            env, "DASHBOARD_SIGNIN_ACCOUNT_IP_LIMIT", "5 per 15 minutes"
        ),
        "DASHBOARD_SIGNIN_ACCOUNT_LIMIT": _rate(
            env, "DASHBOARD_SIGNIN_ACCOUNT_LIMIT", "20 per 15 minutes"
        ),
        "DASHBOARD_SIGNIN_IP_LIMIT": _rate(env, "DASHBOARD_SIGNIN_IP_LIMIT", "30 per 15 minutes"),
        "EXPORT_DIR": env.get("EXPORT_DIR") or str(Path(instance_path) / "exports"),
        "EXPORT_TTL_HOURS": _int(env, "EXPORT_TTL_HOURS", 24),
        "EXPORT_DIRECT_XLSX_ROWS": _int(env, "EXPORT_DIRECT_XLSX_ROWS", 20_000, 0),
        "EXPORT_CONCURRENT_JOBS": _int(env, "EXPORT_CONCURRENT_JOBS", 3),
        # Run tasks inline instead of queueing them (tests, and a laptop without a worker).
        "HUEY_IMMEDIATE": _bool(env, "HUEY_IMMEDIATE", False),
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", ("json", "text"), "json"),
    }
