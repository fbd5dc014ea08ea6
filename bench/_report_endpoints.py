"""Every report the dashboard shows, and the signed-in overview with its fragments, timed over
HTTP after the rollup (reports.py; issue 17). Report cache off: each call computes."""

import contextlib
import html
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from _client import get, summary

OVERVIEW = "/dashboard"
EMAIL = "bench-overview@example.com"
PASSWORD = "overview-bench-Tq7#pX2!vL9z"
_HX_GET = re.compile(r'hx-get="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def cases(today):
    """``{name: path}``: each report over the bench's data, in UTC (the rolled zone)."""
    reports = "/api/analytics/reports"

    def days(name, count, end=today):
        return f"{reports}/{name}?start={end - timedelta(days=count - 1)}&end={end}"

    return {
        "dau_day": f"{reports}/dau?date={today - timedelta(days=1)}",
        "dau_series_90d": days("dau", 90),
        "active_users_30d": days("active-users", 30),
        "active_users_90d": days("active-users", 90),
        "engagement_30d": days("engagement", 30),
        "engagement_90d": days("engagement", 90),
        # 30 cohorts whose day 1, 7 and 30 are all finished days.
        "retention_30_cohorts": days("retention", 30, end=today - timedelta(days=30)),
    }


def time_reports(port, token, today, repeat, warmup, errors):
    """Time each case: its first call, then the median of ``repeat`` after ``warmup``."""
    figures = {}
    for name, path in cases(today).items():
        times = []
        for n in range(1 + warmup + repeat):
            status, body, seconds = get(port, path, token)
            if status != 200:
                errors.append(f"GET {path}: HTTP {status} {body[:200]!r}")
            if n == 0:
                first = seconds
            elif n > warmup:
                times.append(seconds)
        figures[name] = {**summary(times), "first_ms": round(first * 1e3, 1)}
        print(
            f"{name:<24} first {first * 1e3:8.1f} ms; median {figures[name]['median_ms']:8.1f} ms"
            f" p95 {figures[name]['p95_ms']:.1f} (n={repeat})",
            flush=True,
        )
    return figures


def time_inprocess(app, today, repeat, warmup):
    """Engagement and its sessions part over 30 and 90 days, in-process (the service functions
    in an app context: no HTTP, auth or JSON), interleaved call by call; ``{name: summary}``."""
    from analytics_app.reports import service
    from analytics_app.reports.periods import zone
    from analytics_app.reports.range import ReportRange

    calls = {}
    for length in (30, 90):
        rng = ReportRange(zone("UTC"), today - timedelta(days=length - 1), today)
        calls[f"engagement_{length}d"] = lambda rng=rng: service.engagement(rng)
        calls[f"sessions_{length}d"] = lambda rng=rng: service.sessions(rng)
    times = {name: [] for name in calls}
    for n in range(warmup + repeat):
        for name, call in calls.items():
            with app.app_context():
                began = time.perf_counter()
                call()
                seconds = time.perf_counter() - began
            if n >= warmup:
                times[name].append(seconds)
    figures = {name: summary(values) for name, values in times.items()}
    for name, figure in figures.items():
        print(
            f"{name + ', in-process':<24} median {figure['median_ms']:8.1f} ms"
            f" p95 {figure['p95_ms']:.1f} (n={repeat})",
            flush=True,
        )
    return figures


def create_user(app):
    """The dashboard user the overview is read as (kept with the reused data)."""
    from analytics_app.accounts import users
    from analytics_app.accounts.users import DuplicateUserError

    with app.app_context(), contextlib.suppress(DuplicateUserError):
        users.create(EMAIL, PASSWORD)


class _PlainHttpSession(requests.Session):
    """A session that sends the dashboard's Secure cookie over the bench's plain HTTP too."""

    def prepare_request(self, request):
        for cookie in self.cookies:
            cookie.secure = False
        return super().prepare_request(request)


def signed_in(base):
    session = _PlainHttpSession()
    page = session.get(f"{base}{OVERVIEW}/sign-in", timeout=60)
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": _CSRF.search(page.text).group(1)}
    answer = session.post(f"{base}{OVERVIEW}/sign-in", data=form, allow_redirects=False)
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in: HTTP {answer.status_code}")
    return session


def load_overview(session, base, errors):
    """GET the overview, then every ``hx-get`` URL in it but the page's own (the filter bar's),
    one after the other; return ``(seconds, page seconds, {fragment path: seconds})``."""
    began = time.perf_counter()
    page = session.get(f"{base}{OVERVIEW}", timeout=600)
    page_seconds = time.perf_counter() - began
    if page.status_code != 200:
        errors.append(f"GET {OVERVIEW}: HTTP {page.status_code}")
    fragments = [
        url
        for url in dict.fromkeys(html.unescape(u) for u in _HX_GET.findall(page.text))
        if urlsplit(url).path != OVERVIEW
    ]
    took = {}
    for url in fragments:
        fragment_began = time.perf_counter()
        answer = session.get(f"{base}{url}", timeout=600)
        took[urlsplit(url).path] = time.perf_counter() - fragment_began
        if answer.status_code != 200:
            errors.append(f"GET {url}: HTTP {answer.status_code}")
    return time.perf_counter() - began, page_seconds, took


def time_overview(port, repeat, errors):
    """The overview page plus its fragments: the first load after sign-in, then the median."""
    base = f"http://127.0.0.1:{port}"
    session = signed_in(base)
    loads = [load_overview(session, base, errors) for _ in range(1 + repeat)]
    first, *rest = loads
    by_fragment = {
        path: summary([took[path] for _, _, took in rest])["median_ms"] for path in first[2]
    }
    result = {
        **summary([seconds for seconds, _, _ in rest]),
        "first_ms": round(first[0] * 1e3, 1),
        "page_only_median_ms": summary([page for _, page, _ in rest])["median_ms"],
        "fragments": len(first[2]),
        "fragment_median_ms": by_fragment,
    }
    print(
        f"{'overview + fragments':<24} first {result['first_ms']:8.1f} ms; median"
        f" {result['median_ms']:8.1f} ms ({result['fragments']} fragments; page alone"
        f" {result['page_only_median_ms']:.1f} ms; n={repeat})",
        flush=True,
    )
    slowest = sorted(by_fragment.items(), key=lambda item: -item[1])
    print(
        "  fragments, median ms: "
        + ", ".join(f"{p.rsplit('/', 1)[-1]} {ms:.1f}" for p, ms in slowest)
    )
    return result
