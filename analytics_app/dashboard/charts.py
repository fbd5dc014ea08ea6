"""Plotly figures built from report rows; the page hands them to plotly.js as JSON.

Plain lists, not numpy arrays, go in: Plotly then writes them as plain JSON arrays (it would
write arrays as base64 typed arrays), which the browser tests can count.
"""

import html
import json
from datetime import datetime, timedelta

import plotly.graph_objects as go

ACCENT = "#4f46e5"
PREVIOUS = "#a5b4fc"
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


def _count_axis(values, **overrides):
    """A y or x axis of counts: whole numbers with thousands separators, from zero."""
    axis = {"gridcolor": GRID, "rangemode": "tozero", "fixedrange": True, "tickformat": ",d"}
    if max(values, default=0) <= 5:
        axis.update(tick0=0, dtick=1)  # otherwise Plotly ticks 0.5 steps, shown as 0, 1, 1, 2
    axis.update(overrides)
    return axis


def dau(series, previous=None):
    """Daily active users, one point per day of the range; a partial day (today) dashed and
    labelled "so far", apart from the finished days' line; with ``previous`` (the series of
    the range just before), that period drawn faintly under it, day for day."""
    finished = [point for point in series if point["complete"]]
    partial = [point for point in series if not point["complete"]]
    traces = [
        go.Scatter(
            x=[point["date"] for point in finished],
            y=[point["dau"] for point in finished],
            mode="lines+markers",
            name="DAU",
            meta="current",
            line={"color": ACCENT, "width": 2},
            marker={"size": 5},
            fill="tozeroy",
            fillcolor="rgba(79, 70, 229, 0.08)",
            hovertemplate="%{x|%Y-%m-%d}<br><b>%{y:,}</b> active users<extra></extra>",
        )
    ]
    if partial:
        joined = finished[-1:] + partial  # the dash starts at the last finished day
        traces.append(
            go.Scatter(
                x=[point["date"] for point in joined],
                y=[point["dau"] for point in joined],
                mode="lines+markers+text",
                name="so far",
                meta="current",
                line={"color": ACCENT, "width": 2, "dash": "dash"},
                marker={"size": 6, "symbol": "circle-open"},
                text=[""] * (len(joined) - 1) + ["so far"],
                textposition="top left",  # the last point is at the chart's right edge
                textfont={"color": ACCENT},
                hovertemplate="%{x|%Y-%m-%d}<br><b>%{y:,}</b> active users so far<extra></extra>",
            )
        )
    if previous:
        traces.append(
            go.Scatter(
                x=[point["date"] for point in series],
                y=[point["dau"] for point in previous],
                customdata=[point["date"] for point in previous],
                mode="lines",
                name="previous period",
                meta="previous",
                line={"color": PREVIOUS, "width": 1.5, "dash": "dot"},
                opacity=0.7,
                hovertemplate="%{customdata}<br><b>%{y:,}</b> active users"
                " (previous period)<extra></extra>",
            )
        )
    values = [point["dau"] for point in series + (previous or [])]
    figure = go.Figure(
        traces,
        layout=_layout(
            xaxis={
                "type": "date",
                "range": _padded_days(series[0]["date"], series[-1]["date"]),
                "tickformat": "%Y-%m-%d",
                "gridcolor": GRID,
                "linecolor": GRID,
                "fixedrange": True,
                # On a phone the dates are tilted to fit: the margin grows to hold them.
                "automargin": True,
            },
            yaxis=_count_axis(values),
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
            meta="current",
            marker={"color": ACCENT},
            hovertemplate="%{y}: <b>%{x:,}</b> events<extra></extra>",
            text=[f"{count:,}" for _, count in ranked],
            textposition="auto",
        ),
        layout=_layout(
            height=max(160, 34 * len(ranked) + 48),
            margin={"l": 120, "r": 12, "t": 8, "b": 28},
            xaxis=_count_axis([count for _, count in ranked], linecolor=GRID),
            yaxis={"automargin": True, "fixedrange": True},
        ),
    )
    return _json(figure)


def _funnel_bars(labels, steps, name, meta, compared, **style):
    note = f" ({name.lower()})" if compared else ""
    return go.Bar(
        x=labels,
        y=[step["users"] for step in steps],
        name=name,
        meta=meta,
        text=[f"{step['users']:,} · {step['conversion'] * 100:.1f} %" for step in steps],
        textposition="auto",
        hovertemplate=f"%{{x}}<br><b>%{{y:,}}</b> users{note}<extra></extra>",
        **style,
    )


def funnel(steps, previous=None):
    """Users per funnel step as bars, each labelled with its conversion from the first; with
    ``previous`` (the same funnel over the range just before), its bars drawn faintly beside
    them, step for step."""
    # Plotly reads tags in labels (<b>, <a href>): a condition's value is shown as typed.
    labels = [f"{n}. {html.escape(step['step'], quote=False)}" for n, step in enumerate(steps, 1)]
    compared = previous is not None
    current = {"marker": {"color": ACCENT}}
    traces = [_funnel_bars(labels, steps, "This period", "current", compared, **current)]
    layout = {"xaxis": {"type": "category", "fixedrange": True, "automargin": True}}
    if compared:
        faint = {"marker": {"color": PREVIOUS}, "opacity": 0.7}
        traces.append(_funnel_bars(labels, previous, "Previous period", "previous", True, **faint))
        layout.update(
            barmode="group",
            showlegend=True,
            legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
            margin={"l": 44, "r": 12, "t": 28, "b": 36},
        )
    values = [step["users"] for step in steps + (previous or [])]
    figure = go.Figure(traces, layout=_layout(yaxis=_count_axis(values), **layout))
    return _json(figure)
