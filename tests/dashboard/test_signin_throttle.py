"""The sign-in throttle: counted atomically, waits that grow, no lock a stranger can hold on
someone else's account, and, with Redis down, counts per process that the log and the metrics
show."""

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from fixtures import (  # noqa: F401 - fixtures, requested by name
    anonymous_fixture,
    dashboard_app_fixture,
    server_fixture,
)
from prometheus_client import REGISTRY

from analytics_app.accounts.throttle import Backoff, SignInThrottle, judge
from analytics_app.accounts.throttle import Count as ThrottleCount

from webclient import FAST_HASH, Web, add_user, forget_sign_in_failures


def use_throttle(
    app,
    first_wait=1,
    account_ip="5 per 15 minutes",
    ip="30 per 15 minutes",
    account="20 per 15 minutes",
):
    """Give ``app`` a fresh throttle with these limits, counted where its config says."""
    forget_sign_in_failures(app)
    app.extensions["signin_throttle"] = SignInThrottle(
        account_ip, ip, account, app.config["REDIS_URL"], first_wait=first_wait
    )


def retry_after(response):
    assert response.status_code == 429, response.status_code
    assert "Too many failed sign-ins" in response.text
    return int(response.headers["Retry-After"])


def test_waits_double_after_the_free_failures_up_to_the_period():
    backoff = Backoff.parse("5 per 15 minutes")
    waits = [backoff.wait_after(failures) for failures in range(1, 17)]
    assert waits[:4] == [0] * 4
    assert waits[4:11] == [1, 2, 4, 8, 16, 32, 64]
    assert waits[-1] == 15 * 60
    assert Backoff.parse("5 per 15 minutes").wait_after(10**6) == 15 * 60


def test_a_waiting_attempt_counts_nothing_and_moves_nothing():
    backoffs = {"account": Backoff.parse("2 per hour")}
    counts = {"account": ThrottleCount(2, 100.0)}
    verdict, counted = judge(counts, backoffs, now=99.2)
    assert verdict == (1, "account")
    assert counted == {}
    verdict, counted = judge(counts, backoffs, now=100.0)
    assert verdict is None
    assert counted == {"account": ThrottleCount(3, 102.0)}


def test_parallel_guesses_get_exactly_the_free_tries(dashboard_app, server):
    use_throttle(dashboard_app, first_wait=60)
    email = add_user(dashboard_app, "ana@example.com")
    guesser = Web(server.url)
    form = {"email": email, "csrf_token": guesser.csrf_token()}
    cookies = guesser.session.cookies.get_dict()

    def guess(n):
        response = requests.post(
            server.url + "/dashboard/sign-in",
            data={**form, "password": f"guess {n}"},
            cookies=cookies,
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = Counter(pool.map(guess, range(40)))
    assert statuses == {401: 5, 429: 35}


def test_a_strangers_failures_do_not_stop_the_owner_at_another_address(dashboard_app, server):
    use_throttle(dashboard_app, first_wait=60)
    email = add_user(dashboard_app, "ana@example.com")
    stranger = Web(server.url, "127.0.0.2")
    assert [stranger.sign_in(email, f"guess {n}").status_code for n in range(5)] == [401] * 5
    waits = [retry_after(stranger.sign_in(email, f"guess {n}")) for n in range(10)]
    assert waits == sorted(waits, reverse=True)  # hammering does not lengthen the wait
    assert 50 <= waits[0] <= 60
    assert retry_after(stranger.sign_in(email)) <= waits[-1]  # the right password waits too
    assert Web(server.url, "127.0.0.3").sign_in(email).status_code == 302


def test_the_wait_grows_with_each_failure_after_the_free_ones(dashboard_app, server):
    use_throttle(dashboard_app)
    email = add_user(dashboard_app, "ana@example.com")
    web = Web(server.url)
    assert [web.sign_in(email, "wrong").status_code for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(2):
        waits.append(retry_after(web.sign_in(email, "wrong")))
        time.sleep(waits[-1])
        assert web.sign_in(email, "wrong").status_code == 401
    waits.append(retry_after(web.sign_in(email, "wrong")))
    assert waits == [1, 2, 4]


def test_a_successful_sign_in_clears_the_count_of_its_address(dashboard_app, server):
    use_throttle(dashboard_app, first_wait=60)
    email = add_user(dashboard_app, "ana@example.com")
    web = Web(server.url)
    for round_ in range(3):
        assert [web.sign_in(email, "wrong").status_code for _ in range(4)] == [401] * 4, round_
        assert Web(server.url).sign_in(email).status_code == 302, round_


def test_failed_sign_ins_from_one_address_slow_it_on_every_account(dashboard_app, server):
    use_throttle(dashboard_app, first_wait=60, ip="3 per 15 minutes")
    email = add_user(dashboard_app, "ana@example.com")
    web = Web(server.url)
    assert [web.sign_in(f"u{n}@example.com", "x").status_code for n in range(3)] == [401] * 3
    assert retry_after(web.sign_in(email)) > 0
    assert Web(server.url, "127.0.0.2").sign_in(email).status_code == 302


def test_guesses_spread_over_addresses_slow_new_addresses_but_not_the_owners(make_app, serve):
    app = make_app(TRUSTED_PROXIES="1")
    app.config.update(SESSION_COOKIE_SECURE=False, DASHBOARD_PASSWORD_HASH=FAST_HASH)
    use_throttle(app, first_wait=60, account="4 per 15 minutes")
    url, email = serve(app).url, add_user(app, "ana@example.com")

    def web_from(address):
        web = Web(url)
        web.session.headers["X-Forwarded-For"] = address
        return web

    owner = web_from("198.51.100.7")
    assert owner.sign_in(email).status_code == 302  # the owner's usual address
    guesses = [web_from(f"203.0.113.{n}").sign_in(email, "guess").status_code for n in range(4)]
    assert guesses == [401] * 4
    assert retry_after(web_from("203.0.113.99").sign_in(email)) > 0  # a new address waits
    assert web_from("198.51.100.7").sign_in(email).status_code == 302  # the owner does not
    forget_sign_in_failures(app)


def test_with_redis_down_failures_are_counted_per_process_and_it_shows(
    make_app, serve, backend, caplog
):
    if backend["name"] != "postgresql":
        pytest.skip("the embedded setup has no Redis to lose")
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    app.config.update(SESSION_COOKIE_SECURE=False, DASHBOARD_PASSWORD_HASH=FAST_HASH)
    email, web = add_user(app, "ana@example.com"), Web(serve(app).url)
    labels = {"component": "signin_throttle"}
    before = REGISTRY.get_sample_value("analytics_redis_fallback_total", labels)
    with caplog.at_level(logging.WARNING, logger="analytics_app.redis_store"):
        statuses = [web.sign_in(email, f"guess {n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert any(
        record.getMessage().startswith("Redis unreachable: failed sign-ins are counted per process")
        for record in caplog.records
    )
    assert REGISTRY.get_sample_value("analytics_redis_fallback_total", labels) - before == 6
