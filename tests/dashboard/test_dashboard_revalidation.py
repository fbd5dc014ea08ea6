"""The overview's fragments revalidated by ETag: a browser holding one gets 304 until what it
shows changes; an ingest answered before the request always shows at once (both databases)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    analyst_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.dashboard import panels

from dataset import Row, store
from helpers import Client, make_event, make_token

RANGE = {"start": "2026-11-02", "end": "2026-11-08", "tz": "UTC"}
TOTALS = "/dashboard/panels/totals"
FRAGMENTS = [TOTALS, "/dashboard/panels/recent", "/dashboard/panels/dau", "/dashboard/breakdown"]


@pytest.fixture(autouse=True)
def _seeded(dashboard_app):
    moment = datetime(2026, 11, 3, 9, tzinfo=UTC)
    rows = [
        Row(moment + timedelta(hours=n), f"u-{n % 4}", "page_view", "web_app", {"page": "/"})
        for n in range(12)
    ]
    with dashboard_app.app_context():
        store(rows)


def ask(web, path, tag=None, params=RANGE, **kwargs):
    headers = {"HX-Request": "true", **({"If-None-Match": tag} if tag else {})}
    return web.get(path, params=params, headers=headers, **kwargs)


def events_tile(html):
    return re.search(r'id="tile-events">.*?class="tile-value">([^<]*)<', html, re.S).group(1)


@pytest.mark.parametrize("path", FRAGMENTS)
def test_an_unchanged_fragment_is_answered_304_without_a_body(admin, path):
    first = ask(admin, path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = ask(admin, path, first.headers["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "private, no-cache"


def test_an_unchanged_fragment_is_not_rendered_again(admin, monkeypatch):
    tag = ask(admin, TOTALS).headers["ETag"]

    def no_report(*args, **kwargs):
        raise AssertionError("a 304 must not run the panel's reports")

    monkeypatch.setitem(panels.PANELS, "totals", ("Active users and events", no_report))
    assert ask(admin, TOTALS, tag).status_code == 304


def test_an_ingest_answered_before_the_request_shows_at_once(admin, server):
    first = ask(admin, TOTALS)
    assert events_tile(first.text) == "12"
    event = make_event(ts="2026-11-05T12:00:00Z")
    assert Client(server.url, make_token()).ingest([event]).status_code == 200
    after = ask(admin, TOTALS, first.headers["ETag"])
    assert after.status_code == 200
    assert events_tile(after.text) == "13"
    assert after.headers["ETag"] != first.headers["ETag"]
    assert ask(admin, TOTALS, after.headers["ETag"]).status_code == 304


def test_another_session_never_gets_a_304_for_a_copy_made_for_someone_else(admin, analyst):
    tag = ask(admin, TOTALS).headers["ETag"]
    theirs = ask(analyst, TOTALS, tag)
    assert theirs.status_code == 200
    assert theirs.headers["ETag"] != tag


def test_the_zone_cookie_that_resolves_the_selection_is_part_of_the_tag(admin):
    dates = {"start": RANGE["start"], "end": RANGE["end"]}
    utc = ask(admin, TOTALS, params=dates).headers["ETag"]
    tokyo = ask(admin, TOTALS, utc, params=dates, cookies={"analytics_tz": "Asia/Tokyo"})
    assert tokyo.status_code == 200
    assert tokyo.headers["ETag"] != utc


def test_refused_filters_and_failed_panels_are_never_kept(admin, monkeypatch):
    refused = ask(admin, TOTALS, params={**RANGE, "tz": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "ETag" not in refused.headers
    assert refused.headers["Cache-Control"] == "no-store"

    def broken(selection, previous=None):
        raise RuntimeError("broken")

    monkeypatch.setitem(panels.PANELS, "dau", ("Daily active users", broken))
    failed = ask(admin, "/dashboard/panels/dau")
    assert failed.status_code == 500
    assert "ETag" not in failed.headers
    assert failed.headers["Cache-Control"] == "no-store"
