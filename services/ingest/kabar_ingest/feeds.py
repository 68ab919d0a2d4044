"""RSS/Atom feeds: the list of feeds, polling one, and fetching the pages of new entries.

Polling a feed: a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last
answer; a 304 costs nothing more), then the body is parsed by defusedxml first (a feed that
declares XML entities, the billion-laughs kind, or points at external ones is refused), then
by feedparser. Each entry not seen before, or whose ``updated`` changed (a correction), is
handed on as a ``PageRequest`` (at most ``KABAR_FEED_MAX_ENTRIES`` per poll) and remembered.
A feed that fails (network, HTTP error, not a feed) keeps its state and is polled again after
an exponential backoff (``Retry-After`` honoured), up to ``KABAR_FEED_BACKOFF_MAX``.

Fetching a page (``fetch_page``, the ``feeds`` stage): the entry's URL through the guarded
``Fetcher`` → a ``RawDocument`` with format ``html`` and the final URL, for the ingest stage.
A page that cannot be fetched raises ``PermanentError`` (dead-lettered at once: blocked,
disallowed by robots.txt, too large, not HTML, 404 …) or ``PageUnavailable`` (retried:
timeouts, 5xx, a busy host).
"""

from __future__ import annotations

import hashlib
import html
import logging
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, Protocol
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
import lxml.html
import redis
from defusedxml import DefusedXmlException
from feedparser.encodings import convert_to_utf8
from lxml.etree import ParserError
from pydantic import BaseModel, ConfigDict, Field

from kabar.contract import metrics
from kabar.contract.failures import PermanentError
from kabar.contract.messages import Message, RawDocument, utc_now
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import Payload
from kabar.contract.state import connect, immediate, state_store
from kabar_ingest.fetch import Fetcher, FetchError, HostThrottle, LocalThrottle, RedisThrottle, check_url
from kabar_ingest.reader import BadDocument, check_html_shape, decode_html, sanitize
from kabar_ingest.urlnorm import normal_escapes, url_host

log = logging.getLogger(__name__)

FEED_ACCEPT: Final = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT: Final = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml", ""})
MAX_SEEN_ENTRIES: Final = 5000  # entry keys remembered per feed
EARLIEST_DATE: Final = datetime(1900, 1, 1, tzinfo=UTC)
PollStatus = Literal["fetched", "not_modified", "failed"]


_FEED_ROOT: Final = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]")
FULL_TEXT_CHARS: Final = 400  # an entry without a link with at least this much text is an article of its own
GUID_PARAMETER: Final = "kabar-guid"  # the query parameter that carries a full-text entry's guid


class FeedError(Exception):
    """A feed body that is not a usable feed (the message says why)."""


class PageUnavailable(RuntimeError):
    """A page that could not be fetched now but may be later: the message is retried."""


# Messages and records ----------------------------------------------------------------------------------


class PageRequest(Message):
    """A page to fetch and ingest: the message of the ``feeds`` stage (and of its dead letters)."""

    url: str
    source: str = Field(description="The feed URL the entry came from.")
    feed_id: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    content: str | None = Field(None, description="The entry's own full text (an entry without a link): "
                                                  "ingested as it is, nothing is fetched.")


class Feed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    url: str
    name: str | None = None
    interval: float = Field(description="Seconds between two polls.")
    added_at: datetime = Field(default_factory=utc_now)
    next_poll_at: datetime = Field(default_factory=utc_now)
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = None
    last_status: PollStatus | None = None
    last_error: str | None = None
    failures: int = 0
    entries_sent: int = 0
    # The last poll's entries that were not taken, and why ("no link": 3): a full-text feed whose
    # entries have no link shows here instead of looking healthy with 0 entries.
    last_skipped: int = 0
    last_skipped_reasons: dict[str, int] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    key: str  # the entry's id, else its link
    link: str  # its page; for a full-text entry without one, the feed's URL with its guid (``GUID_PARAMETER``)
    title: str | None
    published_at: datetime | None
    marker: str  # its updated (else published) date as written: a change means a new version
    text: str | None = None  # a full-text entry's own text (then nothing is fetched)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    skipped: int  # entries without a usable http(s) link
    skipped_reasons: dict[str, int] = field(default_factory=dict)  # why, how many


