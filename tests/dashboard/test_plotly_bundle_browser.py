"""The vendored plotly.js bundle (built by .ci/plotly) holds every trace type the dashboard's
charts draw, and no other: a chart of a type it lacks would be drawn as a wrong, empty plot."""

import pytest

from analytics_app import ROOT
from analytics_app.dashboard.warm import every_chart

from browser import chromium

BUNDLE = ROOT / "static" / "vendor" / "plotly" / "plotly-analytics.min.js"


@pytest.fixture(scope="module", name="bundled_traces")
def bundled_traces_fixture():
    with chromium() as browser:
        page = browser.new_page()
        page.set_content("<!doctype html><title>plotly</title><div id='chart'></div>")
        page.add_script_tag(path=str(BUNDLE))
        yield page, set(page.evaluate("Object.keys(Plotly.PlotSchema.get().traces)"))


def test_the_bundle_holds_exactly_the_trace_types_the_charts_use(bundled_traces):
    _, traces = bundled_traces
    drawn = {trace["type"] for figure in every_chart() for trace in figure["data"]}
    assert drawn == traces == {"scatter", "bar"}


def test_every_chart_draws_with_the_bundle(bundled_traces):
    page, _ = bundled_traces
    for figure in every_chart():
        drawn = page.evaluate(
            """async (figure) => {
              const element = document.getElementById('chart');
              await Plotly.react(element, figure.data, figure.layout);
              return element._fullData.map((trace) => trace.type);
            }""",
            figure,
        )
        assert drawn == [trace["type"] for trace in figure["data"]]
