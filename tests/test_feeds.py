"""Feeds: parsing (hardened), the feed list, polling with conditional GET and backoff, and the
`kabar feeds` command in the embedded mode against a real HTTP server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from conftest import run_kabar
from kabar.contract.messages import utc_now
from kabar.contract.settings import KabarSettings
from kabar_ingest.feeds import (
    Feed,
    FeedEntry,
    FeedError,
    FeedPoller,
    FeedStore,
    PageRequest,
    RedisFeedStore,
    SqliteFeedStore,
    new_feed,
    parse_feed,
)
from kabar_ingest.fetch import Fetcher
from kabar_ingest.sinks import poll_round
from test_feeds_support import PUB_DATE, Reply, Site, atom, endless, rss, serve_seed_site, shared_pages, slow_chunks

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title><item><title>x</title><link>http://a.example/x</link></item>
</channel></rss>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&secret;</title><item><title>x</title><link>http://a.example/x</link></item>
</channel></rss>"""


def tuning(**changes: Any) -> KabarSettings:
    values: dict[str, Any] = {"fetch_allow_hosts": "127.0.0.1", "fetch_host_interval": 0.0, "fetch_timeout": 5.0,
                              "feed_interval": 600.0}
    values.update(changes)
    return KabarSettings(**values)


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteFeedStore]:
    opened = SqliteFeedStore(tmp_path / "feeds.sqlite3")
    yield opened
    opened.close()


class Collected:
    def __init__(self) -> None:
        self.requests: list[PageRequest] = []

    def __call__(self, request: PageRequest) -> None:
        self.requests.append(request)


def add(store: FeedStore, url: str, settings: KabarSettings) -> Feed:
    feed, created = store.add(new_feed(url, None, None, settings))
    assert created
    return feed


# Parsing -------------------------------------------------------------------------------------------------


def test_rss_and_atom_entries_are_read() -> None:
    items = [("Satu", "http://news.example/1", PUB_DATE), ("Dua", "/2", PUB_DATE)]
    parsed = parse_feed(rss("Berita", items).encode(), "http://news.example/rss.xml")
    assert parsed.title == "Berita"
    assert [entry.link for entry in parsed.entries] == ["http://news.example/1", "http://news.example/2"]
    assert parsed.entries[0].published_at is not None and parsed.entries[0].published_at.hour == 3  # +0700 → UTC
    atom_feed = parse_feed(atom("A", [("Tiga", "http://news.example/3", "2025-07-12T10:00:00Z")]).encode(),
                           "http://news.example/atom")
    assert atom_feed.entries[0].marker == "2025-07-12T10:00:00Z" and atom_feed.entries[0].title == "Tiga"


def test_entries_without_a_web_link_are_skipped() -> None:
    items = [("ok", "http://news.example/1", PUB_DATE), ("mail", "mailto:a@b.c", PUB_DATE),
             ("js", "javascript:alert(1)", PUB_DATE)]
    parsed = parse_feed(rss("x", items).encode(), "http://news.example/rss.xml")
    assert len(parsed.entries) == 1 and parsed.skipped == 2