@dataclass(slots=True)
class PollReport:
    feed_id: str
    url: str
    status: PollStatus
    entries: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    new: int = 0
    sent: int = 0
    failed_pages: list[str] = field(default_factory=list)
    error: str | None = None


def feed_id(url: str) -> str:
    """The feed's key: its URL in one spelling (``urlnorm``: ``127.0.0.1``, ``2130706433`` and ``localhost``
    are one host; ``%7e`` is ``~``), so that one feed added three ways is one feed, one robots.txt, one pace."""
    return hashlib.sha256(canonical_feed_url(url).encode()).hexdigest()[:16]


def canonical_feed_url(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    shown_port = f":{port}" if port and port != {"http": 80, "https": 443}.get(scheme) else ""
    host = url_host(parts.hostname or "")
    return urlunsplit((scheme, host + shown_port, normal_escapes(parts.path or "/"), normal_escapes(parts.query), ""))


def new_feed(url: str, name: str | None, interval: float | None, settings: KabarSettings) -> Feed:
    """A feed record for ``url``; ``FetchError`` (kind ``bad_url``) for a URL that is never fetched."""
    url = check_url(url.strip())
    return Feed(id=feed_id(url), url=url, name=name, interval=interval or settings.feed_interval)


# Parsing -----------------------------------------------------------------------------------------------


def parse_feed(data: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Entries of an RSS or Atom document; ``FeedError`` with the reason when it is not a usable feed.

    The bytes are decoded as feedparser decodes them (``feedparser.encodings.convert_to_utf8``: the
    HTTP charset, the byte order mark and the XML declaration, in its order of precedence; Big5,
    EUC-KR, GB2312, Shift_JIS, KOI8-R, UTF-16 …), and the XML-bomb and external-entity defences
    (defusedxml) run on that UTF-8 text, which they read whatever the feed was written in.
    """
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise FeedError("not a feed: the URL serves an HTML page")
    if not data.strip():
        raise FeedError("not a feed: the response is empty")
    decoding: dict[str, Any] = {}
    utf8 = convert_to_utf8({"content-type": content_type} if content_type else {}, data, decoding)
    try:
        defusedxml.ElementTree.fromstring(utf8, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FeedError(f"refused: the feed declares XML entities or external references ({type(exc).__name__}); "
                        "they can expand without bound or read other resources") from None
    except ParseError:
        if b"<!entity" in utf8.lower():
            raise FeedError("refused: malformed XML that declares entities") from None
        # Not well-formed: feedparser's lenient parser may still read it (many real feeds are sloppy).
    parsed = feedparser.parse(utf8, response_headers={"content-location": url,
                                                      "content-type": "application/xml; charset=utf-8"},
                              sanitize_html=True, resolve_relative_uris=True)
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        reason = parsed.get("bozo_exception")
        if _FEED_ROOT.search(utf8[:4096]):  # an RSS or Atom document without entries (and a flaw): empty
            return ParsedFeed(title=_plain(parsed.get("feed", {}).get("title")), entries=[], skipped=0)
        raise FeedError(f"not an RSS or Atom feed{f': {reason}' if reason else ''}")
    entries: list[FeedEntry] = []
    skipped: Counter[str] = Counter()
    for raw in parsed.entries:
        entry = _entry(raw, url)
        if isinstance(entry, str):
            skipped[entry] += 1
        else:
            entries.append(entry)
    feed = parsed.get("feed", {})
    return ParsedFeed(title=_plain(feed.get("title")), entries=entries, skipped=sum(skipped.values()),
                      skipped_reasons=dict(skipped))


def _full_text_entry(raw: Any, feed_url: str) -> FeedEntry | str:
    """An entry without a link that carries its text (``content:encoded``, Atom content or a long description)
    and a guid is an article of its own (wire services, press releases): its URL is the feed's with the guid,
    so its id comes from the feed and the guid."""
    guid = str(raw.get("id") or "").strip()
    contents = [str(part.get("value") or "") for part in (dict.get(raw, "content") or [])]
    html_text = max([*contents, str(dict.get(raw, "summary") or "")], key=len)
    text = _paragraphs(html_text)
    if not guid:
        return "no link and no guid"
    if len(text) < FULL_TEXT_CHARS:
        return "no link and no full text"
    separator = "&" if urlsplit(feed_url).query else "?"
    link = f"{feed_url}{separator}{GUID_PARAMETER}={quote(guid, safe='')}"
    marker = str(dict.get(raw, "updated") or dict.get(raw, "published") or "")
    return FeedEntry(key=guid, link=link, title=_plain(raw.get("title")), published_at=_entry_date(raw),
                     marker=marker, text=text)


def _paragraphs(markup: str) -> str:
    """The text of an entry's HTML, a paragraph a line."""
    if not markup.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ParserError, ValueError):
        return sanitize(html.unescape(re.sub(r"<[^>]*>", " ", markup))).strip()
    for block in root.iter("p", "br", "div", "li", "h1", "h2", "h3", "h4", "blockquote"):
        block.tail = "\n\n" + (block.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return sanitize("\n\n".join(line for line in lines if line)).strip()


def _plain(title: object) -> str | None:
    """A feed's or entry's title as text: feeds often carry HTML markup and entities in titles."""
    if not title:
        return None
    text = str(title)
    if "<" in text or "&" in text:
        try:
            text = lxml.html.fragment_fromstring(text, create_parent="div").text_content()
        except (ParserError, ValueError):
            text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return sanitize(" ".join(text.split())) or None


def _entry(raw: Any, feed_url: str) -> FeedEntry | str:
    """The entry, or why it is skipped."""
    link = raw.get("link") or ""
    if not link:
        return _full_text_entry(raw, feed_url)
    link = urljoin(feed_url, link.strip())
    try:
        check_url(link)
    except FetchError:
        return "a link that is not http(s)"
    title = _plain(raw.get("title"))
    # dict.get: feedparser's own get() maps a missing "updated" to "published", with a warning.
    marker = str(dict.get(raw, "updated") or dict.get(raw, "published") or "")
    return FeedEntry(key=str(raw.get("id") or link), link=link, title=title, published_at=_entry_date(raw),
                     marker=marker)


def _entry_date(raw: Any) -> datetime | None:
    parsed = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    if moment > datetime.now(UTC) + timedelta(days=1) or moment < EARLIEST_DATE:
        return None  # a date that cannot be true is left out rather than refusing the entry
    return moment


# The feed list -----------------------------------------------------------------------------------------


class FeedStore(Protocol):
    def add(self, feed: Feed) -> tuple[Feed, bool]:
        """Store a new feed; returns the stored one and False when the URL was there already."""
    def get(self, feed_id: str) -> Feed | None: ...
    def all(self) -> list[Feed]: ...
    def remove(self, feed_id: str) -> bool: ...
    def save(self, feed: Feed) -> None:
        """Write a feed's state (no-op for a feed removed meanwhile)."""
    def due(self, now: datetime, limit: int = 1000) -> list[Feed]: ...
    def claim(self, feed_id: str, now: datetime, until: datetime) -> bool:
        """Take a due feed for polling: its next poll moves to ``until``; False if it was not due."""
    def unseen(self, feed_id: str, entries: list[FeedEntry]) -> list[FeedEntry]:
        """The entries whose key is new or whose marker changed."""
    def mark_seen(self, feed_id: str, entries: list[FeedEntry]) -> None: ...
    def close(self) -> None: ...


class SqliteFeedStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS feeds (id TEXT PRIMARY KEY, next_poll_at REAL NOT NULL, "
                         "body TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS feed_entries (feed_id TEXT NOT NULL, key TEXT NOT NULL, "
                         "marker TEXT NOT NULL, seen_at REAL NOT NULL, PRIMARY KEY (feed_id, key))")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    def add(self, feed: Feed) -> tuple[Feed, bool]:
        with self._transaction() as db:
            existing = self.get(feed.id)
            if existing is not None:
                return existing, False
            db.execute("INSERT INTO feeds VALUES (?, ?, ?)", (feed.id, feed.next_poll_at.timestamp(),
                                                               feed.model_dump_json()))
        return feed, True

    def get(self, feed_id: str) -> Feed | None:
        with self._lock:
            row = self._db.execute("SELECT body, next_poll_at FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return _feed(row[0], row[1]) if row else None

    def all(self) -> list[Feed]:
        with self._lock:
            rows = self._db.execute("SELECT body, next_poll_at FROM feeds ORDER BY id").fetchall()
        return sorted((_feed(body, due) for body, due in rows), key=lambda feed: feed.added_at)

    def remove(self, feed_id: str) -> bool:
        with self._transaction() as db:
            db.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed_id,))
            return db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount > 0

    def save(self, feed: Feed) -> None:
        with self._lock:
            self._db.execute("UPDATE feeds SET next_poll_at = ?, body = ? WHERE id = ?",
                             (feed.next_poll_at.timestamp(), feed.model_dump_json(), feed.id))

    def due(self, now: datetime, limit: int = 1000) -> list[Feed]:
        with self._lock:
            rows = self._db.execute("SELECT body, next_poll_at FROM feeds WHERE next_poll_at <= ? "
                                    "ORDER BY next_poll_at LIMIT ?", (now.timestamp(), limit)).fetchall()
        return [_feed(body, due) for body, due in rows]

    def claim(self, feed_id: str, now: datetime, until: datetime) -> bool:
        with self._lock:
            return self._db.execute("UPDATE feeds SET next_poll_at = ? WHERE id = ? AND next_poll_at <= ?",
                                    (until.timestamp(), feed_id, now.timestamp())).rowcount > 0

    def unseen(self, feed_id: str, entries: list[FeedEntry]) -> list[FeedEntry]:
        with self._lock:
            known = dict(self._db.execute("SELECT key, marker FROM feed_entries WHERE feed_id = ?", (feed_id,)))
        return [entry for entry in entries if known.get(entry.key) != entry.marker]

    def mark_seen(self, feed_id: str, entries: list[FeedEntry]) -> None:
        now = time.time()
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO feed_entries VALUES (?, ?, ?, ?)",
                           [(feed_id, entry.key, entry.marker, now) for entry in entries])
            db.execute("DELETE FROM feed_entries WHERE feed_id = ? AND key NOT IN (SELECT key FROM feed_entries "
                       "WHERE feed_id = ? ORDER BY seen_at DESC LIMIT ?)", (feed_id, feed_id, MAX_SEEN_ENTRIES))

    def close(self) -> None:
        self._db.close()


