"""Sign-in throttling, password change and token revocation in Debian's headless Chromium, as a
person sees them, against the app on a throwaway PostgreSQL database with Redis.

Each test opens fresh browser contexts; none may request another host or raise a page error.
"""

import re
from urllib.parse import urlsplit

import pytest

from analytics_app.accounts import users
from analytics_app.accounts.throttle import SignInThrottle
from analytics_app.extensions import db

from browser import LOCAL_HOSTS, chromium
from helpers import Client, make_event
from webclient import PASSWORD, forget_sign_in_failures, live_site

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips locally, fails under CI
    expect = None

ADMIN = "admin@example.com"
NEW_PASSWORD = "velvet thunder orchard"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site():
    """The app on a throwaway PostgreSQL database with an administrator, served over HTTP."""
    with live_site(lambda app: users.create(ADMIN, PASSWORD, is_admin=True)) as server:
        yield server


@pytest.fixture
def open_context(browser, site):
    """Open fresh browser contexts; after the test, none may have left this machine or failed."""
    forget_sign_in_failures(site.app)
    opened, urls, errors = [], [], []

    def open_():
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(10_000)
        context.on("request", lambda request: urls.append(request.url))
        context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
        opened.append(context)
        return context.new_page()

    yield open_
    for context in opened:
        context.close()
    assert not {urlsplit(url).hostname for url in urls} - LOCAL_HOSTS, urls
    assert not errors
    forget_sign_in_failures(site.app)


def sign_in(page, site, email=ADMIN, password=PASSWORD):
    page.goto(site.url + "/dashboard/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")


def add_user(site, email):
    with site.app.app_context():
        users.create(email, PASSWORD)
        db.session.remove()
    return email


def test_failed_sign_ins_make_the_guesser_wait_and_say_how_long(open_context, site):
    site.app.extensions["signin_throttle"] = SignInThrottle(
        "5 per 15 minutes",
        "30 per 15 minutes",
        "20 per 15 minutes",
        site.app.config["REDIS_URL"],
        first_wait=60,
    )
    email = add_user(site, "guessed@example.com")
    page = open_context()
    for attempt in range(5):
        sign_in(page, site, email, f"wrong {attempt}")
        expect(page.locator("main .flash.error")).to_have_text("Wrong email address or password.")
    sign_in(page, site, email, PASSWORD)
    expect(page.locator("main .flash.error")).to_have_text(
        "Too many failed sign-ins. Try again in 1 minute."
    )
    assert urlsplit(page.url).path == "/dashboard/sign-in"


def test_a_user_changes_their_password_and_their_other_sessions_end(open_context, site):
    email = add_user(site, "carol@example.com")
    laptop, phone = open_context(), open_context()
    for page in (laptop, phone):
        sign_in(page, site, email)
        expect(page.locator(".who .email")).to_have_text(email)

    laptop.click(".who a.email")
    expect(laptop.locator("h1")).to_have_text("Change your password")
    laptop.fill("input[name=current]", PASSWORD)
    laptop.fill("input[name=new]", "password")
    laptop.fill("input[name=repeat]", "password")
    laptop.click("#change-password button[type=submit]")
    expect(laptop.locator(".field-error")).to_contain_text("This password is too easy to guess.")

    laptop.fill("input[name=current]", PASSWORD)
    laptop.fill("input[name=new]", NEW_PASSWORD)
    laptop.fill("input[name=repeat]", NEW_PASSWORD)
    laptop.click("#change-password button[type=submit]")
    expect(laptop.locator(".flash.info")).to_have_text(
        "Your password is changed. Your other sessions are signed out."
    )
    assert urlsplit(laptop.url).path == "/dashboard"

    phone.reload()
    assert urlsplit(phone.url).path == "/dashboard/sign-in"
    sign_in(phone, site, email, PASSWORD)
    expect(phone.locator("main .flash.error")).to_have_text("Wrong email address or password.")
    sign_in(phone, site, email, NEW_PASSWORD)
    expect(phone.locator(".who .email")).to_have_text(email)


def test_an_admin_revokes_a_token_once_they_confirm(open_context, site):
    page = open_context()
    sign_in(page, site)
    page.goto(site.url + "/dashboard/admin/tokens")
    page.fill("input[name=sub]", "browser-shop")
    page.click("#mint-token button[type=submit]")
    token = page.locator("#new-token").text_content().strip()
    api = Client(site.url, token)
    assert api.ingest([make_event()]).status_code == 200

    row = page.locator("#tokens tbody tr", has_text="browser-shop")
    questions = []

    def answer(accept):
        def handle(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(accept=False))
    row.get_by_role("button", name="Revoke").click()
    expect(row.locator("td[data-status]")).to_have_attribute("data-status", "active")
    assert api.ingest([make_event()]).status_code == 200

    page.once("dialog", answer(accept=True))
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash.info")).to_contain_text("Revoked the token")
    expect(row.locator("td[data-status]")).to_have_text(re.compile(r"revoked .* by " + ADMIN))
    question = "Revoke the token of browser-shop? Every service using it is refused at once."
    assert questions == [question, question]
    assert api.ingest([make_event()]).status_code == 401
