"""A web worker compiles the templates and builds every chart shape before its first request
(gunicorn's post_worker_init), so no user's first load pays for it."""

import json
import subprocess
import sys

from analytics_app import ROOT
from analytics_app.dashboard import warm

from conftest import base_env


def _loader_gone(app, monkeypatch):
    """From now on, a template not compiled yet fails to load."""

    def refuse(environment, name):
        raise AssertionError(f"{name} was not compiled in advance")

    monkeypatch.setattr(app.jinja_env.loader, "get_source", refuse)


def test_the_warm_up_compiles_every_template(app, monkeypatch):
    warm.warm_up(app)
    _loader_gone(app, monkeypatch)
    with app.app_context():
        names = app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html"))
        assert "overview.html" in names and "_panel_dau.html" in names
        for name in names:
            app.jinja_env.get_template(name)


def test_the_warm_up_imports_what_the_charts_need():
    """Building a chart after the warm-up imports no module: plotly.py imports a property's
    validator the first time that property is set (~0.15 s for the first chart)."""
    script = (
        "import sys, json\n"
        "from analytics_app.dashboard import charts, warm\n"
        "warm.every_chart()\n"
        "before = set(sys.modules)\n"
        "charts.dau([{'date': '2026-05-01', 'dau': 4, 'complete': True},"
        " {'date': '2026-05-02', 'dau': 2, 'complete': False}],"
        " previous=[{'date': '2026-04-29', 'dau': 1, 'complete': True},"
        " {'date': '2026-04-30', 'dau': 3, 'complete': True}])\n"
        "charts.events_by_type({'a': 1, 'b': 30})\n"
        "charts.funnel([{'step': 'a', 'users': 9, 'conversion': 1.0},"
        " {'step': 'b', 'users': 3, 'conversion': 1 / 3}])\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


def test_gunicorn_warms_each_worker_up(tmp_path):
    """The production config's post_worker_init hook warms the worker's app (in a process of
    its own: importing the config sets up gunicorn's error pages and the metrics directory)."""
    script = (
        "import types\n"
        "from analytics_app import create_app, gunicorn_conf\n"
        "app = create_app()\n"
        "gunicorn_conf.post_worker_init(types.SimpleNamespace(wsgi=app))\n"
        "def refuse(environment, name):\n"
        "    raise AssertionError(name + ' was not compiled in advance')\n"
        "app.jinja_env.loader.get_source = refuse\n"
        "with app.app_context():\n"
        "    app.jinja_env.get_template('overview.html')\n"
        "gunicorn_conf.post_worker_init(types.SimpleNamespace(wsgi=lambda e, s: []))\n"
    )
    (tmp_path / "metrics").mkdir()
    env = {
        **base_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'warm.db'}"}),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
