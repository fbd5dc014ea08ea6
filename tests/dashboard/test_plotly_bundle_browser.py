"""The vendored plotly.js bundle (built by .ci/plotly) holds every trace type the dashboard's
charts draw, and no other: a chart of a type it lacks would be drawn as a wrong, empty plot."""

import pytest

from analytics_app import ROOT
from analytics_app.dashboard import charts

from browser import chromium

BUNDLE = ROOT / "static" / "vendor" / "plotly" / "plotly-analytics.min.js"


def _series(days, complete_days):
    return [
        {"date": f"2026-03-{day:02d}", "dau": day * 3, "complete": day <= complete_days}
        for day in range(1, days + 1)
    ]


def _steps(*users):
    return [
        {"step": f"step {n}", "users": count, "conversion": count / users[0]}
        for n, count in enumerate(users, 1)
    ]


def _figures():
    """Every chart the dashboard draws, in each of its shapes."""
    yield charts.dau(_series(7, 6))
    yield charts.dau(_series(7, 7), previous=_series(7, 7))
    yield charts.events_by_type({"page_view": 12, "button_click": 3})
    yield charts.funnel(_steps(10, 4))
    yield charts.funnel(_steps(10, 4), previous=_steps(8, 2))


@pytest.fixture(scope="module", name="bundled_traces")
def bundled_traces_fixture():
    with chromium() as browser:
        page = browser.new_page()
        page.set_content("<!doctype html><title>plotly</title><div id='chart'></div>")
        page.add_script_tag(path=str(BUNDLE))
        yield page, set(page.evaluate("Object.keys(Plotly.PlotSchema.get().traces)"))


def test_the_bundle_holds_exactly_the_trace_types_the_charts_use(bundled_traces):
    _, traces = bundled_traces
    drawn = {trace["type"] for figure in _figures() for trace in figure["data"]}
    assert drawn == traces == {"scatter", "bar"}


def test_every_chart_draws_with_the_bundle(bundled_traces):
    page, _ = bundled_traces
    for figure in _figures():
        drawn = page.evaluate(
            """async (figure) => {
              const element = document.getElementById('chart');
              await Plotly.react(element, figure.data, figure.layout);
              return element._fullData.map((trace) => trace.type);
            }""",
            figure,
        )
        assert drawn == [trace["type"] for trace in figure["data"]]
