"""Fetching over HTTP against a real server on loopback: SSRF guard, bounds, robots.txt, politeness."""

from __future__ import annotations

import ipaddress
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from kabar.contract.settings import KabarSettings
from kabar_ingest.fetch import Fetcher, FetchError, RedisThrottle, blocked_reason, check_url, parse_retry_after
from test_feeds_support import Reply, Request, Site, endless, slow_chunks


def tuning(**changes: Any) -> KabarSettings:
    values: dict[str, Any] = {"fetch_allow_hosts": "127.0.0.1", "fetch_host_interval": 0.0, "fetch_timeout": 5.0}
    values.update(changes)
    return KabarSettings(**values)


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    served.static("/page", "<html><body><p>hello</p></body></html>")
    yield served
    served.close()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    client = Fetcher(tuning())
    yield client
    client.close()


def fetch_error(client: Fetcher, url: str, max_bytes: int = 1_000_000) -> FetchError:
    with pytest.raises(FetchError) as caught:
        client.get(url, max_bytes=max_bytes)
    return caught.value


# SSRF ----------------------------------------------------------------------------------------------------


def test_loopback_is_blocked_by_default_and_nothing_reaches_the_server(site: Site) -> None:
    client = Fetcher(tuning(fetch_allow_hosts=""))
    error = fetch_error(client, site.url("/page"))
    assert error.kind == "blocked" and error.permanent
    assert "127.0.0.1" in str(error) and "loopback" in str(error) and "KABAR_FETCH_ALLOW_HOSTS" in str(error)
    assert site.requests == []  # refused before connecting: not even robots.txt was asked for


def test_a_host_name_that_resolves_to_loopback_is_blocked_unless_allowed(site: Site) -> None:
    by_name = site.url("/page").replace("127.0.0.1", "localhost")
    assert fetch_error(Fetcher(tuning(fetch_allow_hosts="")), by_name).kind == "blocked"
    assert Fetcher(tuning(fetch_allow_hosts="localhost")).get(by_name, max_bytes=10_000).status == 200
    assert Fetcher(tuning(fetch_allow_hosts="127.0.0.0/8")).get(by_name, max_bytes=10_000).status == 200


def test_a_redirect_to_a_blocked_address_is_refused(site: Site, fetcher: Fetcher) -> None:
    site.routes["/jump"] = lambda _: Reply(302, b"", {"Location": f"http://127.0.0.2:{site.port}/page"})
    error = fetch_error(fetcher, site.url("/jump"))
    assert error.kind == "blocked" and "127.0.0.2" in str(error)


def test_a_redirect_to_another_scheme_is_refused(site: Site, fetcher: Fetcher) -> None:
    site.routes["/jump"] = lambda _: Reply(301, b"", {"Location": "file:///etc/passwd"})
    error = fetch_error(fetcher, site.url("/jump"))
    assert error.kind == "bad_url" and "'file'" in str(error)


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "file:///etc/passwd", "https://user:pw@example.com/",
                                 "/relative", "gopher://127.0.0.1:6379/_INFO"])
def test_urls_that_are_never_fetched(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url)
    assert caught.value.kind == "bad_url" and caught.value.permanent


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("10.1.2.3", "private"),
    ("192.168.0.10", "private"), ("172.16.5.4", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("100.64.0.1", "not a public"), ("224.0.0.1", "multicast"),
])
def test_non_public_addresses_are_named(address: str, reason: str) -> None:
    found = blocked_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


def test_public_addresses_pass() -> None:
    assert blocked_reason(ipaddress.ip_address("93.184.216.34")) is None
    assert blocked_reason(ipaddress.ip_address("2606:4700::6810:85e5")) is None


# Bounds --------------------------------------------------------------------------------------------------


