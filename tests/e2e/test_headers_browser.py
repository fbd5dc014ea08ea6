"""What a person's browser does with the headers: Swagger UI works under its policy, and no
other site can show the dashboard or the docs in a frame (clickjacking).

Debian's Chromium through Playwright, against the live test server; the framing page comes
from a second local server, so it is another origin, as an attacker's page would be.
"""

import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser import chromium

FRAMER = """<!doctype html>
<meta charset="utf-8">
<title>Another site</title>
<iframe id="victim" src="{target}" width="800" height="600"></iframe>
<iframe id="control" src="/framable" width="200" height="100"></iframe>
"""
FRAMABLE = "<!doctype html><p id='shown'>This page allows framing.</p>"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


class _Framer(BaseHTTPRequestHandler):
    def __init__(self, target, *args, **kwargs):
        self.target = target
        super().__init__(*args, **kwargs)

    def do_GET(self):
        page = FRAMABLE if self.path == "/framable" else FRAMER.format(target=self.target)
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Keep the test output quiet."""


@pytest.fixture
def other_site():
    """A second origin serving a page that frames a given address; yields a URL maker."""
    servers = []

    def framing(target):
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Framer, target))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://localhost:{server.server_port}/"

    yield framing
    for server in servers:
        server.shutdown()
        server.server_close()


def test_swagger_ui_renders_every_operation_under_its_policy(browser, client):
    page = browser.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(client.url + "/api/analytics/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".opblock-summary-path").first.wait_for(timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/analytics/ingest" in paths and "/api/analytics/reports/dau" in paths
    page.locator(".opblock-summary-path", has_text="/api/analytics/healthz").first.click()
    page.get_by_text("Try it out").click()
    page.get_by_text("Execute").click()
    page.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
    page.locator("section.models").get_by_text("Expand all").first.click()
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    dialog.locator("input").first.fill("a-token")
    dialog.locator("button.authorize").click()
    dialog.locator("button.btn-done").click()
    assert problems == [], problems
    page.close()


@pytest.mark.parametrize("path", ["/dashboard/sign-in", "/api/analytics/docs"])
def test_another_site_cannot_frame_the_service(browser, client, other_site, path):
    page = browser.new_page()
    refusals = []
    page.on("console", lambda message: refusals.append(message.text))
    page.goto(other_site(client.url + path))
    page.frame_locator("#control").locator("#shown").wait_for(timeout=10_000)
    page.wait_for_timeout(500)
    victim = page.frame_locator("#victim")
    assert victim.locator("form, #swagger-ui-container").count() == 0
    assert any("frame" in text.lower() for text in refusals), refusals
    page.close()
