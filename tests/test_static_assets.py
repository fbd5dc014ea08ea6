"""Static files: content-hashed URLs kept a year, gzip when accepted, revalidated otherwise."""

import gzip
import re


def test_pages_name_each_asset_by_its_content_and_caches_keep_it_a_year(client):
    page = client.get("/dashboard/sign-in").text
    assert re.search(r'src="/static/vendor/htmx/htmx\.min\.js\?v=[0-9a-f]{16}"', page)
    [url] = re.findall(r'href="(/static/dashboard/dashboard\.css\?v=[0-9a-f]{16})"', page)
    asset = client.get(url, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert asset.status_code == 200
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in asset.headers["Vary"]
    compressed = asset.raw.read()
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content) / 2


def test_an_unversioned_or_stale_url_is_revalidated_by_its_etag(client):
    for query in ("", "?v=0000000000000000"):
        asset = client.get(f"/static/dashboard/dashboard.css{query}")
        assert asset.status_code == 200
        assert asset.headers["Cache-Control"] == "no-cache"
        again = client.get(
            f"/static/dashboard/dashboard.css{query}",
            headers={"If-None-Match": asset.headers["ETag"]},
        )
        assert again.status_code == 304
        assert again.content == b""


def test_the_dashboard_serves_its_own_plotly_bundle_only(client):
    for other in ("plotly.min.js", "plotly-basic.min.js"):
        assert client.get(f"/static/vendor/plotly/{other}").status_code == 404
    bundle = client.get("/static/vendor/plotly/plotly-analytics.min.js")
    assert bundle.status_code == 200
    assert len(bundle.content) < 1_000_000


def test_missing_files_and_paths_outside_the_folder_are_404(client):
    for path in ("/static/nope.js", "/static/../wsgi.py", "/static/%2e%2e/wsgi.py"):
        response = client.get(path)
        assert response.status_code == 404, path


def test_the_sdk_bundle_keeps_its_plain_address(client):
    bundle = client.get("/static/sdk/analytics.min.js")
    assert bundle.status_code == 200
    assert bundle.headers["Cache-Control"] == "no-cache"
