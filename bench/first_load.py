"""How long the overview takes to open in Chromium, cold (an empty browser cache) and warm (the
same browser again), on the demo data, against gunicorn as production runs it.

    .venv/bin/python bench/first_load.py [--runs 5] [--database analytics_first_load]

"Open" means every panel has answered and both charts are drawn; the time is the page's own
clock from the start of navigation (``performance.now()``), taken by the page itself in the
task after which it has it all (``WATCH_OPENED``). The bench only waits for that mark:
asking the page from here every 10 ms, as it first did, read the clock a round trip late and
took a slice of the main thread it was timing.

Bytes are what crossed the network (``transferSize``: compressed, 0 for what the cache
answered, and Chromium's fixed 300 bytes of headers for a fragment revalidated with a 304).
Targets: < 0.8 s cold, < 0.3 s warm (medians). The last line printed is one JSON object.

A round of one cold and one warm load comes first and is discarded (``--warm-up 0`` keeps
none): a freshly started gunicorn's first requests import, compile and connect what a
production server that has served pages before has ready. Its times are printed as such.
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
from contextlib import contextmanager

from _services import (
    BIN,
    RESULTS,
    ROOT,
    Database,
    app_environment,
    gunicorn,
    migrate,
    stop_on_signals,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
EMAIL = "bench@example.com"
OPENED = (
    "document.querySelectorAll('[data-panel][data-state=loading]').length === 0"
    " && !!document.querySelector('#dau-chart .main-svg')"
    " && !!document.querySelector('#types-chart .main-svg')"
)
# Marks the moment the page opens: checked after every task that changed the DOM (a panel
# swapped in, a chart drawn), once that task and its microtasks are done. No polling and no
# animation frames: either would take main-thread time from the load it times.
WATCH_OPENED = f"""
(() => {{
  let opened;
  window.__opened = new Promise((resolve) => {{ opened = resolve; }});
  let pending = false;
  const check = () => {{
    pending = false;
    if (document.readyState === "loading" || !({OPENED})) return;
    observer.disconnect();
    opened(performance.now());
  }};
  const observer = new MutationObserver(() => {{
    if (!pending) {{ pending = true; setTimeout(check); }}
  }});
  observer.observe(document, {{ childList: true, subtree: true }});
}})();
"""
TRANSFERRED = (
    "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
    ".reduce((sum, entry) => sum + entry.transferSize, 0)"
)


def flask(env, *args):
    subprocess.run(
        [BIN / "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def watched_context(browser, state):
    """A browser context with an empty cache, signed in, whose pages mark when they open."""
    context = browser.new_context(storage_state=state)
    context.add_init_script(WATCH_OPENED)
    return context


def open_overview(page, url, timeout=30):
    """Load the overview in a ``watched_context``; return (seconds to open, bytes
    transferred, requests made)."""
    page.goto(url, wait_until="commit")
    opened = page.evaluate(
        "(ms) => Promise.race([window.__opened, new Promise((r) => setTimeout(r, ms, null))])",
        timeout * 1000,
    )
    if opened is None:
        raise RuntimeError("the overview did not open in time")
    seconds = opened / 1000
    transferred = page.evaluate(TRANSFERRED)
    requests = page.evaluate("performance.getEntriesByType('resource').length + 1")
    return seconds, transferred, requests


@contextmanager
def overview_server(args):
    """gunicorn on a fresh database of demo data, and Chromium with a signed-in session:
    yield ``(browser, site, storage state)``; drop the database on the way out."""
    from playwright.sync_api import sync_playwright

    database = Database(args.postgres, args.database)
    database.recreate()
    password = secrets.token_urlsafe(16)
    env = app_environment(database.url, secrets.token_urlsafe(48), args.redis, LOG_LEVEL="WARNING")
    env["APP_ENV"] = "development"  # the session cookie is sent over this bench's plain HTTP
    env["METRICS_BIND"] = ""  # no metrics listener: its port may be another server's
    try:
        migrate(env)
        flask(env, "analytics", "demo")
        flask(env, "analytics", "user", "create", "--email", EMAIL, "--password", password)
        production = ["-c", "python:analytics_app.gunicorn_conf"]
        log = RESULTS / "first-load-gunicorn.log"
        with (
            gunicorn(env, log, args.port, args.workers, options=production),
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            site = f"http://127.0.0.1:{args.port}"
            signing_in = browser.new_context()
            page = signing_in.new_page()
            page.goto(site + "/dashboard/sign-in")
            page.fill("input[name=email]", EMAIL)
            page.fill("input[name=password]", password)
            page.click("form button[type=submit]")
            page.wait_for_url(site + "/dashboard")
            state = signing_in.storage_state()
            signing_in.close()
            yield browser, site, state
            browser.close()
    finally:
        database.drop()


def arguments(description):
    """The options every first-load bench takes (the server's and the database's)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--database", default="analytics_first_load")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    return parser


def main():
    stop_on_signals()
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--warm-up", type=int, default=1, help="rounds run first and discarded")
    args = parser.parse_args()
    figures = {"cold": [], "warm": []}
    with overview_server(args) as (browser, site, state):
        print(
            f"first load: {args.runs} runs after {args.warm_up} discarded,"
            f" gunicorn -w {args.workers}, demo data;"
            f" load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        for run in range(args.warm_up + args.runs):
            context = watched_context(browser, state)
            page = context.new_page()
            for kind in ("cold", "warm"):
                seconds, transferred, requests = open_overview(page, site + "/dashboard")
                discarded = run < args.warm_up
                if not discarded:
                    figures[kind].append((seconds, transferred, requests))
                print(
                    f"{kind}  {seconds:6.3f} s  {transferred / 1024:8.1f} KiB  {requests} requests"
                    + ("  (warm-up, discarded)" if discarded else ""),
                    flush=True,
                )
            context.close()

    summary = {
        "runs": args.runs,
        "warm_up": args.warm_up,
        "load_average": round(os.getloadavg()[0], 2),
    }
    for kind, runs in figures.items():
        summary[kind] = {
            "median_s": round(statistics.median(s for s, _, _ in runs), 3),
            "max_s": round(max(s for s, _, _ in runs), 3),
            "kib": round(statistics.median(b for _, b, _ in runs) / 1024, 1),
            "requests": statistics.median(r for _, _, r in runs),
        }
    print(
        f"median: cold {summary['cold']['median_s']} s ({summary['cold']['kib']} KiB),"
        f" warm {summary['warm']['median_s']} s ({summary['warm']['kib']} KiB);"
        " targets < 0.8 s cold, < 0.3 s warm"
    )
    print(json.dumps(summary))
    ok = summary["cold"]["median_s"] < 0.8 and summary["warm"]["median_s"] < 0.3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
