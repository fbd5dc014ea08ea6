"""How the overview loads in Chromium: plotly.js fetched once, run after the panels have been
asked for."""

from browsing import (  # noqa: F401 - fixtures, requested by name
    browser_fixture,
    eventually,
    open_context_fixture,
    sign_in,
    site_fixture,
)

OPENED = (
    "document.querySelectorAll('[data-panel][data-state=loading]').length === 0"
    " && !!document.querySelector('#dau-chart .main-svg')"
    " && !!document.querySelector('#types-chart .main-svg')"
)
PLOTLY_FETCHES = """performance.getEntriesByType('resource')
  .filter((entry) => entry.name.includes('/plotly-basic.min.js')).length"""
# When the panels' first request started, and when plotly.js had run.
ORDER = """[Math.min(...performance.getEntriesByType('resource')
  .filter((entry) => new URL(entry.name).pathname.startsWith('/dashboard/panels/'))
  .map((entry) => entry.startTime)), window.plotlyRanAt]"""


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
