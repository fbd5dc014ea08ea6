"""Fuzzing every route for server errors: the inputs that break services, and two drivers.

* ``fuzz_operations``: schemathesis against the OpenAPI document, positive and negative
  cases, with dates, times, zones, integers and text swapped for the values below.
* ``sweep_routes``: every rule of ``app.url_map`` (the dashboard's pages and fragments are
  not in the document), each path parameter, query parameter and form field from the same
  values, and HTTP methods that no route takes.

Both return the requests answered with a 5xx; tests/dashboard/test_fuzz.py runs them with a
small budget, bench/fuzz.py with a large one.
"""

import re
from dataclasses import dataclass

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

DATES = [
    "0001-01-01",
    "1969-12-31",
    "1970-01-01",
    "2200-12-31",
    "2201-01-01",
    "9999-12-31",
    "2026-02-29",
    "2026-13-01",
    "2026-10-25",
    "10000-01-01",
    "",
]
TIMES = [
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00-12:00",
    "2200-12-31T23:59:59+14:00",
    "2201-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+14:00",
    "2026-11-01T01:30:00",
    "2026-11-01T24:00:00Z",
    "2026-11-29T12:00:00+25:00",
    "2026-11-29",
]
ZONES = [
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Nowhere/Special",
    "Etc/GMT+13",
    "localtime",
    "posixrules",
    "/etc/localtime",
    "../zoneinfo/UTC",
    "UTC\x00",
    "Z" * 65,
]
INTEGERS = [0, -1, 2**31, 2**63 - 1, 2**63, 10**23, -(10**23)]
# Text no column holds: a NUL (PostgreSQL refuses it), too long, a formula, SQL.
TEXTS = ["a\x00b", "x" * 300, "=1+1", "'; DROP TABLE events; --", " "]
INVENTED_METHODS = ["FOO", "PROPFIND", "BREW"]
# Values that take the place of a key's value, by the key's name.
BY_KEY = {
    "date": DATES,
    "start": DATES,
    "end": DATES,
    "tz": ZONES,
    "ts": TIMES,
    "X-Sent-At": TIMES,
    **dict.fromkeys(("type", "src", "user_id", "email", "sub", "id"), TEXTS),
}
PATH_VALUES = {
    "IdConverter": ["1", "2", "0", str(2**63 - 1), str(2**63), "9" * 23],
    "PublicIdConverter": ["A" * 22, "_" * 22],
    "PathConverter": ["x", "a/b", "%2e%2e/%2e%2e/etc/passwd", "%00", "9" * 23],
}
QUERIES = [
    {},
    *({"start": day, "end": day} for day in DATES),
    {"start": "1970-01-01", "end": "2200-12-31"},
    {"start": "2200-12-31", "end": "1970-01-01"},
    *({"tz": zone} for zone in ZONES),
    *({"tz": zone, "start": "1970-01-01", "end": "1970-01-01"} for zone in ZONES[:3]),
    *({"tz": zone, "start": "2200-12-31", "end": "2200-12-31"} for zone in ZONES[:3]),
    {"date": "9999-12-31"},
    *({"limit": n, "page": n, "days": n} for n in INTEGERS),
    *({"format": kind} for kind in ("csv", "xlsx", "pdf")),
    *({name: text} for name in ("type", "src", "user_id") for text in TEXTS),
    {"format": "xlsx", "start": "1970-01-01", "end": "2200-12-31", "tz": "Pacific/Kiritimati"},
]
FORMS = [
    {"email": "a@b.c", "password": "x", "is_admin": "y"},
    {"email": "x" * 300 + "@example.com", "password": "p" * 2000},
    {"email": "a\x00@b.c", "password": "a\x00b"},
    {"sub": "s" * 300, "scopes": "analytics:read", "ttl": "99999999999999999999d"},
    {"sub": "svc", "scopes": ["analytics:admin", "bogus"], "ttl": "400000w"},
    {"sub": "svc", "ttl": "-1d"},
    {"sub": "svc", "ttl": "0"},
]


@dataclass
class ServerError:
    method: str
    path: str
    status: int
    sent: object

    def __str__(self):
        return f"{self.method} {self.path} {self.sent!r} -> {self.status}"


