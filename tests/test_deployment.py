"""The Dockerfile and docker-compose.yml agree with the Compose specification and with the
app's own settings (no Docker engine runs on CI machines, so this is checked by reading)."""

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft201909Validator

from analytics_app import ROOT, create_app
from analytics_app.config import load_config

from helpers import SECRET

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "compose-spec.json").read_text())
APP_SERVICES = ("migrate", "web", "worker")
# Read by analytics_app/gunicorn_conf.py (and the worker command) rather than by the app's config.
PROCESS_VARIABLES = {
    "BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_TIMEOUT",
    "PROMETHEUS_MULTIPROC_DIR",
    "METRICS_BIND",
    "WORKER_METRICS_BIND",
}


def config_variables():
    """Every environment variable analytics_app/config.py reads."""
    source = (ROOT / "analytics_app" / "config.py").read_text()
    return set(re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', source))


# What an operator's .env holds: the variables compose requires.
DOTENV = {
    "JWT_SECRET_KEY": SECRET,
    "POSTGRES_PASSWORD": "pg-password",
    "REDIS_PASSWORD": "redis-password",
    "SERVER_NAME": "analytics.example.com",
}
REQUIRED = set(DOTENV)
VARIABLE = re.compile(r"\$\{([A-Z_]+)(:-|:\?)([^}]*)\}")


class MissingVariableError(Exception):
    """Compose would refuse to start: a ``${VAR:?message}`` without VAR."""


def resolved(value, dotenv=DOTENV):
    """Substitute ${VAR:-default} / ${VAR:?message} the way Compose would, from ``dotenv``."""

    def substitute(match):
        name, operator, rest = match.groups()
        if name in dotenv:
            return dotenv[name]
        if operator == ":?":
            raise MissingVariableError(rest)
        return rest

    return VARIABLE.sub(substitute, str(value))


def service_environment(name):
    return {key: resolved(value) for key, value in COMPOSE["services"][name]["environment"].items()}


def test_compose_file_follows_the_compose_specification():
    errors = sorted(Draft201909Validator(SCHEMA).iter_errors(COMPOSE), key=str)
    assert not errors, "\n".join(error.message for error in errors)


def test_every_environment_variable_is_one_the_app_or_gunicorn_reads():
    known = config_variables() | PROCESS_VARIABLES
    for name in APP_SERVICES:
        unknown = set(service_environment(name)) - known
        assert not unknown, f"{name}: {unknown}"


def test_the_app_starts_with_the_compose_settings(tmp_path):
    env = service_environment("web")
    config = load_config(env, tmp_path)
    assert config["APP_ENV"] == "production"
    assert create_app(env).config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_secrets_and_the_host_name_must_be_given_never_defaulted():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in REQUIRED:
        uses = re.findall(rf"\$\{{{name}(:-|:\?|\}})", text)
        assert uses and set(uses) == {":?"}, f"{name} must be ${{{name}:?…}} everywhere"
        without = {key: value for key, value in DOTENV.items() if key != name}
        with pytest.raises(MissingVariableError, match=name):
            resolved(text, without)


def test_database_and_redis_urls_point_at_the_compose_services_with_their_passwords():
    env = service_environment("web")
    postgres = COMPOSE["services"]["postgres"]["environment"]
    database = re.match(r"postgresql://([^:]+):([^@]+)@([^:/]+):5432/(\w+)", env["DATABASE_URL"])
    assert database.group(1) == postgres["POSTGRES_USER"]
    assert database.group(2) == resolved(postgres["POSTGRES_PASSWORD"]) == "pg-password"
    assert (database.group(3), database.group(4)) == ("postgres", postgres["POSTGRES_DB"])
    assert env["REDIS_URL"] == "redis://:redis-password@redis:6379/0"


def test_an_optional_replica_streams_from_the_primary_for_the_apps_reports(tmp_path):
    services = COMPOSE["services"]
    replica = services["replica"]
    assert replica["profiles"] == ["replica"]  # started only with --profile replica
    command = " ".join(replica["command"])
    assert "pg_basebackup -h postgres -U analytics" in command
    assert " -R " in command and "hot_standby=on" in command
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["networks"] == ["internal"] and "ports" not in replica
    assert "pgreplica:/var/lib/postgresql/data" in replica["volumes"]
    # The primary lets it stream, with the service's own credentials.
    script = "./docs/postgres/allow-replication.sh"
    assert (
        f"{script}:/docker-entrypoint-initdb.d/allow-replication.sh:ro"
        in (services["postgres"]["volumes"])
    )
    assert "host replication ${POSTGRES_USER} all" in (ROOT / script).read_text()
    # Reports read the primary unless .env names the replica, as the file's header says.
    assert service_environment("web")["REPORT_DATABASE_URL"] == ""
    named = "postgresql://analytics:pg-password@replica:5432/analytics"
    assert f"REPORT_DATABASE_URL={named.replace('pg-password', '<POSTGRES_PASSWORD>')}" in (
        (ROOT / "docker-compose.yml").read_text()
    )
    env = {
        key: resolved(value, {**DOTENV, "REPORT_DATABASE_URL": named})
        for key, value in services["web"]["environment"].items()
    }
    binds = load_config(env, tmp_path)["SQLALCHEMY_BINDS"]
    assert binds["reports"]["url"] == named.replace("postgresql://", "postgresql+psycopg://")


def test_redis_demands_the_password_the_app_and_its_health_check_use():
    redis = COMPOSE["services"]["redis"]
    command = [resolved(part) for part in redis["command"]]
    assert command[command.index("--requirepass") + 1] == "redis-password"
    assert resolved(redis["environment"]["REDISCLI_AUTH"]) == "redis-password"
    assert "PONG" in " ".join(redis["healthcheck"]["test"])


def test_only_the_proxy_is_published_on_https_and_http():
    published = {name: s.get("ports") for name, s in COMPOSE["services"].items() if "ports" in s}
    assert published == {"proxy": ["443:443", "80:80"]}


def test_the_proxy_renders_the_shipped_nginx_configuration_for_the_web_tier():
    proxy = COMPOSE["services"]["proxy"]
    template = ROOT / "docs" / "nginx" / "analytics.conf.template"
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in proxy["volumes"])
    assert mounts["./docs/nginx/analytics.conf.template"] == (
        "/etc/nginx/templates/default.conf.template"
    )
    assert (ROOT / "docs" / "nginx" / "analytics.conf.template").is_file()
    needed = set(re.findall(r"\$\{([A-Z_]+)\}", template.read_text()))
    environment = {key: resolved(value) for key, value in proxy["environment"].items()}
    assert set(environment) == needed
    assert environment["ANALYTICS_UPSTREAM"] == "web:8000"
    assert environment["SERVER_NAME"] == service_environment("web")["TRUSTED_HOSTS"]
    assert environment["MAX_BODY_BYTES"] == service_environment("web")["MAX_BODY_BYTES"]
    assert {environment["HTTPS_PORT"], environment["HTTP_PORT"]} == {"443", "80"}
    assert environment["TLS_CERTIFICATE"].startswith("/etc/nginx/certs/")
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_app_trusts_exactly_the_one_proxy_and_the_public_host():
    env = service_environment("web")
    assert (env["TRUSTED_PROXIES"], env["TRUSTED_HOSTS"]) == ("1", "analytics.example.com")


