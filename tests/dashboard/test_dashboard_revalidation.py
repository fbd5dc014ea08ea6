"""The overview and its fragments revalidated by ETag: a browser holding one gets 304 until
what it shows changes; an ingest answered before the request always shows at once (both
databases). The page carries ready the panels whose figures the report cache holds."""

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
from webclient import PASSWORD, csrf_from

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


def loading(html, name):
    return f'data-panel="{name}" data-state="loading"' in html


def untimed(html):
    """``html`` without its CSRF tokens, which carry the time they were signed."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', html)


@pytest.fixture
def report_cache(dashboard_app):
    """The report cache on (the tests' apps run without it), empty."""
    dashboard_app.config["REPORT_CACHE_SECONDS"] = 300
    if redis := dashboard_app.extensions.get("redis"):
        redis.flushdb()  # the test Redis database outlives the tables emptied between tests


@pytest.mark.usefixtures("report_cache")
def test_the_page_holds_every_panel_the_cache_holds_and_is_revalidated(admin, server):
    empty = admin.get("/dashboard", params=RANGE)  # the cache holds nothing yet
    assert all(loading(empty.text, name) for name in panels.PANELS)
    assert empty.headers["Cache-Control"] == "private, no-cache"
    fragments = {name: ask(admin, f"/dashboard/panels/{name}") for name in panels.FROM_CACHE}

    # The copy of the page without them is replaced by one that holds them.
    page = admin.get("/dashboard", params=RANGE, headers={"If-None-Match": empty.headers["ETag"]})
    assert page.status_code == 200
    assert page.headers["ETag"] != empty.headers["ETag"]
    for name, fragment in fragments.items():
        assert fragment.status_code == 200
        assert untimed(fragment.text).strip() in untimed(page.text), name  # as its fragment
        assert not loading(page.text, name)
    assert loading(page.text, "recent")  # read afresh, never from the cache

    again = admin.get("/dashboard", params=RANGE, headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""

    # A write changes the figures: the page is new, and its panels load the new ones.
    event = make_event(ts="2026-11-05T12:00:00Z")
    assert Client(server.url, make_token()).ingest([event]).status_code == 200
    after = admin.get("/dashboard", params=RANGE, headers={"If-None-Match": page.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != page.headers["ETag"]
    assert loading(after.text, "totals")
    assert events_tile(ask(admin, TOTALS).text) == "13"
    assert events_tile(admin.get("/dashboard", params=RANGE).text) == "13"


def test_a_message_for_the_page_is_never_hidden_by_a_304(admin):
    tag = admin.get("/dashboard", params=RANGE).headers["ETag"]
    new = "velvet thunder orchard"
    form = {"current": PASSWORD, "new": new, "repeat": new}
    csrf = csrf_from(admin.get("/dashboard/account/password").text)
    changed = admin.post("/dashboard/account/password", {**form, "csrf_token": csrf})
    assert changed.status_code == 302
    shown = admin.get("/dashboard", params=RANGE, headers={"If-None-Match": tag})
    assert shown.status_code == 200
    assert "Your password is changed" in shown.text
    assert "ETag" not in shown.headers
