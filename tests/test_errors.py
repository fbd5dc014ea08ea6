"""One JSON error envelope for every failure, wherever it is raised."""

import pytest

from helpers import Client, count_events, make_event, make_token


def assert_envelope(response, status):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == status
    assert body["status"] and body["message"]
    assert "Traceback" not in response.text
    return body


def test_unknown_path_is_a_json_404(client):
    assert_envelope(client.get("/api/analytics/nope"), 404)
    assert_envelope(client.get("/nope.html"), 404)


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_an_html_error_page_outside_the_api_and_json_inside(client):
    page = client.get("/nope", headers=BROWSER)
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1>404</h1>" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.text
    # The API's errors stay JSON for a browser too, and a script asking for JSON gets JSON.
    assert_envelope(client.get("/api/analytics/nope", headers=BROWSER), 404)
    assert_envelope(client.get("/nope", headers={"Accept": "application/json"}), 404)


def test_the_favicon_browsers_ask_for_is_served(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["Content-Type"].startswith("image/svg+xml")


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.get("/api/analytics/ingest")
    assert_envelope(response, 405)
    assert "POST" in response.headers["Allow"]


def test_unexpected_exception_is_a_json_500_without_details(make_app, serve):
    app = make_app()

    def explode():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/boom", view_func=explode)
    response = Client(serve(app).url, None).get("/boom")
    body = assert_envelope(response, 500)
    assert "secret internal detail" not in response.text
    assert body["message"] == "internal server error"


def test_error_raised_before_the_view_uses_the_envelope(make_app, serve):
    app = make_app()

    @app.before_request
    def refuse():
        from analytics_app.errors import MalformedBodyError

        raise MalformedBodyError("refused before routing")

    response = Client(serve(app).url, None).get("/api/analytics/healthz")
    assert assert_envelope(response, 400)["message"] == "refused before routing"


@pytest.mark.parametrize("path", ["/api/analytics/ingest", "/api/analytics/healthz"])
def test_database_unreachable_is_a_503_with_retry_after(make_app, serve, backend, path):
    unreachable = (
        "postgresql://postgres@127.0.0.1:1/analytics"
        if backend["name"] == "postgresql"
        else "sqlite:////nonexistent-folder/analytics.db"
    )
    app = make_app(DATABASE_URL=unreachable)
    client = Client(serve(app).url, make_token())
    response = client.post(path, json=[make_event()]) if "ingest" in path else client.get(path)
    assert response.status_code == 503
    assert int(response.headers.get("Retry-After", "5")) > 0
    if "ingest" in path:
        assert_envelope(response, 503)
    else:
        assert response.json()["database"] == "unavailable"


def test_the_service_recovers_when_the_database_returns(app, client):
    """A refused request leaves no broken connection behind for the next one."""
    assert client.ingest([make_event(type="bad")]).status_code == 422
    assert client.ingest([make_event()]).status_code == 200
    assert count_events(app) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/analytics/exports/99999999999999999999999",
        "/api/analytics/exports/99999999999999999999999/download",
        "/api/analytics/erasures/99999999999999999999999",
        "/api/analytics/exports/0",
    ],
)
def test_absurd_ids_are_404_not_database_errors(client, path):
    from helpers import make_token

    assert_envelope(client.get(path, token=make_token(scope="analytics:admin")), 404)


def test_an_absurd_cursor_is_422(client):
    from helpers import make_token

    response = client.get(
        "/api/analytics/audit",
        params={"before": 10**30},
        token=make_token(scope="analytics:admin"),
    )
    assert_envelope(response, 422)
