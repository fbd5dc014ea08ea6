"""Fixtures shared by the report tests that read their module's ``rows`` (test_reports,
test_activity, test_unrolled_days): an app reporting in America/New_York over those rows, and
a client of it that may read.

As with tests/dashboard/fixtures.py, test modules import the fixtures they use from here; each
fixture function is named ``*_fixture`` and registered under its short name.
"""

import pytest

from helpers import Client, make_token


@pytest.fixture(name="app")
def app_fixture(make_app, rows):
    """An app reporting in America/New_York whose database holds the module's ``rows``."""
    return make_app(rows, REPORT_TIMEZONE="America/New_York")


@pytest.fixture(name="client")
def client_fixture(app, serve):
    """An HTTP client of ``app`` holding a token with the read scope."""
    return Client(serve(app).url, make_token(scope="analytics:read"))
