"""The Funnels page in Chromium: the figures equal the API's, a funnel built in the form gets
an address that reopens it, and hostile payload values are shown as text."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests

from analytics_app.accounts import users

from browser import chromium
from dataset import Row, store
from helpers import make_token
from webclient import PASSWORD, live_site

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips locally, fails under CI
    expect = None

ADMIN = "funnels@example.com"
XSS = "<img src=x onerror=alert(1)>"
NOON = datetime(2026, 11, 10, 12, tzinfo=UTC)
RANGE = {"start": "2026-11-10", "end": "2026-11-10", "tz": "UTC"}
STEPS = ["page_view", f"page_view[page={XSS}]", "button_click[plan=pro]"]


@pytest.fixture(scope="module")
def site():
    def seed(app):
        rows = []
        for n in range(12):
            user, moment = f"u-{n}", NOON + timedelta(minutes=n)
            rows.append(Row(moment, user, "page_view", "web_app", {"page": "/"}))
            if n % 2 == 0:
                later = moment + timedelta(seconds=30)
                rows.append(Row(later, user, "page_view", "web_app", {"page": XSS}))
            if n % 4 == 0:
                later = moment + timedelta(seconds=90)
                rows.append(Row(later, user, "button_click", "web_app", {"plan": "pro"}))
        for n in range(8):  # the day before: the previous period of RANGE
            user, moment = f"p-{n}", NOON - timedelta(days=1, minutes=n)
            rows.append(Row(moment, user, "page_view", "web_app", {"page": "/"}))
            if n % 2 == 0:
                later = moment + timedelta(seconds=30)
                rows.append(Row(later, user, "page_view", "web_app", {"page": XSS}))
            if n % 4 == 0:
                later = moment + timedelta(seconds=90)
                rows.append(Row(later, user, "button_click", "web_app", {"plan": "pro"}))
        store(rows)
        users.create(ADMIN, PASSWORD, is_admin=True)

    with live_site(seed) as server:
        yield server


@pytest.fixture(scope="module")
def page(site):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(site.url + "/dashboard/funnels")
        page.fill("input[name=email]", ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url("**/dashboard**")
        yield page
        assert not dialogs  # no payload value ever ran as markup
        context.close()


def api_funnel(site, **params):
    token = make_token(scope="analytics:read")
    response = requests.get(
        site.url + "/api/analytics/reports/funnel",
        params={**RANGE, "step": STEPS, **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return response.json()


def api_users(site):
    return [step["users"] for step in api_funnel(site)["steps"]]


def shown(page, steps=None):
    """The users and step labels the page shows (once it shows ``steps`` rows)."""
    page.wait_for_selector("#funnel-chart .main-svg")
    if steps:
        page.locator("#funnel-table tbody tr").nth(steps - 1).wait_for()
    cells = page.locator("#funnel-table tbody tr td:nth-child(2)").all_inner_texts()
    steps = page.locator("#funnel-table tbody tr td:nth-child(1)").all_inner_texts()
    return [int(cell.replace(",", "")) for cell in cells], steps


def test_a_funnel_built_in_the_form_shows_the_apis_figures_and_reopens(page, site):
    query = "&".join(f"{name}={value}" for name, value in RANGE.items())
    page.goto(f"{site.url}/dashboard/funnels?{query}")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Funnels"
    inputs = page.locator("#funnel-steps input[name=step]")
    for n, text in enumerate(STEPS):
        inputs.nth(n).fill(text)
    inputs.nth(len(STEPS) - 1).press("Enter")
    figures, steps = shown(page, len(STEPS))
    assert figures == api_users(site) == [12, 6, 3]
    assert steps == [f"{n}. {text}" for n, text in enumerate(STEPS, 1)]  # as text, not markup
    assert page.locator("#funnel-table img").count() == 0
    address = page.url
    assert address.count("step=") == 3
    page.goto("about:blank")
    page.goto(address)
    assert shown(page) == (figures, steps)
    assert [inputs.nth(n).input_value() for n in range(3)] == STEPS


def test_changing_the_window_updates_the_figures_in_place(page, site):
    query = "&".join(f"{name}={value}" for name, value in RANGE.items())
    steps = "&".join(f"step={text}" for text in ("page_view", "button_click"))
    page.goto(f"{site.url}/dashboard/funnels?{query}&{steps}")
    assert shown(page)[0] == [12, 3]
    page.select_option("#funnel-window", "30m")
    page.wait_for_url("**window=30m**")
    assert shown(page)[0] == [12, 3]


def test_the_previous_period_shows_the_apis_figures_beside_the_current_ones(page, site):
    query = "&".join(f"{name}={value}" for name, value in RANGE.items())
    steps = "&".join(f"step={quote(text)}" for text in STEPS)
    page.goto(f"{site.url}/dashboard/funnels?{query}&{steps}")
    shown(page, len(STEPS))
    expect(page.locator("[data-previous]")).to_have_count(0)
    page.check("#funnel-form input[name=compare]")
    page.wait_for_url("**compare=previous**")
    page.locator("#funnel-table td[data-previous=users]").nth(len(STEPS) - 1).wait_for()
    before = api_funnel(site, compare="previous")["previous"]["steps"]
    assert [s["users"] for s in before] == [8, 4, 2]
    cells = page.locator("#funnel-table td[data-previous=users]").all_inner_texts()
    rates = page.locator("#funnel-table td[data-previous=conversion]").all_inner_texts()
    assert [int(cell.replace(",", "")) for cell in cells] == [s["users"] for s in before]
    assert rates == [f"{s['conversion'] * 100:.1f} %" for s in before]
    expect(page.locator("#compared")).to_contain_text("2026-11-09")
    # Drawn faintly beside the current bars: the previous period's colour, a legend.
    faint = page.evaluate(
        "document.getElementById('funnel-chart').data.find(t => t.meta === 'previous')"
    )
    assert faint["y"] == [s["users"] for s in before]
    assert page.locator("#funnel-chart .legend").count() == 1
    assert shown(page)[0] == api_users(site)
    # The address is the view: reopened, it compares again.
    address = page.url
    page.goto("about:blank")
    page.goto(address)
    expect(page.locator("#funnel-form input[name=compare]")).to_be_checked()
    expect(page.locator("#funnel-table td[data-previous=users]")).to_have_count(len(STEPS))
    page.wait_for_selector("#funnel-chart .main-svg")


def test_the_overview_splits_events_by_a_payload_key_as_the_api_does(page, site):
    query = "&".join(f"{name}={value}" for name, value in RANGE.items())
    page.goto(f"{site.url}/dashboard?{query}")
    page.wait_for_selector("#split-table")
    page.select_option("#split-by", "payload.page")
    page.wait_for_selector("#split-table th:text-is('payload.page')")
    token = make_token(scope="analytics:read")
    rows = requests.get(
        site.url + "/api/analytics/reports/breakdown",
        params={**RANGE, "by": "payload.page", "limit": 10},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["rows"]
    cells = page.locator("#split-table tbody tr td:nth-child(2)").all_inner_texts()
    labels = page.locator("#split-table tbody tr td:nth-child(1)").all_inner_texts()
    assert [int(cell.replace(",", "")) for cell in cells] == [row["events"] for row in rows]
    assert [text.strip() for text in labels] == [
        "(none)" if row["value"] is None else row["value"] for row in rows
    ]
    assert XSS in labels[1] + labels[0]  # shown as text
