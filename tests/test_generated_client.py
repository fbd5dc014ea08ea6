"""The OpenAPI document as a service's developers use it: openapi-python-client generates a
client for every operation with no warning, and that client ingests and reads reports."""

import csv
import importlib
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from analytics_app import create_app

from conftest import base_env
from helpers import make_token

PACKAGE = "analytics_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Generate the client from the app's document; return (generator output, spec)."""
    where = tmp_path_factory.mktemp("generated")
    app = create_app(base_env({"DATABASE_URL": f"sqlite:///{where / 'unused.db'}"}))
    spec = app.test_client().get("/api/analytics/openapi.json")
    (where / "openapi.json").write_bytes(spec.data)
    (where / "config.yml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    done = subprocess.run(
        [*command, "--path", "openapi.json", "--config", "config.yml"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    sys.path.insert(0, str(where))
    yield done, spec.json, where / PACKAGE
    sys.path.remove(str(where))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def api(module):
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def test_every_operation_is_generated_without_a_warning(generated):
    done, spec, package = generated
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    operations = [
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    modules = [path for path in (package / "api").glob("*/*.py") if path.name != "__init__.py"]
    assert len(modules) == len(operations)
    assert ("post", "/api/e") in operations  # the neutral ingest path is documented


def test_the_generated_client_ingests_on_both_paths_and_reads_reports(generated, client):
    from analytics_api_client import AuthenticatedClient
    from analytics_api_client.models import (
        Event,
        EventPayloadType0,
        EventType,
        GetApiAnalyticsReportsEventsFormat,
        IngestResult,
    )

    ingest = AuthenticatedClient(base_url=client.url, token=make_token())
    reader = AuthenticatedClient(base_url=client.url, token=make_token(scope="analytics:read"))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    payload = EventPayloadType0.from_dict({"page": "/pricing"})

    def event(user):
        return Event(ts=yesterday, user_id=user, type_=EventType.PAGE_VIEW, payload=payload)

    sent_at = datetime.now(UTC).isoformat()
    stored = api("ingest.post_api_analytics_ingest").sync(
        client=ingest, body=[event("ana"), event("bo")], x_sent_at=sent_at
    )
    assert isinstance(stored, IngestResult) and stored.ingested == 2
    aliased = api("ingest.post_api_e").sync(client=ingest, body=event("cy"))
    assert isinstance(aliased, IngestResult) and aliased.ingested == 1

    dau = api("reports.get_api_analytics_reports_dau").sync(client=reader, date=yesterday.date())
    assert dau.dau == 3
    export = api("exports.get_api_analytics_reports_events")
    day = {"start": yesterday.date(), "end": yesterday.date()}
    csv_text = export.sync(client=reader, **day)
    assert len(list(csv.reader(io.StringIO(csv_text)))) == 4  # a header and three events
    xlsx = export.sync_detailed(
        client=reader, format_=GetApiAnalyticsReportsEventsFormat.XLSX, **day
    ).content
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    assert len(list(sheet.iter_rows())) == 4
