"""Debian's Chromium as the browser tests launch it (through Playwright, no browser download)."""

import contextlib
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls home, and the closed network refuses it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every request a test page makes must go to one of these.
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI requires the browser tests to run)")
    pytest.skip(reason)


@contextlib.contextmanager
def chromium():
    """A launched browser; the test is skipped without one locally, and fails under CI."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