def test_the_proxy_reaches_the_web_tier_and_nothing_behind_it():
    services, networks = COMPOSE["services"], COMPOSE["networks"]
    assert services["proxy"]["networks"] == ["edge"]
    assert set(services["web"]["networks"]) == {"edge", "internal"}
    for name in ("postgres", "redis", "migrate", "worker"):
        assert services[name].get("networks", COMPOSE["x-app"]["networks"]) == ["internal"], name
    assert networks["internal"]["internal"] is True


def test_start_up_is_gated_on_health_and_the_migration():
    services = COMPOSE["services"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    for volume in ("pgdata", "redisdata", "exports"):
        assert volume in COMPOSE["volumes"]


@pytest.mark.parametrize(
    ("service", "args"),
    [("migrate", ["db", "upgrade", "--help"]), ("worker", ["analytics", "worker", "--help"])],
)
def test_service_commands_exist(service, args):
    command = COMPOSE["services"][service]["command"]
    assert command[0] == "flask"
    assert command[1 : len(args)] == args[:-1]
    app = create_app({"APP_ENV": "development", "JWT_SECRET_KEY": SECRET})
    assert app.test_cli_runner().invoke(args=args).exit_code == 0


def test_web_command_port_and_healthcheck_agree_with_the_image_and_app():
    web = COMPOSE["services"]["web"]
    assert web["command"] == ["gunicorn", "-c", "python:analytics_app.gunicorn_conf", "wsgi:app"]
    assert "ports" not in web
    assert re.search(r"^EXPOSE 8000\b", DOCKERFILE, re.MULTILINE)
    assert "BIND=0.0.0.0:8000" in DOCKERFILE
    health_path = "/api/analytics/healthz"
    assert f"127.0.0.1:8000{health_path}" in " ".join(web["healthcheck"]["test"])
    assert f"127.0.0.1:8000{health_path}" in DOCKERFILE
    app = create_app({"APP_ENV": "development", "JWT_SECRET_KEY": SECRET})
    assert health_path in {rule.rule for rule in app.url_map.iter_rules()}


def test_metrics_listen_on_the_container_network_and_are_published_nowhere():
    assert "METRICS_BIND=0.0.0.0:9100" in DOCKERFILE
    assert "WORKER_METRICS_BIND=0.0.0.0:9101" in DOCKERFILE
    for name, service in COMPOSE["services"].items():
        published = " ".join(str(port) for port in service.get("ports", []))
        assert "9100" not in published and "9101" not in published, name


def test_every_process_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert {name for name in PROCESS_VARIABLES if f"`{name}`" not in readme} == set()


def test_dockerfile_is_multi_stage_slim_non_root_with_a_healthcheck():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE)
    assert len(stages) >= 2 and all(stage == "python:3.12-slim" for stage in stages)
    assert re.search(r"^USER analytics$", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", DOCKERFILE, re.MULTILINE)
    assert 'CMD ["gunicorn", "-c", "python:analytics_app.gunicorn_conf", "wsgi:app"]' in DOCKERFILE
    for needed in ("wsgi.py", "analytics_app", "migrations", "templates", "static"):
        assert re.search(rf"^COPY {needed} ", DOCKERFILE, re.MULTILINE), needed


def test_every_variable_the_app_reads_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in config_variables() if f"`{name}`" not in readme}
    assert not missing