def _feed(body: str | bytes, next_poll_at: float) -> Feed:
    feed = Feed.model_validate_json(body)
    return feed.model_copy(update={"next_poll_at": datetime.fromtimestamp(float(next_poll_at), UTC)})


_CLAIM_SCRIPT: Final = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""
_SAVE_SCRIPT: Final = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""


class RedisFeedStore:
    """``<prefix>:feeds`` (id → feed), ``<prefix>:feeds:due`` (id by next poll), per feed its seen entries."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str) -> None:
        self._redis = client
        self._feeds = f"{key_prefix}:feeds"
        self._due = f"{key_prefix}:feeds:due"
        self._entries = f"{key_prefix}:feeds:entries:"
        self._claim = client.register_script(_CLAIM_SCRIPT)
        self._save = client.register_script(_SAVE_SCRIPT)

    def add(self, feed: Feed) -> tuple[Feed, bool]:
        if not self._redis.hsetnx(self._feeds, feed.id, feed.model_dump_json()):
            existing = self.get(feed.id)
            if existing is not None:
                return existing, False
        self._redis.zadd(self._due, {feed.id: feed.next_poll_at.timestamp()})
        return feed, True

    def get(self, feed_id: str) -> Feed | None:
        body = self._redis.hget(self._feeds, feed_id)
        if body is None:
            return None
        due = self._redis.zscore(self._due, feed_id)
        return _feed(body, due if due is not None else time.time())

    def all(self) -> list[Feed]:
        feeds = []
        for feed_key, body in self._redis.hgetall(self._feeds).items():
            due = self._redis.zscore(self._due, feed_key)
            feeds.append(_feed(body, due if due is not None else time.time()))
        return sorted(feeds, key=lambda feed: feed.added_at)

    def remove(self, feed_id: str) -> bool:
        pipe = self._redis.pipeline()
        pipe.hdel(self._feeds, feed_id)
        pipe.zrem(self._due, feed_id)
        pipe.delete(self._entries + feed_id, self._entries + feed_id + ":order")
        return bool(pipe.execute()[0])

    def save(self, feed: Feed) -> None:
        self._save(keys=[self._feeds, self._due], args=[feed.id, feed.model_dump_json(), feed.next_poll_at.timestamp()])

    def due(self, now: datetime, limit: int = 1000) -> list[Feed]:
        ids = self._redis.zrangebyscore(self._due, "-inf", now.timestamp(), start=0, num=limit)
        return [feed for feed_key in ids if (feed := self.get(feed_key.decode())) is not None]

    def claim(self, feed_id: str, now: datetime, until: datetime) -> bool:
        return bool(self._claim(keys=[self._due], args=[feed_id, now.timestamp(), until.timestamp()]))

    def unseen(self, feed_id: str, entries: list[FeedEntry]) -> list[FeedEntry]:
        if not entries:
            return []
        markers = self._redis.hmget(self._entries + feed_id, [entry.key for entry in entries])
        return [entry for entry, marker in zip(entries, markers, strict=True)
                if marker is None or marker.decode() != entry.marker]

    def mark_seen(self, feed_id: str, entries: list[FeedEntry]) -> None:
        if not entries:
            return
        now = time.time()
        pipe = self._redis.pipeline()
        pipe.hset(self._entries + feed_id, mapping={entry.key: entry.marker for entry in entries})
        pipe.zadd(self._entries + feed_id + ":order", {entry.key: now for entry in entries})
        pipe.execute()
        excess = self._redis.zrange(self._entries + feed_id + ":order", 0, -MAX_SEEN_ENTRIES - 1)
        if excess:
            pipe = self._redis.pipeline()
            pipe.hdel(self._entries + feed_id, *excess)
            pipe.zrem(self._entries + feed_id + ":order", *excess)
            pipe.execute()

    def close(self) -> None:
        self._redis.close()


def open_feed_store(settings: KabarSettings) -> FeedStore:
    return state_store(settings, RedisFeedStore, SqliteFeedStore, "feeds.sqlite3")


def open_fetcher(settings: KabarSettings) -> Fetcher:
    """The fetcher, its host turns shared through Redis in the services mode."""
    throttle: HostThrottle = state_store(settings, RedisThrottle, lambda _: LocalThrottle())
    return Fetcher(settings, throttle)


# Polling -----------------------------------------------------------------------------------------------


PageSink = Callable[[PageRequest], None]


class FeedPoller:
    """Polls one feed at a time; ``send`` hands each new entry on (a queue, or fetch-and-ingest here)."""

    def __init__(self, store: FeedStore, fetcher: Fetcher, settings: KabarSettings, send: PageSink) -> None:
        self.store = store
        self.fetcher = fetcher
        self.settings = settings
        self.send = send

    def poll(self, feed: Feed) -> PollReport:
        started = utc_now()
        report = PollReport(feed.id, feed.url, "failed")
        try:
            response = self.fetcher.get(feed.url, max_bytes=self.settings.feed_max_bytes, accept=FEED_ACCEPT,
                                        etag=feed.etag, last_modified=feed.last_modified)
            if response.not_modified:
                report.status = "not_modified"
            else:
                parsed = parse_feed(response.body, response.url, response.content_type)
                report.status = "fetched"
                report.entries = len(parsed.entries)
                report.skipped, report.skipped_reasons = parsed.skipped, parsed.skipped_reasons
                self._send_new(feed, parsed, report)
                feed = feed.model_copy(update={"etag": response.etag, "last_modified": response.last_modified,
                                               "name": feed.name or parsed.title})
        except (FetchError, FeedError) as exc:
            report.error = str(exc)
            retry_after = exc.retry_after if isinstance(exc, FetchError) else None
            self._failed(feed, started, report.error, retry_after)
            log.warning("feed %s (%s) failed: %s", feed.id, feed.url, exc)
            return report
        except Exception as exc:  # a page hand-off that could not reach its queue: try the feed again later
            report.error = f"{type(exc).__name__}: {exc}"
            self._failed(feed, started, report.error, None)
            raise
        self.store.save(feed.model_copy(update={
            "last_polled_at": started, "last_status": report.status, "last_error": None, "failures": 0,
            "entries_sent": feed.entries_sent + report.sent,
            **({"last_skipped": report.skipped, "last_skipped_reasons": report.skipped_reasons}
               if report.status == "fetched" else {}),
            "next_poll_at": started + timedelta(seconds=feed.interval),
        }))
        return report

    def _send_new(self, feed: Feed, parsed: ParsedFeed, report: PollReport) -> None:
        fresh = self.store.unseen(feed.id, parsed.entries)
        report.new = len(fresh)
        for entry in fresh[:self.settings.feed_max_entries]:
            self.send(PageRequest(url=entry.link, source=feed.url, feed_id=feed.id, title=entry.title,
                                  published_at=entry.published_at, content=entry.text))
            self.store.mark_seen(feed.id, [entry])  # only once it is on its way: a crash re-sends, never loses
            report.sent += 1

    def _failed(self, feed: Feed, started: datetime, error: str, retry_after: float | None) -> None:
        failures = feed.failures + 1
        backoff = min(self.settings.feed_backoff_max, feed.interval * 2 ** (failures - 1))
        backoff = random.uniform(backoff / 2, backoff)  # noqa: S311 - jitter, not crypto
        if retry_after is not None:
            backoff = min(self.settings.feed_backoff_max, max(backoff, retry_after))
        self.store.save(feed.model_copy(update={
            "last_polled_at": started, "last_status": "failed", "last_error": error[:500], "failures": failures,
            "next_poll_at": started + timedelta(seconds=backoff),
        }))


# Pages -------------------------------------------------------------------------------------------------


def fetch_page(fetcher: Fetcher, request: PageRequest, max_bytes: int) -> RawDocument:
    """The entry's page as a ``RawDocument`` (format html, the URL after redirects).

    ``PermanentError`` for what will not change by trying again, ``PageUnavailable`` for the rest. A
    full-text entry (``content``) is its own document: nothing is fetched.
    """
    if request.content is not None:
        return RawDocument(source=request.source, format="text", content=sanitize(request.content),
                           url=request.url, title=request.title, published_at=request.published_at)
    try:
        response = fetcher.get(request.url, max_bytes=max_bytes, accept=PAGE_ACCEPT)
    except FetchError as exc:
        metrics.observe_source_failure(request.url, "fetch_error")
        if exc.permanent:
            raise PermanentError(f"cannot fetch the page: {exc}") from None
        raise PageUnavailable(f"cannot fetch the page now: {exc}") from None
    if response.content_type not in HTML_TYPES:
        metrics.observe_source_failure(request.url, "fetch_error")
        raise PermanentError(f"{response.url} is not an HTML page (content type {response.content_type})")
    try:
        html = _decode(response.body, response.charset)
        check_html_shape(response.body)
    except BadDocument as exc:
        metrics.observe_source_failure(request.url, "extraction_error")
        raise PermanentError(f"{response.url}: {exc}") from None
    return RawDocument(source=request.source, format="html", content=sanitize(html), url=response.url,
                       title=request.title, published_at=request.published_at)


def _decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong header: the page's own declaration (or UTF-8) decides
    return decode_html(body)


class PageHandler:
    """The ``feeds`` stage: a ``PageRequest`` in, the page as a ``RawDocument`` out (for ingest)."""

    def __init__(self, fetcher: Fetcher, max_bytes: int) -> None:
        self.fetcher = fetcher
        self.max_bytes = max_bytes

    def handle(self, payload: Payload) -> RawDocument:
        return fetch_page(self.fetcher, PageRequest.model_validate(payload), self.max_bytes)

    def after_forward(self, result: BaseModel) -> None:
        """Nothing to remember: the feed marked the entry as seen when it sent the request."""


def build_page_handler(settings: KabarSettings) -> PageHandler:
    return PageHandler(open_fetcher(settings), settings.max_document_bytes)
