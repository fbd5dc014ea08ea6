"""Health check, the OpenAPI document and Swagger UI served offline."""

import re

import pytest
from flask_smorest import Blueprint
from openapi_spec_validator import validate

from analytics_app.api.docs import documented
from analytics_app.ingest.validation import FIELD_TYPES, REQUIRED_FIELDS


def test_healthz_reports_database_and_redis(client, backend):
    response = client.get("/api/analytics/healthz", token=None)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if backend["name"] == "postgresql" else "not configured")


def test_healthz_degrades_when_redis_is_down(make_app, serve):
    from helpers import Client

    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    body = Client(serve(app).url, None).get("/api/analytics/healthz").json()
    assert (body["status"], body["redis"]) == ("ok", "unavailable")


def test_openapi_document_is_valid_and_lists_every_endpoint(client):
    spec = client.get("/api/analytics/openapi.json", token=None).json()
    validate(spec)
    assert {"/api/analytics/ingest", "/api/analytics/healthz", "/api/analytics/audit"} <= set(
        spec["paths"]
    )
    ingest = spec["paths"]["/api/analytics/ingest"]["post"]
    assert {"200", "401", "413", "422", "429", "503"} <= set(ingest["responses"])
    assert ingest["security"] == [{"bearerAuth": []}]
    assert ingest["summary"].startswith("Store a batch of events")
    assert "X-Sent-At" in {parameter["name"] for parameter in ingest["parameters"]}
    assert ingest["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    # The neutral path (INGEST_ALIAS_PATH) is the same operation.
    alias = spec["paths"]["/api/e"]["post"]
    assert (alias["requestBody"], alias["responses"]) == (
        ingest["requestBody"],
        ingest["responses"],
    )
    files = spec["paths"]["/api/analytics/reports/events"]["get"]["responses"]["200"]["content"]
    assert set(files) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_only_documentation_wrappers_are_taken_off_a_view():
    blp = Blueprint("probe", __name__)
    view = blp.doc(summary="s")(blp.alt_response(404, description="gone")(lambda: {}))
    assert "_apidoc" not in vars(view.__wrapped__.__wrapped__)
    assert documented(view)._apidoc == view._apidoc
    with pytest.raises(TypeError):
        documented(blp.doc(summary="s")(blp.response(200)(lambda: {})))


def test_documented_event_schema_matches_the_validator(client):
    spec = client.get("/api/analytics/openapi.json", token=None).json()
    event = spec["components"]["schemas"]["Event"]
    assert set(event["properties"]) == set(FIELD_TYPES)
    assert set(event["required"]) == set(REQUIRED_FIELDS)


def test_swagger_ui_is_served_from_the_app_itself(client):
    page = client.get("/api/analytics/docs", token=None)
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} would leave the machine"
        assert client.get(asset, token=None).status_code == 200
