"""Headers every answer carries, the docs page's policy, and the hosts the service answers for."""

import pytest
import requests

from helpers import Client, make_token

PRODUCTION_HOST = "analytics.example.com"

# One address of each kind of answer: the API (success and errors), the OpenAPI document and
# Swagger UI, static files, the dashboard's pages and redirects, and unknown paths.
EVERY_KIND = [
    ("GET", "/api/analytics/healthz"),
    ("GET", "/api/analytics/reports/dau"),
    ("POST", "/api/analytics/ingest"),
    ("GET", "/api/analytics/nope"),
    ("GET", "/api/analytics/openapi.json"),
    ("GET", "/api/analytics/docs"),
    ("GET", "/static/vendor/swagger-ui/swagger-ui.css"),
    ("GET", "/static/sdk/analytics.min.js"),
    ("GET", "/static/missing.js"),
    ("GET", "/dashboard/sign-in"),
    ("GET", "/dashboard/nope"),
    ("GET", "/"),
    ("GET", "/nope.html"),
]


def get(url, path, host=None, method="GET"):
    headers = {"Host": host} if host else {}
    return requests.request(method, url + path, headers=headers, allow_redirects=False, timeout=10)


def assert_not_sniffed_nor_framed(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("method", "path"), EVERY_KIND)
def test_every_answer_is_neither_sniffed_nor_framed(client, method, path):
    response = get(client.url, path, method=method)
    assert_not_sniffed_nor_framed(response)
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(("method", "path"), EVERY_KIND)
def test_production_answers_also_demand_https(make_app, serve, method, path):
    url = serve(make_app(APP_ENV="production", TRUSTED_HOSTS=PRODUCTION_HOST)).url
    response = get(url, path, host=PRODUCTION_HOST, method=method)
    assert_not_sniffed_nor_framed(response)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1]) >= 31536000


def test_api_answers_allow_nothing_to_run(client):
    policy = get(client.url, "/api/analytics/healthz").headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")


def test_the_docs_page_runs_only_this_origins_scripts(client):
    page = get(client.url, "/api/analytics/docs")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
    assert "<script>" not in page.text, "an inline script the policy would block"


def test_an_untrusted_host_is_a_json_400_in_production(make_app, serve):
    url = serve(make_app(APP_ENV="production", TRUSTED_HOSTS=PRODUCTION_HOST)).url
    assert get(url, "/api/analytics/healthz", host=PRODUCTION_HOST).status_code == 200
    assert get(url, "/api/analytics/healthz", host=f"{PRODUCTION_HOST}:443").status_code == 200
    for host in ("evil.example", "127.0.0.1", f"{PRODUCTION_HOST}.evil.example"):
        response = get(url, "/api/analytics/healthz", host=host)
        assert response.status_code == 400
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["code"] == 400
        assert_not_sniffed_nor_framed(response)


def test_subdomains_are_trusted_with_a_leading_dot(make_app, serve):
    url = serve(make_app(APP_ENV="production", TRUSTED_HOSTS=".example.com")).url
    assert get(url, "/api/analytics/healthz", host="eu.example.com").status_code == 200
    assert get(url, "/api/analytics/healthz", host="example.org").status_code == 400


def test_production_without_trusted_hosts_answers_only_the_machine_itself(make_app, serve):
    url = serve(make_app(APP_ENV="production")).url
    assert get(url, "/api/analytics/healthz").status_code == 200  # Host: 127.0.0.1:port
    assert get(url, "/api/analytics/healthz", host="localhost").status_code == 200
    assert get(url, "/api/analytics/healthz", host="evil.example").status_code == 400


def test_development_answers_any_host(client):
    assert get(client.url, "/api/analytics/healthz", host="laptop.local").status_code == 200


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/dashboard//x", "/dashboard/x"),
        ("/api/analytics//healthz", "/api/analytics/healthz"),
        ("/static//dashboard/dashboard.css?v=1", "/static/dashboard/dashboard.css?v=1"),
    ],
)
def test_the_routers_redirects_stay_on_the_requested_host(client, path, location):
    response = get(client.url, path, host="evil.example")
    assert response.status_code == 308
    assert response.headers["Location"] == location


def test_an_untrusted_host_is_refused_before_any_redirect(make_app, serve):
    url = serve(make_app(APP_ENV="production", TRUSTED_HOSTS=PRODUCTION_HOST)).url
    response = get(url, "/dashboard//x", host="evil.example")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_the_apps_own_redirects_are_paths_too(client):
    response = get(client.url, "/", host="evil.example")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard")


def test_tokens_still_work_behind_the_host_check(make_app, serve):
    url = serve(make_app(APP_ENV="production", TRUSTED_HOSTS=PRODUCTION_HOST)).url
    reader = Client(url, make_token(scope="analytics:read"))
    response = reader.get("/api/analytics/reports/dau", headers={"Host": PRODUCTION_HOST})
    assert response.status_code == 200