@pytest.mark.parametrize(("body", "reason"), [
    (BILLION_LAUGHS, "declares XML entities"), (EXTERNAL_ENTITY, "declares XML entities"),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "serves an HTML page"), (b"   ", "empty"),
    (b"just some text", "not an RSS or Atom feed"), (b"{\"items\": []}", "not an RSS or Atom feed"),
])
def test_what_is_not_a_usable_feed_is_refused_with_its_reason(body: bytes, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(FeedError, match=reason):
        parse_feed(body, "http://news.example/rss.xml")
    assert time.monotonic() - started < 1  # no entity was expanded


def test_a_sloppy_but_readable_feed_is_still_read() -> None:
    sloppy = b"<rss version='2.0'><channel><title>T &amp; co</title><item><title>A & B</title>" \
             b"<link>http://news.example/1</link></item></channel>"  # unescaped &, no </rss>
    assert [entry.link for entry in parse_feed(sloppy, "http://news.example/").entries] == ["http://news.example/1"]


# The feed list -------------------------------------------------------------------------------------------


def _exercise_store(store: FeedStore) -> None:
    settings = tuning()
    feed = add(store, "http://news.example/rss.xml", settings)
    again, created = store.add(new_feed("http://news.example/rss.xml#top", "other", None, settings))
    assert not created and again.id == feed.id
    now = utc_now()
    assert [due.id for due in store.due(now)] == [feed.id]
    assert store.claim(feed.id, now, now + timedelta(seconds=60))
    assert not store.claim(feed.id, now, now + timedelta(seconds=60))  # claimed: not due any more
    assert store.due(now) == []
    entries = [FeedEntry(f"k{n}", f"http://news.example/{n}", None, None, "m1") for n in range(3)]
    assert store.unseen(feed.id, entries) == entries
    store.mark_seen(feed.id, entries[:2])
    assert store.unseen(feed.id, entries) == entries[2:]
    changed = FeedEntry("k0", "http://news.example/0", None, None, "m2")  # updated: a new version
    assert store.unseen(feed.id, [changed]) == [changed]
    store.save(feed.model_copy(update={"failures": 2, "last_error": "boom"}))
    stored = store.get(feed.id)
    assert stored is not None and stored.failures == 2 and stored.last_error == "boom"
    assert [listed.id for listed in store.all()] == [feed.id]
    assert store.remove(feed.id) and not store.remove(feed.id)
    store.save(feed)  # saving a removed feed does not bring it back
    assert store.get(feed.id) is None and store.all() == []


def test_sqlite_feed_store(store: SqliteFeedStore) -> None:
    _exercise_store(store)


def test_redis_feed_store(redis_url: str) -> None:
    _exercise_store(RedisFeedStore(redis.Redis.from_url(redis_url), "kabar-test"))


# Polling -------------------------------------------------------------------------------------------------


def test_a_poll_sends_new_entries_once_and_then_uses_conditional_get(site: Site, store: SqliteFeedStore) -> None:
    urls = serve_seed_site(site)
    settings = tuning()
    feed = add(store, site.url("/news/rss.xml"), settings)
    sent = Collected()
    poller = FeedPoller(store, Fetcher(settings), settings, sent)

    first = poller.poll(feed)
    assert (first.status, first.entries, first.new, first.sent) == ("fetched", 5, 5, 5)
    assert [request.url for request in sent.requests] == urls
    assert all(request.source == feed.url and request.feed_id == feed.id for request in sent.requests)
    stored = store.get(feed.id)
    assert stored is not None and stored.etag == '"v1"' and stored.last_modified and stored.entries_sent == 5
    assert stored.next_poll_at > utc_now() + timedelta(seconds=590)

    second = poller.poll(stored)
    assert second.status == "not_modified" and len(sent.requests) == 5
    conditional = site.hits("/news/rss.xml")[1].headers
    assert conditional["if-none-match"] == '"v1"' and conditional["if-modified-since"].endswith("GMT")

    site.static("/news/rss.xml", rss("Seed news", [("Baru", site.url("/news/0"), PUB_DATE),
                                                   ("Lain", site.url("/news/9"), PUB_DATE)]),
                "application/rss+xml", etag='"v2"')
    stored = store.get(feed.id)
    assert stored is not None
    third = poller.poll(stored)
    assert (third.status, third.new, third.sent) == ("fetched", 1, 1)  # /news/0 was seen already
    assert sent.requests[-1].url == site.url("/news/9")


def test_an_updated_entry_is_sent_again(site: Site, store: SqliteFeedStore) -> None:
    settings = tuning()
    site.static("/atom", atom("A", [("Satu", site.url("/1"), "2025-07-12T10:00:00Z")]), "application/atom+xml")
    feed = add(store, site.url("/atom"), settings)
    sent = Collected()
    poller = FeedPoller(store, Fetcher(settings), settings, sent)
    poller.poll(feed)
    site.static("/atom", atom("A", [("Satu (ralat)", site.url("/1"), "2025-07-12T12:30:00Z")]), "application/atom+xml")
    again = store.get(feed.id)
    assert again is not None
    report = poller.poll(again)
    assert report.sent == 1 and sent.requests[-1].title == "Satu (ralat)"


def test_at_most_the_configured_entries_are_taken_from_one_poll(site: Site, store: SqliteFeedStore) -> None:
    settings = tuning(feed_max_entries=2)
    site.static("/rss", rss("x", [(f"n{n}", site.url(f"/{n}"), PUB_DATE) for n in range(5)]), "application/rss+xml")
    feed = add(store, site.url("/rss"), settings)
    sent = Collected()
    poller = FeedPoller(store, Fetcher(settings), settings, sent)
    assert poller.poll(feed).sent == 2
    stored = store.get(feed.id)
    assert stored is not None
    assert poller.poll(stored).sent == 2  # the rest come with the next polls
    assert len({request.url for request in sent.requests}) == 4


def test_a_failing_feed_backs_off_and_keeps_its_state(site: Site, store: SqliteFeedStore) -> None:
    settings = tuning(feed_interval=100.0)
    site.routes["/rss"] = lambda _: Reply(500, b"down")
    feed = add(store, site.url("/rss"), settings)
    poller = FeedPoller(store, Fetcher(settings), settings, Collected())
    delays = []
    for _ in range(3):
        current = store.get(feed.id)
        assert current is not None
        report = poller.poll(current)
        assert report.status == "failed" and "HTTP 500" in (report.error or "")
        after = store.get(feed.id)
        assert after is not None and after.last_polled_at is not None
        delays.append((after.next_poll_at - after.last_polled_at).total_seconds())
    final = store.get(feed.id)
    assert final is not None and final.failures == 3 and "HTTP 500" in (final.last_error or "")
    assert 50 <= delays[0] <= 100 and 100 <= delays[1] <= 200 and 200 <= delays[2] <= 400  # doubling, jittered
    site.static("/rss", rss("x", []), "application/rss+xml")
    recovered = poller.poll(final)
    assert recovered.status == "fetched"
    assert (store.get(feed.id) or final).failures == 0


def test_retry_after_postpones_the_next_poll(site: Site, store: SqliteFeedStore) -> None:
    settings = tuning(feed_interval=60.0)
    site.routes["/rss"] = lambda _: Reply(429, b"slow down", {"Retry-After": "3600"})
    feed = add(store, site.url("/rss"), settings)
    FeedPoller(store, Fetcher(settings), settings, Collected()).poll(feed)
    after = store.get(feed.id)
    assert after is not None and after.last_polled_at is not None
    assert (after.next_poll_at - after.last_polled_at).total_seconds() >= 3600


def test_slow_huge_and_looping_feeds_fail_clearly_without_stalling_the_others(site: Site,
                                                                               store: SqliteFeedStore) -> None:
    serve_seed_site(site)
    site.routes["/slow.xml"] = lambda _: Reply(200, slow_chunks(1000, 0.05), {"Content-Type": "application/rss+xml"})
    site.routes["/stuck.xml"] = lambda _: Reply(200, b"<rss/>", delay=30)
    site.routes["/huge.xml"] = lambda _: Reply(200, endless(), {"Content-Type": "application/rss+xml"})
    site.routes["/loop.xml"] = lambda _: Reply(302, b"", {"Location": "/loop.xml?again=1"})
    site.routes["/loop.xml?again=1"] = lambda _: Reply(302, b"", {"Location": "/loop.xml"})
    site.static("/bomb.xml", BILLION_LAUGHS, "application/rss+xml")
    settings = tuning(fetch_timeout=2.0, feed_max_bytes=1_000_000, feed_poll_concurrency=3)
    bad = ["/slow.xml", "/stuck.xml", "/huge.xml", "/loop.xml", "/bomb.xml"]
    feeds = [add(store, site.url(path), settings) for path in bad]
    good = add(store, site.url("/news/rss.xml"), settings)
    sent = Collected()

    started = time.monotonic()
    reports = {report.url: report for report in poll_round([*feeds, good], store, Fetcher(settings), settings, sent)}
    elapsed = time.monotonic() - started

    assert reports[good.url].status == "fetched" and reports[good.url].sent == 5
    errors = {path: reports[site.url(path)].error or "" for path in bad}
    assert "slow server" in errors["/slow.xml"]
    assert "timed out waiting for the response" in errors["/stuck.xml"]
    assert "over the 1.0 MB limit" in errors["/huge.xml"]
    assert "redirect loop" in errors["/loop.xml"]
    assert "declares XML entities" in errors["/bomb.xml"]
    assert all(reports[site.url(path)].status == "failed" for path in bad)
    assert elapsed < 10, f"a round took {elapsed:.1f} s"
    for feed in feeds:
        stored = store.get(feed.id)
        assert stored is not None and stored.failures == 1 and stored.last_error


def test_feeds_from_the_shared_extraction_pages(site: Site, store: SqliteFeedStore) -> None:
    pages = shared_pages(3)
    if not pages:
        pytest.skip("../shared/eval/extraction/pages is not here")
    for name, data in pages:
        site.static(f"/p/{name}", data)
    site.static("/p/rss.xml", rss("shared", [(name, site.url(f"/p/{name}"), PUB_DATE) for name, _ in pages]),
                "application/rss+xml")
    settings = tuning()
    feed = add(store, site.url("/p/rss.xml"), settings)
    sent = Collected()
    assert FeedPoller(store, Fetcher(settings), settings, sent).poll(feed).sent == len(pages)
    from kabar_ingest.feeds import fetch_page  # noqa: PLC0415

    fetched = [fetch_page(Fetcher(settings), request, 10_000_000) for request in sent.requests]
    assert all(document.format == "html" and document.url and len(document.content) > 500 for document in fetched)


# The command, embedded: a newcomer tries a real feed without servers -------------------------------------


def _env(embedded_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**embedded_env, "KABAR_FETCH_ALLOW_HOSTS": "127.0.0.1", "KABAR_FETCH_HOST_INTERVAL": "0", **extra}


def test_kabar_feeds_add_poll_search_in_the_embedded_mode(site: Site, embedded_env: dict[str, str]) -> None:
    serve_seed_site(site)
    site.static("/robots.txt", "User-agent: *\nDisallow: /news/3\n", "text/plain")
    env = _env(embedded_env)
    added = run_kabar(["feeds", "add", site.url("/news/rss.xml"), "--name", "Seeds"], env)
    assert added.returncode == 0, added.stderr
    feed_id = added.stdout.split()[1]

    polled = run_kabar(["feeds", "poll"], env)
    assert polled.returncode == 1, polled.stdout + polled.stderr  # one page is disallowed by robots.txt
    assert "fetched, 5 entries, 5 new, 5 sent" in polled.stdout
    assert "pages: 1 failed, 4 indexed" in polled.stdout
    assert "robots.txt" in polled.stderr and "/news/3" in polled.stderr
    assert site.hits("/news/3") == []

    found = json.loads(run_kabar(["search", "Lavrov", "--json"], env).stdout)
    assert found["total"] == 4
    letters = run_kabar(["dlq", "list", "--json"], env)
    letter = json.loads(letters.stdout.splitlines()[0])
    assert letter["stage"] == "feeds" and "robots.txt" in letter["reason"]

    again = run_kabar(["feeds", "poll", feed_id], env)
    assert again.returncode == 0, again.stderr
    assert "not modified" in again.stdout
    listed = run_kabar(["feeds", "list", "--json"], env)
    record = json.loads(listed.stdout)
    assert record["name"] == "Seeds" and record["last_status"] == "not_modified" and record["entries_sent"] == 5

    removed = run_kabar(["feeds", "remove", feed_id], env)
    assert removed.returncode == 0 and run_kabar(["feeds", "list"], env).stdout.strip() == "0 feed(s)"


def test_kabar_feeds_add_refuses_what_would_never_be_fetched(embedded_env: dict[str, str]) -> None:
    env = {**embedded_env}
    blocked = run_kabar(["feeds", "add", "http://127.0.0.1:9/rss.xml"], env)
    assert blocked.returncode == 2 and "loopback" in blocked.stderr and "KABAR_FETCH_ALLOW_HOSTS" in blocked.stderr
    for url, reason in (("ftp://example.com/rss", "only http and https"), ("http://u:p@example.com/", "credentials")):
        refused = run_kabar(["feeds", "add", url], env)
        assert refused.returncode == 2 and reason in refused.stderr
    assert run_kabar(["feeds", "poll", "nope"], env).returncode == 2
