"""Feeds as the world writes them (issue #14): declared multi-byte encodings, the HTTP charset, skipped
entries counted with their reason, titles without markup, an empty feed with a flaw, one key per feed
however its host is spelled, and a DNS failure named as one."""

from __future__ import annotations

import json

import pytest

from kabar.contract.settings import KabarSettings
from kabar_ingest.feeds import FeedError, feed_id, parse_feed
from kabar_ingest.fetch import Fetcher, FetchError
from kabar_ingest.identity import canonical_url

FEED = "https://news.example/feed.xml"


def rss(title: str, items: list[tuple[str, str]], declaration: str = "") -> str:
    body = "".join(f"<item><title>{name}</title><link>{link}</link><guid>{link}</guid></item>" for name, link in items)
    return f"{declaration}<rss version=\"2.0\"><channel><title>{title}</title>{body}</channel></rss>"


@pytest.mark.parametrize(("encoding", "title"), [
    ("big5", "台灣新聞"), ("euc-kr", "한국 뉴스"), ("gb2312", "中国新闻"), ("shift_jis", "日本のニュース"),
    ("utf-16", "Berita Jakarta"), ("koi8-r", "Новости"), ("windows-1252", "Café"),
])
def test_a_feed_in_its_declared_encoding_is_read(encoding: str, title: str) -> None:
    document = rss(title, [(title + " 1", "https://news.example/1")],
                   f'<?xml version="1.0" encoding="{encoding}"?>')
    parsed = parse_feed(document.encode(encoding), FEED, "application/rss+xml")
    assert parsed.title == title
    assert [entry.title for entry in parsed.entries] == [title + " 1"]


def test_the_http_charset_is_honoured_without_a_declaration() -> None:
    document = rss("Новости", [("Заголовок", "https://news.example/1")])
    parsed = parse_feed(document.encode("koi8-r"), FEED, "application/rss+xml; charset=koi8-r")
    assert parsed.title == "Новости" and parsed.entries[0].title == "Заголовок"


def test_an_unknown_encoding_name_is_not_a_crash() -> None:
    document = rss("Berita", [("Judul", "https://news.example/1")], '<?xml version="1.0" encoding="x-nonsense"?>')
    try:
        parsed = parse_feed(document.encode(), FEED, "application/rss+xml")
    except FeedError:
        return
    assert [entry.title for entry in parsed.entries] == ["Judul"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "big5"])
def test_entity_bombs_are_still_refused_in_every_encoding(encoding: str) -> None:
    bomb = (f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss version="2.0"><channel><title>&b;</title>'
            "</channel></rss>")
    with pytest.raises(FeedError, match="entities"):
        parse_feed(bomb.encode(encoding), FEED, "application/rss+xml")
    external = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                '<rss version="2.0"><channel><title>&x;</title></channel></rss>')
    with pytest.raises(FeedError):
        parse_feed(external.encode(), FEED, "application/rss+xml")


def test_skipped_entries_are_counted_with_their_reason() -> None:
    document = ('<rss version="2.0"><channel><title>Wire</title>'
                "<item><title>With a link</title><link>https://news.example/1</link></item>"
                "<item><title>No link</title><guid isPermaLink=\"false\">wire-2</guid>"
                "<description>Full text of the release.</description></item>"
                "<item><title>Mail link</title><link>mailto:desk@news.example</link></item>"
                "</channel></rss>")
    parsed = parse_feed(document.encode(), FEED, "application/rss+xml")
    assert len(parsed.entries) == 1
    assert parsed.skipped == 2
    assert parsed.skipped_reasons == {"no link and no full text": 1, "a link that is not http(s)": 1}


def test_an_empty_feed_with_an_undefined_entity_is_an_empty_feed() -> None:
    parsed = parse_feed(b'<rss version="2.0"><channel><title>A &nbsp; B</title></channel></rss>', FEED,
                        "application/rss+xml")
    assert parsed.entries == [] and parsed.skipped == 0


