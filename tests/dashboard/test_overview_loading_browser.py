"""How the overview loads in Chromium: plotly.js fetched once, run after the panels have been
asked for; each chart drawn once, as soon as both plotly.js and its panel are there; on a
reload the panels are revalidated (304) rather than sent again, and an event ingested in
between shows at once; with the report cache on, the page comes with its panels."""

from browsing import (  # noqa: F401 - fixtures, requested by name
    browser_fixture,
    eventually,
    open_context_fixture,
    sign_in,
    site_fixture,
)

from helpers import Client, make_event, make_token

OPENED = (
    "document.querySelectorAll('[data-panel][data-state=loading]').length === 0"
    " && !!document.querySelector('#dau-chart .main-svg')"
    " && !!document.querySelector('#types-chart .main-svg')"
)
# Resource timing of the panels' requests: Chromium counts a response's headers as 300 bytes,
# so one that was revalidated (304) moved fewer than its body's size and that.
HEADERS = 300
PANELS = """performance.getEntriesByType('resource')
  .filter((entry) => new URL(entry.name).pathname.startsWith('/dashboard/panels/'))
  .map((entry) => ({name: entry.name, sent: entry.transferSize, body: entry.encodedBodySize}))"""
PLOTLY_FETCHES = """performance.getEntriesByType('resource')
  .filter((entry) => entry.name.includes('/plotly-analytics.min.js')).length"""
PAGE_SENT = "performance.getEntriesByType('navigation')[0].transferSize"
# When the panels' first request started, and when plotly.js had run.
ORDER = """[Math.min(...performance.getEntriesByType('resource')
  .filter((entry) => new URL(entry.name).pathname.startsWith('/dashboard/panels/'))
  .map((entry) => entry.startTime)), window.plotlyRanAt]"""
EVENTS = "#tile-events .tile-value"
# Counts each chart's drawings (Plotly.react calls) by the chart's id, in window.draws.
COUNT_DRAWS = """
window.draws = {};
Object.defineProperty(window, 'Plotly', {configurable: true, set(value) {
  const react = value.react;
  value.react = function (element, ...rest) {
    window.draws[element.id] = (window.draws[element.id] || 0) + 1;
    return react.call(this, element, ...rest);
  };
  Object.defineProperty(window, 'Plotly', {value, writable: true});
}});
"""
# Whether the DAU chart is drawn by the time the task that put its panel in the page is over
# (a mutation observer's callback runs right after that task's script), in window.dauOnArrival.
WATCH_DAU = """() => {
  delete window.dauOnArrival;
  new MutationObserver((changes, observer) => {
    if (!document.getElementById('dau-chart')) return;
    window.dauOnArrival = !!document.querySelector('#dau-chart .main-svg');
    observer.disconnect();
  }).observe(document.getElementById('panels'), {childList: true, subtree: true});
}"""


def opened(page):
    return eventually(lambda: page.evaluate(OPENED))


def test_plotly_runs_once_the_panels_are_asked_for(open_context, site):
    context, _ = open_context()
    context.add_init_script(
        "Object.defineProperty(window, 'Plotly', {configurable: true, set(value) {"
        " Object.defineProperty(window, 'Plotly', {value, writable: true});"
        " window.plotlyRanAt = performance.now(); }});"
    )
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)
    assert page.evaluate(PLOTLY_FETCHES) == 1  # the preload served the script
    first_request, plotly_ran = page.evaluate(ORDER)
    assert first_request < plotly_ran


def test_each_chart_is_drawn_once(open_context, site):
    context, _ = open_context()
    context.add_init_script(COUNT_DRAWS)
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)
    assert page.evaluate("window.draws") == {"dau-chart": 1, "types-chart": 1}
    page.reload()  # the same browser again: plotly.js may well run before the panels arrive
    assert opened(page)
    assert page.evaluate("window.draws") == {"dau-chart": 1, "types-chart": 1}


def test_a_chart_is_drawn_in_the_task_its_panel_arrives_in(open_context, site):
    """No settling delay between a panel's arrival and its chart's drawing."""
    context, _ = open_context()
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)
    page.evaluate(WATCH_DAU)
    page.select_option("select[name=type]", "page_view")  # the panels load again
    assert eventually(lambda: page.evaluate("window.dauOnArrival !== undefined"))
    assert page.evaluate("window.dauOnArrival") is True


def test_the_charts_are_drawn_again_in_the_other_colour_scheme(open_context, site):
    context, _ = open_context(color_scheme="light")
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)
    fonts = (
        "['dau-chart', 'types-chart']"
        ".map((id) => document.getElementById(id)._fullLayout.font.color)"
    )
    page.emulate_media(color_scheme="dark")
    assert eventually(lambda: page.evaluate(fonts) == ["#cbd5e1", "#cbd5e1"])


def test_a_reload_revalidates_the_panels_and_shows_an_ingest_at_once(open_context, site):
    context, _ = open_context()
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)
    events = int(page.text_content(EVENTS).replace(",", ""))

    page.reload()
    assert opened(page)
    panels = page.evaluate(PANELS)
    assert len(panels) == 10
    assert all(entry["sent"] < entry["body"] + HEADERS for entry in panels), panels
    assert int(page.text_content(EVENTS).replace(",", "")) == events

    assert Client(site.url, make_token()).ingest([make_event()]).status_code == 200
    page.reload()
    assert opened(page)
    assert int(page.text_content(EVENTS).replace(",", "")) == events + 1
    [totals] = [e for e in page.evaluate(PANELS) if "/panels/totals" in e["name"]]
    assert totals["sent"] >= totals["body"] + HEADERS


def test_with_the_figures_cached_the_page_comes_with_its_panels(open_context, site, monkeypatch):
    monkeypatch.setitem(site.app.config, "REPORT_CACHE_SECONDS", 300)  # the tests' apps lack it
    context, _ = open_context()
    context.add_init_script(COUNT_DRAWS)
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)  # each panel asked for its own, and the cache keeps them
    assert len(page.evaluate(PANELS)) == 10

    page.reload()  # the page now holds every panel but the recent events, which it asks for
    assert opened(page)
    assert [entry["name"].split("?")[0] for entry in page.evaluate(PANELS)] == [
        site.url + "/dashboard/panels/recent"
    ]
    assert page.evaluate("window.draws") == {"dau-chart": 1, "types-chart": 1}
    events = int(page.text_content(EVENTS).replace(",", ""))

    page.reload()  # nothing changed: the page is revalidated (304), its copy kept
    assert opened(page)
    assert page.evaluate(PAGE_SENT) == HEADERS
    assert page.evaluate("window.draws") == {"dau-chart": 1, "types-chart": 1}

    assert Client(site.url, make_token()).ingest([make_event()]).status_code == 200
    page.reload()  # a new page, whose panels load the new figures
    assert opened(page)
    assert int(page.text_content(EVENTS).replace(",", "")) == events + 1


def test_going_back_after_signing_out_shows_no_kept_copy(open_context, site):
    """The overview is kept by the browser for revalidation: signing out clears that."""
    context, _ = open_context()
    page = context.new_page()
    sign_in(page, site)
    assert opened(page)
    page.click("text=Sign out")
    page.wait_for_url(site.url + "/dashboard/sign-in")
    page.go_back()
    page.wait_for_load_state()
    assert page.url.startswith(site.url + "/dashboard/sign-in")
    assert page.locator("#panels").count() == 0
