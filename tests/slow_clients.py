"""Slow clients (slowloris and slow bodies) against a server, and a health probe timing it.

Each trickler opens a connection, sends the start of a request and then one byte a second;
when the server gives up on it, it reconnects, as an attacker would, until the time is up.
Meanwhile a probe in its own thread asks for ``/api/analytics/healthz`` four times a second
and records how long each answer took. Everything goes to one server on this machine.
"""

import asyncio
import contextlib
import http.client
import ssl
import threading
import time
from dataclasses import dataclass, field

HEALTH_PATH = "/api/analytics/healthz"
BODY_LENGTH = 100_000


def header_start(host):
    """A request that never finishes its headers."""
    return f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode(), b"X-Slow: " + b"a" * BODY_LENGTH


def body_start(host, path, content_type, token=None):
    """A request with complete headers and a body that arrives a byte a second."""
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        f"Content-Type: {content_type}",
        f"Content-Length: {BODY_LENGTH}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode(), b"[" + b" " * BODY_LENGTH


@dataclass
class Target:
    """Where the clients connect: host and port, TLS or not, and the Host header to send."""

    port: int
    host_header: str = "localhost"
    tls: bool = False
    address: str = "127.0.0.1"
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    def context(self):
        """One TLS context for every connection (loading CA stores 400 times would take the
        event loop seconds); the server's certificate is the test's own, not checked."""
        if not self.tls:
            return None
        if self._context is None:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self._context.check_hostname = False
            self._context.verify_mode = ssl.CERT_NONE
        return self._context


@dataclass
class Pressure:
    """What the tricklers did: connections opened and connections the server closed."""

    opened: int = 0
    closed_by_server: int = 0


async def _trickle(target, start, rest, deadline, pressure, interval):
    """Send ``start``, then ``rest`` a byte per ``interval``; reconnect when cut off."""
    context = target.context()
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(
                target.address,
                target.port,
                ssl=context,
                server_hostname=target.host_header if context else None,
            )
        except OSError:
            await asyncio.sleep(interval)
            continue
        pressure.opened += 1
        try:
            writer.write(start)
            await writer.drain()
            for byte in rest:
                if time.monotonic() >= deadline:
                    break
                try:
                    await asyncio.wait_for(reader.read(4096), timeout=interval)
                    pressure.closed_by_server += 1  # an answer (408, 413…) or a close
                    break
                except TimeoutError:
                    writer.write(bytes([byte]))
                    await writer.drain()
        except (OSError, ssl.SSLError):
            pressure.closed_by_server += 1
        finally:
            writer.close()
            # A transport still closing when the event loop ends is reported as unclosed (a
            # ResourceWarning at exit, which fails the run): wait for the close to finish.
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), timeout=interval)


async def _trickle_all(target, requests, seconds, interval):
    """One trickler per ``(start, rest)`` request, all until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    pressure = Pressure()
    await asyncio.gather(
        *(_trickle(target, start, rest, deadline, pressure, interval) for start, rest in requests)
    )
    return pressure


@dataclass
class Probe:
    """Latencies of the health checks sent while the slow clients held their connections."""

    target: Target
    period: float = 0.25
    timeout: float = 5.0
    latencies: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def _connection(self):
        if self.target.tls:
            return http.client.HTTPSConnection(
                self.target.address,
                self.target.port,
                timeout=self.timeout,
                context=self.target.context(),
            )
        return http.client.HTTPConnection(
            self.target.address, self.target.port, timeout=self.timeout
        )

    def check_once(self):
        started = time.monotonic()
        connection = self._connection()
        try:
            connection.request("GET", HEALTH_PATH, headers={"Host": self.target.host_header})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                self.failures.append(f"status {response.status}")
        except (OSError, http.client.HTTPException) as error:
            self.failures.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()
            self.latencies.append(time.monotonic() - started)

    def run_until(self, stop):
        while not stop.is_set():
            self.check_once()
            stop.wait(self.period)

    def summary(self):
        ordered = sorted(self.latencies)
        return {
            "probes": len(ordered),
            "failed": len(self.failures),
            "median_s": round(ordered[len(ordered) // 2], 3),
            "p99_s": round(ordered[int(len(ordered) * 0.99)], 3),
            "max_s": round(ordered[-1], 3),
        }


def trickle_while_probing(target, requests, seconds, interval=1.0):
    """Run the tricklers for ``seconds`` while probing health; return (pressure, probe)."""
    probe = Probe(target)
    stop = threading.Event()
    prober = threading.Thread(target=probe.run_until, args=(stop,), daemon=True)
    prober.start()
    try:
        pressure = asyncio.run(_trickle_all(target, requests, seconds, interval))
    finally:
        stop.set()
        prober.join()
    return pressure, probe
