"""What a web worker builds before it takes its first request, rather than in the first
dashboard page that needs it.

A worker (gunicorn's ``post_worker_init``, at every start and every recycling) would otherwise
pay these in the first pages it served, in some user's first load: Jinja compiling each
template on its first use (~4 ms a template, ~0.15 s for all of them), plotly.py importing
the validator of each figure property the first time one is set (~0.15 s for the first chart,
0.4-0.6 s on a busy machine), and the release digest behind the fragments' ETags (every
module and template read once).
"""

from . import charts, revalidation


def _series(days, complete_days):
    return [
        {"date": f"2026-01-{day:02d}", "dau": day * 3, "complete": day <= complete_days}
        for day in range(1, days + 1)
    ]


def _steps(*users):
    return [
        {"step": f"step {n}", "users": count, "conversion": count / users[0]}
        for n, count in enumerate(users, 1)
    ]


def every_chart():
    """One figure of every shape the dashboard draws (their values do not matter): the DAU
    chart with a partial day and compared, the types' bars, a funnel alone and compared."""
    return [
        charts.dau(_series(7, 6)),
        charts.dau(_series(7, 7), previous=_series(7, 7)),
        charts.events_by_type({"page_view": 12, "button_click": 3}),
        charts.funnel(_steps(10, 4)),
        charts.funnel(_steps(10, 4), previous=_steps(8, 2)),
    ]


def warm_up(app):
    """Compile the app's templates, build every chart shape once and digest the release."""
    with app.app_context():
        for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
            app.jinja_env.get_template(name)
        revalidation.release()
    every_chart()
