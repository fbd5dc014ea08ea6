"""A product team's first contact with the SDK packages, done with the tools the team brings.

Packs ``sdk-js`` and ``sdk-react`` with ``npm pack``, scaffolds a Vite + React + TypeScript app
with ``npm create vite`` (the ``react-ts`` template), puts the page of
``tests/fixtures/vite-app/`` in it, installs the two tarballs, reinstalls from the lock file
(``rm -rf node_modules && npm ci``) and checks what the team would see: ``npm ls --all`` passes,
one React is resolved, the template's strict ``tsc -b`` and ``vite build`` pass, and the built
page, served from its own origin to headless Chromium, stores each event it tracks exactly once
on the real server.

Needs npm (with the registry, for the template's dependencies), both packages' dev dependencies
installed (``npm ci`` in each folder, as ``.ci/test`` does) and Chromium. Without them the tests
are skipped, except under ``CI=true``, where they fail. npm downloads into a cache made for the
run, so the reinstall from the lock file reads from it.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from analytics_app import ROOT

from browser import LOCAL_HOSTS, chromium
from helpers import Client, make_token

# The scaffolding tool, pinned: its templates ship inside the package (no download beyond npm).
CREATE_VITE = "vite@9.3.0"
PACKAGES = ("sdk-js", "sdk-react")
FIXTURE = ROOT / "tests" / "fixtures" / "vite-app"
EXPORT = "/api/analytics/reports/events"
DEPENDENCY_FIELDS = ("dependencies", "peerDependencies", "optionalDependencies", "devDependencies")
# A semver range (``^1.0.0``, ``>=18``, ``1.x || 2.x``…): no ``file:``, ``link:``, ``workspace:``,
# git or path specifier, each of which holds a ``:`` or a ``/``.
SEMVER_RANGE = re.compile(r"[\w.*^~<>=|\s-]+")
NPM_TIMEOUT_SECONDS = 600
PAGE_TIMEOUT_MS = 10_000


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI requires the SDK consumer tests to run)")
    pytest.skip(reason)


def npm(*args, cwd, env):
    """Run npm; return its output, or fail the test with what it printed."""
    result = subprocess.run(
        ["npm", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode:
        pytest.fail(
            f"npm {' '.join(args)} exited with {result.returncode} in {cwd}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def manifest(tarball):
    """The package.json inside a packed tarball."""
    with tarfile.open(tarball) as packed:
        return json.load(packed.extractfile("package/package.json"))


class StaticSite:
    """A folder served over HTTP from a thread: the built app's own origin, as a CDN would."""

    def __init__(self, folder):
        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=folder))
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(
            target=partial(self._server.serve_forever, 0.05), daemon=True
        )
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


# The packages, the app and npm's cache are built once a session, not once a module: pytest
# runs this module's tests in three groups (no database, then each backend's), and a module's
# fixtures are built again for each group (17 s each).
@pytest.fixture(scope="session")
def npm_env(tmp_path_factory):
    """The environment npm runs in: a cache of this run's own, no prompts, no audit."""
    if shutil.which("npm") is None:
        _unavailable("npm is not installed (Node.js 20 with npm is needed)")
    for folder in PACKAGES:
        if not (ROOT / folder / "node_modules" / ".bin" / "tsup").exists():
            _unavailable(f"{folder} is not installed: run `npm ci` in {folder}/")
    return {
        **os.environ,
        "npm_config_cache": str(tmp_path_factory.mktemp("npm-cache")),
        "npm_config_yes": "true",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }


@pytest.fixture(scope="session")
def tarballs(npm_env, tmp_path_factory):
    """``npm pack`` of each package (its ``prepack`` builds it), as a maintainer publishes."""
    destination = tmp_path_factory.mktemp("packs")
    packed = []
    for folder in PACKAGES:
        npm("pack", "--pack-destination", str(destination), cwd=ROOT / folder, env=npm_env)
        package = json.loads((ROOT / folder / "package.json").read_text())
        name = package["name"].lstrip("@").replace("/", "-")
        packed.append(destination / f"{name}-{package['version']}.tgz")
    return packed


