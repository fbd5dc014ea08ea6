"""No input answers 500: the API fuzzed from its OpenAPI document, and every route of the URL
map (the dashboard's pages and fragments included) swept while signed in as an administrator,
with boundary dates, times, zones, huge integers and invented HTTP methods.

The same cases every run (a fixed seed) and a small budget; bench/fuzz.py is the long run.
"""

import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from dataset import generate, store
from fuzzing import fuzz_operations, sweep_routes
from helpers import Client, make_token

EXAMPLES = 10
ADMIN_TOKEN = make_token(sub="fuzz", scope="analytics:admin")


@pytest.fixture(autouse=True)
def _seeded(dashboard_app):
    with dashboard_app.app_context():
        store(generate(users=8))


def test_fuzzed_api_requests_never_get_a_server_error(server):
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert [str(error) for error in fuzz_operations(server.url, headers, EXAMPLES)] == []


def test_every_route_takes_boundary_inputs_without_a_server_error(dashboard_app, server, admin):
    job = Client(server.url, ADMIN_TOKEN).post("/api/analytics/exports", json={}).json()
    admin.session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    errors = sweep_routes(
        dashboard_app,
        admin.session,
        server.url,
        skip={"dashboard.account.sign_out"},
        known={"PublicIdConverter": [job["id"]]},
        csrf_token=admin.csrf_token(),
    )
    assert [str(error) for error in errors] == []
