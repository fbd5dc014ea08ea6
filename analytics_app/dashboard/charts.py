"""Plotly figures built from report rows; the page hands them to plotly.js as JSON.

Plain lists, not numpy arrays, go in: Plotly then writes them as plain JSON arrays (it would
write arrays as base64 typed arrays), which the browser tests can count.
"""

import html
import json
from datetime import datetime, timedelta

import plotly.graph_objects as go

ACCENT = "#4f46e5"
GRID = "#e5e7eb"
TEXT = "#334155"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def _layout(**overrides):
    layout = {
        "template": "none",
        "autosize": True,
        "height": 280,
        "margin": {"l": 44, "r": 12, "t": 8, "b": 36},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": 12, "color": TEXT},
        "showlegend": False,
        "hoverlabel": {"font": {"family": FONT}},
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "fixedrange": True},
        "yaxis": {"gridcolor": GRID, "rangemode": "tozero", "fixedrange": True},
    }
    layout.update(overrides)
    return layout


def _json(figure):
    """The figure as plain JSON-ready dicts and lists."""
    return json.loads(figure.to_json())


def _padded_days(first, last):
    """An axis range half a day wider on each side, so the end points are not cut."""
    half = timedelta(hours=12)
    start = datetime.fromisoformat(first) - half
    end = datetime.fromisoformat(last) + half
    return [f"{start:%Y-%m-%d %H:%M}", f"{end:%Y-%m-%d %H:%M}"]


def dau(series):
    """Daily active users, one point per day of the range."""
    figure = go.Figure(
        go.Scatter(
            x=[point["date"] for point in series],
            y=[point["dau"] for point in series],
            mode="lines+markers",
            name="DAU",
            line={"color": ACCENT, "width": 2},
            marker={"size": 5},
            fill="tozeroy",
            fillcolor="rgba(79, 70, 229, 0.08)",
            hovertemplate="%{x|%a %d %b %Y}<br><b>%{y}</b> active users<extra></extra>",
        ),
        layout=_layout(
            xaxis={
                "type": "date",
                "range": _padded_days(series[0]["date"], series[-1]["date"]),
                "tickformat": "%d %b",
                "gridcolor": GRID,
                "linecolor": GRID,
                "fixedrange": True,
            },
            hovermode="x",
        ),
    )
    return _json(figure)


def events_by_type(by_type):
    """Event counts per type as horizontal bars, the largest on top."""
    ranked = sorted(by_type.items(), key=lambda item: (item[1], item[0]))
    figure = go.Figure(
        go.Bar(
            x=[count for _, count in ranked],
            y=[name for name, _ in ranked],
            orientation="h",
            marker={"color": ACCENT},
            hovertemplate="%{y}: <b>%{x}</b> events<extra></extra>",
            text=[count for _, count in ranked],
            textposition="auto",
        ),
        layout=_layout(
            height=max(160, 34 * len(ranked) + 48),
            margin={"l": 120, "r": 12, "t": 8, "b": 28},
            yaxis={"automargin": True, "fixedrange": True},
        ),
    )
    return _json(figure)


def funnel(steps):
    """Users per funnel step as bars, each labelled with its conversion from the first."""
    # Plotly reads tags in labels (<b>, <a href>): a condition's value is shown as typed.
    labels = [f"{n}. {html.escape(step['step'], quote=False)}" for n, step in enumerate(steps, 1)]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=[step["users"] for step in steps],
            marker={"color": ACCENT},
            text=[f"{step['users']:,} · {step['conversion'] * 100:.1f} %" for step in steps],
            textposition="auto",
            hovertemplate="%{x}<br><b>%{y}</b> users<extra></extra>",
        ),
        layout=_layout(xaxis={"type": "category", "fixedrange": True, "automargin": True}),
    )
    return _json(figure)