def test_titles_lose_their_markup() -> None:
    document = rss("&lt;b&gt;Kabar&lt;/b&gt; Harian", [("&lt;i&gt;Presiden&lt;/i&gt; &amp;amp; DPR",
                                                         "https://news.example/1")])
    parsed = parse_feed(document.encode(), FEED, "application/rss+xml")
    assert parsed.title == "Kabar Harian"
    assert parsed.entries[0].title == "Presiden & DPR"


def test_one_feed_however_its_host_or_path_is_spelled() -> None:
    spellings = ["http://127.0.0.1/~bob/feed", "http://2130706433/~bob/feed", "http://localhost/%7ebob/feed",
                 "http://LOCALHOST:80/%7Ebob/feed", "http://0x7f.1/~bob/feed"]
    assert len({feed_id(url) for url in spellings}) == 1
    assert feed_id("http://127.0.0.1/~alice/feed") != feed_id(spellings[0])


def test_percent_encoding_makes_one_article_url() -> None:
    urls = ["https://news.example/~bob/1", "https://news.example/%7ebob/1", "https://news.example/%7Ebob/1"]
    assert len({canonical_url(url) for url in urls}) == 1
    assert canonical_url("https://news.example/a%2fb") == "https://news.example/a%2Fb"  # reserved stays escaped


def test_a_dns_failure_is_named_as_one_not_as_a_robots_txt_problem() -> None:
    fetcher = Fetcher(KabarSettings(fetch_host_interval=0.0))
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.get("http://no-such-host.invalid/feed.xml", max_bytes=1000)
    finally:
        fetcher.close()
    assert "robots.txt" not in str(caught.value), caught.value
    assert caught.value.kind == "network" and "resolve" in str(caught.value), caught.value


def test_a_full_text_entry_without_a_link_is_ingested_with_an_id_from_feed_and_guid(
        embedded_env: dict[str, str]) -> None:
    from conftest import SEEDS, run_kabar  # noqa: PLC0415
    from test_feeds_support import Site  # noqa: PLC0415

    seeds = sorted(SEEDS.glob("*.txt"))
    paragraphs = "".join(f"<p>{line}</p>" for line in seeds[0].read_text().splitlines()[1:] if line.strip())
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Rilis &lt;b&gt;Pers&lt;/b&gt;'
            "</title><item><title>Siaran pers kementerian</title><guid isPermaLink=\"false\">rilis-2025-001</guid>"
            f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded></item>"
            "<item><title>Pendek</title><guid isPermaLink=\"false\">rilis-2025-002</guid>"
            "<description>Terlalu pendek.</description></item></channel></rss>")
    site = Site()
    try:
        site.static("/rilis.xml", feed, "application/rss+xml; charset=utf-8")
        env = {**embedded_env, "KABAR_FETCH_ALLOW_HOSTS": "127.0.0.1", "KABAR_FETCH_HOST_INTERVAL": "0"}
        assert run_kabar(["feeds", "add", site.url("/rilis.xml")], env).returncode == 0
        polled = run_kabar(["feeds", "poll"], env)
        assert polled.returncode == 0, polled.stdout + polled.stderr
        assert "1 entries, 1 new, 1 sent, 1 skipped (no link and no full text: 1)" in polled.stdout, polled.stdout
        assert "pages: 1 indexed" in polled.stdout, polled.stdout
        assert site.hits("/rilis.xml?kabar-guid=rilis-2025-001") == []  # nothing fetched for it
        listed = json.loads(run_kabar(["feeds", "list", "--json"], env).stdout)
        assert listed["last_skipped"] == 1 and listed["last_skipped_reasons"] == {"no link and no full text": 1}
        assert listed["name"] == "Rilis Pers"
        found = json.loads(run_kabar(["search", "Lavrov", "--json"], env).stdout)
        assert found["total"] == 1 and found["hits"][0]["title"] == "Siaran pers kementerian"
        assert "kabar-guid=rilis-2025-001" in (found["hits"][0].get("url") or "")
    finally:
        site.close()