# --- schemathesis over the API document ------------------------------------------------------


def _boundary(value, key=None):
    """A strategy for ``value`` or a boundary value in its place, recursively."""
    if isinstance(value, dict):
        return st.fixed_dictionaries({k: _boundary(v, k) for k, v in value.items()})
    if isinstance(value, list):
        return st.tuples(*(_boundary(item) for item in value)).map(list)
    pool = BY_KEY.get(key)
    if pool is None and isinstance(value, int) and not isinstance(value, bool):
        pool = INTEGERS
    return st.just(value) if pool is None else st.sampled_from([value, *pool])


def _with_boundaries(context, values):
    return _boundary(values) if values else st.just(values)


def api_schema(base_url):
    """The API document of a live server, whose generated values take boundary values."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/analytics/openapi.json")
    for name in ("query", "body", "headers", "path_parameters"):
        schema.hook(f"flatmap_{name}")(_with_boundaries)
    return schema


def fuzz_operations(base_url, headers, examples):
    """Send ``examples`` positive and as many negative cases to every operation, the same
    cases every run; return those answered with a server error."""
    schema = api_schema(base_url)
    errors = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:
            errors += _fuzz(operation, mode, base_url, headers, examples)
    return errors


def _fuzz(operation, mode, base_url, headers, examples):
    found = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case):
        response = case.call(base_url=base_url, headers=headers)
        if response.status_code >= 500:
            sent = {"query": case.query, "body": case.body, "headers": case.headers}
            found.append(ServerError(case.method, case.formatted_path, response.status_code, sent))

    try:
        send()
    except Unsatisfiable:  # nothing to negate: an operation without parameters
        assert mode is GenerationMode.NEGATIVE, operation.label
    return found


# --- every route of the URL map ---------------------------------------------------------------

_ARGUMENT = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(session, base_url, email, password):
    """Sign ``session`` in to the dashboard; return its CSRF token for later forms."""
    page = session.get(f"{base_url}/dashboard/sign-in", timeout=30)
    token = _CSRF.search(page.text).group(1)
    form = {"email": email, "password": password, "csrf_token": token}
    answer = session.post(
        f"{base_url}/dashboard/sign-in", data=form, timeout=30, allow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    return token


def route_paths(rule, known=None):
    """Paths for ``rule``: each of its parameters in turn takes each value of its pool (first
    the ``known`` values of its converter: ids that exist)."""
    known = known or {}
    pools = {
        name: [*known.get(kind, []), *PATH_VALUES.get(kind, ["x"])]
        for name, converter in rule._converters.items()
        for kind in [type(converter).__name__]
    }
    first = {name: pool[0] for name, pool in pools.items()}
    choices = [first] + [
        {**first, name: value} for name, pool in pools.items() for value in pool[1:]
    ]
    return [_ARGUMENT.sub(lambda m, c=choice: c[m.group(1)], rule.rule) for choice in choices]


def sweep_routes(app, session, base_url, *, skip=(), known=None, csrf_token=None):
    """Ask every route of ``app`` (but the endpoints in ``skip``): each method it takes with
    each query (GET) or form (other methods) of the pools, each path parameter's values, and
    invented methods. ``session`` carries the credentials, ``known`` existing ids by converter
    (see ``route_paths``). Return the server errors."""
    found = []

    def send(method, path, **kwargs):
        response = session.request(
            method, base_url + path, timeout=60, allow_redirects=False, **kwargs
        )
        if response.status_code >= 500:
            found.append(ServerError(method, path, response.status_code, kwargs))

    def inputs(method):
        if method == "GET":
            return [{"params": query} for query in QUERIES]
        forms = QUERIES + (FORMS if method == "POST" else [])
        return [{"data": {**form, "csrf_token": csrf_token}} for form in forms]

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in skip:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        first, *others = route_paths(rule, known)
        for method in INVENTED_METHODS:
            send(method, first)
        for method in methods:
            for path in others:
                send(method, path)
            for kwargs in inputs(method):
                send(method, first, **kwargs)
    return found