def test_a_redirect_loop_is_a_clear_error(site: Site, fetcher: Fetcher) -> None:
    site.routes["/a"] = lambda _: Reply(302, b"", {"Location": "/b"})
    site.routes["/b"] = lambda _: Reply(302, b"", {"Location": "/a"})
    error = fetch_error(fetcher, site.url("/a"))
    assert error.kind == "redirects" and "redirect loop" in str(error)
    assert len(site.hits("/a")) == 1 and len(site.hits("/b")) == 1


def test_too_many_redirects_stop_at_the_limit(site: Site) -> None:
    for number in range(10):
        site.routes[f"/r{number}"] = lambda _, n=number: Reply(302, b"", {"Location": f"/r{n + 1}"})
    client = Fetcher(tuning(fetch_max_redirects=3))
    error = fetch_error(client, site.url("/r0"))
    assert error.kind == "redirects" and "more than 3 redirects" in str(error)
    assert len(site.hits("/r4")) == 0


def test_redirects_within_the_limit_are_followed(site: Site, fetcher: Fetcher) -> None:
    site.routes["/old"] = lambda _: Reply(301, b"", {"Location": "/page"})
    response = fetcher.get(site.url("/old"), max_bytes=10_000)
    assert response.status == 200 and response.url == site.url("/page") and b"hello" in response.body


def test_a_declared_huge_body_is_refused_before_reading_it(site: Site, fetcher: Fetcher) -> None:
    def huge(_: Request) -> Reply:
        return Reply(200, endless(), {"Content-Length": str(100 * 1024 * 1024), "Content-Type": "application/xml"})

    site.routes["/huge"] = huge
    started = time.monotonic()
    error = fetch_error(fetcher, site.url("/huge"), max_bytes=5_000_000)
    assert error.kind == "too_large" and "104.9 MB" in str(error) and "5.0 MB limit" in str(error)
    assert time.monotonic() - started < 3


def test_an_undeclared_huge_body_stops_at_the_limit(site: Site, fetcher: Fetcher) -> None:
    site.routes["/huge"] = lambda _: Reply(200, endless(), {"Content-Type": "application/xml"})
    started = time.monotonic()
    error = fetch_error(fetcher, site.url("/huge"), max_bytes=2_000_000)
    assert error.kind == "too_large" and "over the 2.0 MB limit" in str(error)
    assert time.monotonic() - started < 5


def test_a_server_that_never_answers_times_out(site: Site) -> None:
    site.routes["/stuck"] = lambda _: Reply(200, b"late", delay=5)
    client = Fetcher(tuning(fetch_timeout=1.0))
    started = time.monotonic()
    error = fetch_error(client, site.url("/stuck"))
    assert error.kind == "timeout" and not error.permanent
    assert time.monotonic() - started < 3


def test_a_server_that_trickles_is_cut_off_at_the_deadline(site: Site) -> None:
    site.routes["/trickle"] = lambda _: Reply(200, slow_chunks(100, 0.1), {"Content-Type": "text/html"})
    client = Fetcher(tuning(fetch_timeout=1.0))
    started = time.monotonic()
    error = fetch_error(client, site.url("/trickle"))
    assert error.kind == "timeout" and "slow server" in str(error)
    assert time.monotonic() - started < 2.5


def test_http_errors_say_whether_to_try_again(site: Site, fetcher: Fetcher) -> None:
    site.routes["/busy"] = lambda _: Reply(503, b"busy", {"Retry-After": "120"})
    busy = fetch_error(fetcher, site.url("/busy"))
    assert busy.kind == "http" and not busy.permanent and busy.retry_after == 120 and "HTTP 503" in str(busy)
    gone = fetch_error(fetcher, site.url("/missing"))
    assert gone.permanent and gone.status == 404


def test_retry_after_as_a_date() -> None:
    later = parse_retry_after("Wed, 21 Oct 2099 07:28:00 GMT")
    assert later is not None and later > 1e8
    assert parse_retry_after("soon") is None


