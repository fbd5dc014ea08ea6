"""Debian's nginx with the shipped configuration (docs/nginx/analytics.conf.template) in front
of a server, the way the README's production section runs it.

The template is rendered with ``envsubst`` exactly as the README says, only with this run's
ports, paths and a self-signed certificate made by the documented ``openssl`` command. The
main nginx.conf around it is the minimum Debian's and the nginx image's give: an ``events``
block, mime types and temp paths, here inside the test's own folder.
"""

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics_app import ROOT

TEMPLATE = ROOT / "docs" / "nginx" / "analytics.conf.template"
VARIABLES = (
    "SERVER_NAME",
    "HTTPS_PORT",
    "HTTP_PORT",
    "TLS_CERTIFICATE",
    "TLS_CERTIFICATE_KEY",
    "ANALYTICS_UPSTREAM",
    "MAX_BODY_BYTES",
)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MAIN_CONF = """\
{user}worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/analytics.conf;
}}
"""


def require_nginx():
    """Skip without nginx and envsubst, except under CI, where they must be installed."""
    missing = [tool for tool in (NGINX, "envsubst", "openssl") if not shutil.which(tool)]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install nginx gettext-base openssl)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI requires the proxy tests to run")
        pytest.skip(reason)


def self_signed_certificate(folder, host):
    """The README's command for a trial certificate; return (certificate, key) paths."""
    certificate, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30"),
            *("-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


def render(values):
    """``envsubst`` over the template, naming the variables as the README does."""
    names = " ".join(f"${{{name}}}" for name in VARIABLES)
    return subprocess.run(
        ["envsubst", names],
        input=TEMPLATE.read_text(),
        env={**os.environ, **values},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@dataclass
class Proxy:
    """A running nginx: its https and http URLs, the certificate to trust, its error log."""

    https_url: str
    http_url: str
    certificate: Path
    error_log: Path


def _wait_listening(port, server, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not start (exit code {server.poll()})")
        time.sleep(0.05)


@contextmanager
def nginx(folder, upstream, https_port, http_port, host="localhost", max_body=5 * 1024 * 1024):
    """Run nginx with the rendered configuration in front of ``upstream`` (``host:port``)."""
    require_nginx()
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = self_signed_certificate(folder, host)
    values = {
        "SERVER_NAME": host,
        "HTTPS_PORT": str(https_port),
        "HTTP_PORT": str(http_port),
        "TLS_CERTIFICATE": str(certificate),
        "TLS_CERTIFICATE_KEY": str(key),
        "ANALYTICS_UPSTREAM": upstream,
        "MAX_BODY_BYTES": str(max_body),
    }
    (folder / "analytics.conf").write_text(render(values))
    # As root, nginx's workers would switch to nobody, who cannot enter the test's folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(MAIN_CONF.format(user=user, folder=folder))
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", "stderr"]
    subprocess.run([*command, "-t"], check=True, capture_output=True)
    with (folder / "nginx.out").open("w") as output:
        server = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(https_port, server)
        yield Proxy(
            https_url=f"https://{host}:{https_port}",
            http_url=f"http://{host}:{http_port}",
            certificate=certificate,
            error_log=folder / "error.log",
        )
    finally:
        server.terminate()
        server.wait(timeout=15)
