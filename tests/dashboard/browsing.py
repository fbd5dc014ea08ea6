"""The browser tests' shared parts: Chromium, the seeded site, contexts that record every
request and console error, signing in, and reading the overview.

One throwaway PostgreSQL database and one in-process live server per test module, seeded with
the demo data (four weeks up to now). Each test opens a fresh browser context, records every
request it makes (none may leave for another host) and every console error (a CSP violation
would be one). Fixtures are named ``*_fixture`` and registered under their short names, as in
fixtures.py, so a test module imports them without its arguments shadowing the import.
"""

import time
from datetime import date
from urllib.parse import urlsplit

import pytest

from analytics_app import ROOT, demo
from analytics_app.accounts import users
from analytics_app.reports.stored import rolled_zones
from analytics_app.rollup.run import roll_up

from browser import LOCAL_HOSTS, chromium
from webclient import PASSWORD, forget_sign_in_failures, live_site

SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ADMIN = "admin@example.com"
ANALYST = "analyst@example.com"
DEFAULT_DAYS = 28


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module", name="site")
def site_fixture():
    """The app on a seeded throwaway PostgreSQL database, served over HTTP."""

    def seed(app):
        demo.load(users=80, days=DEFAULT_DAYS)
        roll_up(rolled_zones(app.config))
        users.create(ADMIN, PASSWORD, is_admin=True)
        users.create(ANALYST, PASSWORD)

    with live_site(seed) as server:
        yield server


class Recorder:
    """Every request a browser context makes, and every error its pages report."""

    def __init__(self, context):
        self.urls, self.errors, self.dialogs = [], [], []
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", self._watch)

    def _watch(self, page):
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message):
        # A refused sign-in answers 401 or 429, which Chromium logs; anything else counts.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def foreign_hosts(self):
        return {urlsplit(url).hostname for url in self.urls} - LOCAL_HOSTS


def assert_clean(recorder, since=(0, 0, 0)):
    """Since the given counts: no request to another host, no page error, no dialog."""
    urls, errors, dialogs = (
        recorder.urls[since[0] :],
        recorder.errors[since[1] :],
        recorder.dialogs[since[2] :],
    )
    # blob: and data: addresses are the page's own (a chart saved as PNG is one).
    network = [url for url in urls if urlsplit(url).scheme not in ("blob", "data")]
    assert not {urlsplit(url).hostname for url in network} - LOCAL_HOSTS, urls
    assert not errors
    assert not dialogs


def new_context(browser, viewport=DESKTOP, **options):
    context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
    context.set_default_timeout(10_000)
    return context, Recorder(context)


@pytest.fixture(name="open_context")
def open_context_fixture(browser, site):
    """Open fresh browser contexts; after the test, none may have left this machine."""
    forget_sign_in_failures(site.app)
    opened = []

    def open_(viewport=DESKTOP, **options):
        opened.append(new_context(browser, viewport, **options))
        return opened[-1]

    yield open_
    for context, recorder in opened:
        context.close()
        assert_clean(recorder)
    forget_sign_in_failures(site.app)


def sign_in(page, site, email=ADMIN, password=PASSWORD, path="/dashboard"):
    page.goto(site.url + path)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")


def chart_points(page):
    """How many days the DAU chart draws, finished and partial (None before it is drawn)."""
    return page.evaluate(
        "(chart => chart && chart.data ? new Set(chart.data.flatMap(t => t.x)).size : null)"
        "(document.getElementById('dau-chart'))"
    )


def eventually(condition, timeout=10):
    """Poll ``condition`` from here (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def shown_range(page):
    start = date.fromisoformat(page.input_value("input[name=start]"))
    end = date.fromisoformat(page.input_value("input[name=end]"))
    return start, end