def test_conditional_get_and_the_user_agent(site: Site) -> None:
    site.static("/feed", "<rss/>", "application/rss+xml", etag='"abc"')
    client = Fetcher(tuning(fetch_user_agent="kabar-test/9 (+contact)"))
    first = client.get(site.url("/feed"), max_bytes=10_000)
    assert first.status == 200 and first.etag == '"abc"'
    second = client.get(site.url("/feed"), max_bytes=10_000, etag=first.etag)
    assert second.not_modified and second.body == b""
    assert site.hits("/feed")[1].headers["if-none-match"] == '"abc"'
    assert all(hit.headers["user-agent"] == "kabar-test/9 (+contact)" for hit in site.requests)


# robots.txt and politeness -------------------------------------------------------------------------------


def test_robots_txt_is_respected(site: Site) -> None:
    site.static("/robots.txt", "User-agent: kabar\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n", "text/plain")
    site.static("/private/page", "<p>secret</p>")
    client = Fetcher(tuning())
    error = fetch_error(client, site.url("/private/page"))
    assert error.kind == "robots" and error.permanent and "/private/page" in str(error)
    assert site.hits("/private/page") == []
    assert client.get(site.url("/page"), max_bytes=10_000).status == 200  # allowed for our agent
    assert len(site.hits("/robots.txt")) == 1  # read once, kept


def test_a_robots_txt_for_everyone_else_does_not_apply_to_kabar_and_vice_versa(site: Site) -> None:
    site.static("/robots.txt", "User-agent: *\nDisallow: /\n", "text/plain")
    assert fetch_error(Fetcher(tuning()), site.url("/page")).kind == "robots"
    assert Fetcher(tuning(fetch_respect_robots=False)).get(site.url("/page"), max_bytes=10_000).status == 200


def test_a_missing_robots_txt_allows_everything_an_unreachable_one_nothing(site: Site) -> None:
    assert Fetcher(tuning()).get(site.url("/page"), max_bytes=10_000).status == 200  # robots.txt is a 404
    site.routes["/robots.txt"] = lambda _: Reply(500, b"oops")
    error = fetch_error(Fetcher(tuning()), site.url("/page"))
    assert error.kind == "robots" and not error.permanent and "cannot be read" in str(error)


def test_requests_to_one_host_are_spaced(site: Site) -> None:
    client = Fetcher(tuning(fetch_host_interval=0.3))
    for _ in range(3):
        client.get(site.url("/page"), max_bytes=10_000)
    times = [hit.at for hit in site.hits("/page")]
    assert all(later - earlier >= 0.28 for earlier, later in itertools.pairwise(times))


def test_crawl_delay_is_honoured(site: Site) -> None:
    site.static("/robots.txt", "User-agent: *\nCrawl-delay: 1\n", "text/plain")  # whole seconds (robotparser)
    client = Fetcher(tuning(fetch_host_interval=0.0))
    for _ in range(2):
        client.get(site.url("/page"), max_bytes=10_000)
    first, second = (hit.at for hit in site.hits("/page"))
    assert second - first >= 0.98


def test_a_host_that_is_too_busy_fails_instead_of_waiting_forever(site: Site) -> None:
    client = Fetcher(tuning(fetch_host_interval=5.0, fetch_max_wait=1.0, fetch_respect_robots=False))
    client.get(site.url("/page"), max_bytes=10_000)
    started = time.monotonic()
    error = fetch_error(client, site.url("/page"))
    assert error.kind == "throttled" and not error.permanent
    assert time.monotonic() - started < 1


def test_turns_are_shared_between_processes_through_redis(site: Site, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    fetchers = [Fetcher(tuning(fetch_host_interval=0.3), RedisThrottle(client, "kabar-test")) for _ in range(2)]
    for index in range(4):
        fetchers[index % 2].get(site.url("/page"), max_bytes=10_000)
    times = [hit.at for hit in site.hits("/page")]
    assert len(times) == 4
    assert all(later - earlier >= 0.28 for earlier, later in itertools.pairwise(times))
