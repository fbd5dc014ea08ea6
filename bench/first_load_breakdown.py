"""Where the overview's first load spends its time: one cold and one warm load (after a
discarded warm-up round), each cut into the page's response, every request's wait and server
time, the scripts' compile and run, and the charts' drawing, from Chromium's own trace.

    .venv/bin/python bench/first_load_breakdown.py [--runs 3] [--database analytics_first_load]

Request rows come from resource timing: ``queued`` is from the start of the page to the
request leaving the browser, ``wait`` the time to the first byte less the app's own time
(``Server-Timing: app``), i.e. waiting for a gunicorn worker and the network; ``app`` the
app's time. Scripts come from the trace's ``v8.compile``/``EvaluateScript`` events; the
charts' drawing is timed around every ``Plotly.react`` call. Times in ms from the start of
navigation. The last line printed is one JSON object per load.
"""

import json
import statistics
import sys
import tempfile
from pathlib import Path

from _services import stop_on_signals
from first_load import arguments, open_overview, overview_server, watched_context

# Times each Plotly.react call (the charts' drawing) on the page's own clock.
TIME_CHARTS = """
(() => {
  window.__draws = [];
  let plotly;
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get() { return plotly; },
    set(value) {
      const react = value.react;
      value.react = function (element, ...rest) {
        const start = performance.now();
        const done = () => window.__draws.push([element.id, start, performance.now()]);
        const result = react.call(this, element, ...rest);
        if (result && result.then) result.then(done); else done();
        return result;
      };
      plotly = value;
    },
  });
})();
"""
REQUESTS = """
performance.getEntriesByType('resource').map((entry) => ({
  name: entry.name.replace(location.origin, '').split('?')[0],
  start: entry.startTime,
  sent: entry.requestStart,
  first_byte: entry.responseStart,
  end: entry.responseEnd,
  bytes: entry.transferSize,
  app: (entry.serverTiming.find((timing) => timing.name === 'app') || {}).duration,
}))
"""
PAGE = """(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {first_byte: nav.responseStart, html_end: nav.responseEnd,
          dom_content_loaded: nav.domContentLoadedEventEnd,
          app: (nav.serverTiming.find((timing) => timing.name === 'app') || {}).duration};
})()"""
TRACE_CATEGORIES = ["devtools.timeline", "v8", "disabled-by-default-devtools.timeline"]


def scripts_from_trace(path, origin):
    """Compile and evaluation time per script (ms, summed over the trace)."""
    events = json.loads(Path(path).read_text())["traceEvents"]
    totals = {}
    for event in events:
        data = (event.get("args") or {}).get("data") or {}
        url = data.get("url") or (event.get("args") or {}).get("fileName") or ""
        if event.get("ph") != "X" or not url.startswith(origin):
            continue
        kind = {"v8.compile": "compile", "EvaluateScript": "evaluate"}.get(event["name"])
        if kind:
            name = url.replace(origin, "").split("?")[0]
            entry = totals.setdefault(name, {"compile": 0.0, "evaluate": 0.0})
            entry[kind] += event.get("dur", 0) / 1000
    return {name: {k: round(v, 1) for k, v in entry.items()} for name, entry in totals.items()}


def load(browser, page, site, kind):
    """Open the overview once with the trace on; return its breakdown."""
    with tempfile.NamedTemporaryFile(suffix=".json") as trace:
        browser.start_tracing(page=page, path=trace.name, categories=TRACE_CATEGORIES)
        seconds, transferred, _ = open_overview(page, site + "/dashboard")
        browser.stop_tracing()
        scripts = scripts_from_trace(trace.name, site)
    return {
        "kind": kind,
        "opened_ms": round(seconds * 1000, 1),
        "kib": round(transferred / 1024, 1),
        "page": page.evaluate(PAGE),
        "requests": page.evaluate(REQUESTS),
        "scripts": scripts,
        "draws": page.evaluate("window.__draws"),
    }


def show(result):
    page = result["page"]
    print(
        f"\n{result['kind']}: opened {result['opened_ms']:.0f} ms, {result['kib']} KiB;"
        f" page first byte {page['first_byte']:.0f} (app {page['app'] or 0:.0f}),"
        f" DOMContentLoaded {page['dom_content_loaded']:.0f}"
    )
    print(f"  {'request':<44}{'queued':>7}{'wait':>7}{'app':>7}{'end':>7}{'KiB':>7}")
    for entry in sorted(result["requests"], key=lambda entry: entry["start"]):
        app = entry["app"] or 0
        wait = entry["first_byte"] - entry["sent"] - app if entry["first_byte"] else 0
        print(
            f"  {entry['name'][-44:]:<44}{entry['sent'] or entry['start']:7.0f}{wait:7.0f}"
            f"{app:7.0f}{entry['end']:7.0f}{entry['bytes'] / 1024:7.1f}"
        )
    for name, times in result["scripts"].items():
        print(f"  script {name}: compile {times['compile']} ms, evaluate {times['evaluate']} ms")
    for chart, start, end in result["draws"]:
        print(f"  draw {chart}: {start:.0f} -> {end:.0f} ({end - start:.0f} ms)")


def main():
    stop_on_signals()
    parser = arguments(__doc__.split("\n\n")[0])
    parser.set_defaults(runs=3)
    args = parser.parse_args()
    results = []
    with overview_server(args) as (browser, site, state):
        for run in range(args.runs + 1):
            context = watched_context(browser, state)
            context.add_init_script(TIME_CHARTS)
            page = context.new_page()
            for kind in ("cold", "warm"):
                result = load(browser, page, site, kind)
                if run == 0:
                    print(f"warm-up {kind} {result['opened_ms']:.0f} ms (discarded)")
                    continue
                show(result)
                results.append(result)
            context.close()
    for kind in ("cold", "warm"):
        opened = [r["opened_ms"] for r in results if r["kind"] == kind]
        print(f"{kind}: median opened {statistics.median(opened):.0f} ms over {len(opened)}")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
