"""Debian's Chromium as the browser tests launch it (through Playwright, no browser download)."""

from pathlib import Path

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