@pytest.fixture(scope="session")
def vite_app(tarballs, npm_env, tmp_path_factory):
    """A fresh Vite app with the fixture's page, the tarballs installed, reinstalled by npm ci."""
    parent = tmp_path_factory.mktemp("consumer")
    template = ("--template", "react-ts", "--no-interactive")
    npm("create", CREATE_VITE, "app", "--", *template, cwd=parent, env=npm_env)
    app = parent / "app"
    shutil.copytree(FIXTURE / "src", app / "src", dirs_exist_ok=True)
    # A self-hosted team keeps the tarballs in its repository, so the lock file's paths hold.
    vendor = app / "vendor"
    vendor.mkdir()
    for tarball in tarballs:
        shutil.copy(tarball, vendor)
    npm("install", *(f"./vendor/{t.name}" for t in tarballs), cwd=app, env=npm_env)
    shutil.rmtree(app / "node_modules")
    npm("ci", cwd=app, env=npm_env)
    return app


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def test_packed_manifests_carry_version_ranges_never_paths(tarballs):
    sdk, react = (manifest(tarball) for tarball in tarballs)

    for package in (sdk, react):
        for field in DEPENDENCY_FIELDS:
            for name, spec in package.get(field, {}).items():
                assert SEMVER_RANGE.fullmatch(spec), f"{package['name']} {field}: {name} {spec}"
    assert "dependencies" not in sdk  # the core client has no runtime dependency
    assert "dependencies" not in react  # React and the core come from the app, once each
    assert set(react["peerDependencies"]) == {"@analytics-service/sdk", "@types/react", "react"}
    assert react["peerDependenciesMeta"] == {"@types/react": {"optional": True}}


def test_the_app_reinstalls_from_its_lock_file_with_one_react(vite_app, npm_env, tarballs):
    npm("ls", "--all", cwd=vite_app, env=npm_env)  # fails on any invalid or missing package

    for name in ("react", "react-dom", "@analytics-service/sdk", "@analytics-service/react"):
        found = json.loads(npm("query", f"#{name}", cwd=vite_app, env=npm_env))
        assert [node["location"] for node in found] == [f"node_modules/{name}"]
    locked = json.loads((vite_app / "package-lock.json").read_text())["packages"]
    for tarball in tarballs:
        package = manifest(tarball)
        entry = locked[f"node_modules/{package['name']}"]  # pinned to the tarball by checksum
        assert entry["version"] == package["version"]
        assert entry["resolved"] == f"file:vendor/{tarball.name}"
        assert entry["integrity"].startswith("sha512-")


def test_the_built_page_stores_each_event_exactly_once(vite_app, npm_env, app, serve, browser):
    server = serve(app)
    build_env = {
        **npm_env,
        "VITE_ANALYTICS_URL": server.url,
        "VITE_ANALYTICS_TOKEN": make_token(sub="vite-app"),  # ingest only, as in a real page
    }
    npm("run", "build", cwd=vite_app, env=build_env)  # the template's: tsc -b && vite build
    site = StaticSite(vite_app / "dist")
    context = browser.new_context()
    requested, errors = [], []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(site.url)
        page.get_by_role("button", name="Save").click()
        page.get_by_role("button", name="Sign up").click()
        page.get_by_role("button", name="Send").click()
        page.get_by_label("queued").filter(has_text="0 queued").wait_for()
    except PlaywrightTimeoutError as timeout:
        pytest.fail(f"the page did not work ({timeout.message}); its errors: {errors}")
    finally:
        context.close()
        site.stop()

    export = Client(server.url, make_token(scope="analytics:read")).get(EXPORT)
    assert export.status_code == 200, export.text
    stored = list(csv.DictReader(io.StringIO(export.text, newline="")))
    assert Counter(row["type"] for row in stored) == {
        "page_view": 1,
        "button_click": 1,
        "form_submit": 1,
    }
    assert len({row["id"] for row in stored}) == 3
    assert {row["user_id"] for row in stored} == {"vite-user"}
    payloads = {row["type"]: json.loads(row["payload"]) for row in stored}
    assert payloads["page_view"]["page"] == "/welcome"
    assert payloads["button_click"] == {"button_id": "save_profile"}
    assert payloads["form_submit"] == {"form": "signup"}
    assert not errors
    assert {urlsplit(url).hostname for url in requested} <= LOCAL_HOSTS
    assert server.url + "/api/analytics/ingest" in requested
