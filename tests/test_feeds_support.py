"""A real HTTP server on loopback for the feed, fetch, push and correction tests (no tests in here).

Routes are plain functions from a request to a ``Reply``; the server records every request
(path and headers) so tests can check what was sent (conditional GET, user agent, robots).
Feeds and pages are built at test time from ``seeds/*.txt`` and, when present, from the pages
in ``../shared/eval/extraction/pages/`` (read in place, never copied into the repo).
"""

from __future__ import annotations

import contextlib
import gzip
import html
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import SEEDS, SHARED
from kabar_ingest.cleaning import clean_text

SHARED_PAGES = SHARED / "eval" / "extraction" / "pages"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line


Route = Callable[[Request], Reply]


class Site:
    """A threaded HTTP server on 127.0.0.1 with a route table that tests change as they go."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up
                    super().handle()

            def do_GET(self) -> None:
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                with site._lock:
                    site.requests.append(request)
                route = site.routes.get(self.path.split("?", 1)[0])
                reply = route(request) if route else Reply(404, b"not found")
                # The client may give up (size limit, deadline): that is the point of those tests.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in reply.body:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.path.split("?", 1)[0] == path]

    def static(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8",
               etag: str | None = None, last_modified: datetime | None = None) -> None:
        """Serve ``body`` at ``path``, answering conditional GETs with 304 when it has not changed."""
        data = body.encode() if isinstance(body, str) else body

        def route(request: Request) -> Reply:
            headers = {"Content-Type": content_type}
            if etag:
                headers["ETag"] = etag
            if last_modified:
                headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
            if etag and request.headers.get("if-none-match") == etag:
                return Reply(304, b"", headers)
            if not etag and last_modified and request.headers.get("if-modified-since") == headers["Last-Modified"]:
                return Reply(304, b"", headers)
            return Reply(200, data, headers)

        self.routes[path] = route

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Content -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    title: str
    paragraphs: list[str]


def seed_stories() -> list[Story]:
    """The seeds as stories: title and paragraphs as the ingest cleaning finds them."""
    stories = []
    for seed in sorted(SEEDS.glob("*.txt")):
        cleaned = clean_text(seed.read_text(encoding="utf-8"))
        paragraphs = [line.strip() for line in cleaned.text.splitlines() if len(line.strip()) > 40]
        stories.append(Story(cleaned.title, paragraphs))
    return stories


def article_html(story: Story, canonical: str | None = None, date: str = "2025-07-12") -> str:
    link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    body = "\n".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in story.paragraphs)
    return (f"<!DOCTYPE html><html lang='id'><head><meta charset='utf-8'><title>{html.escape(story.title)}</title>"
            f"{link}<meta property='article:published_time' content='{date}T10:00:00+07:00'></head><body>"
            f"<nav><a href='/'>Beranda</a> <a href='/news'>Berita</a></nav><article><h1>{html.escape(story.title)}"
            f"</h1>{body}</article><footer>Hak cipta dilindungi</footer></body></html>")


def rss(title: str, items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 document; items are (title, link, pubDate or updated marker)."""
    entries = "".join(
        f"<item><title>{html.escape(item_title)}</title><link>{html.escape(link)}</link><guid>{html.escape(link)}"
        f"</guid><pubDate>{when}</pubDate></item>" for item_title, link, when in items
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{html.escape(title)}</title>"
            f"<link>http://127.0.0.1/</link><description>test</description>{entries}</channel></rss>")


def atom(title: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<entry><title>{html.escape(item_title)}</title><link href='{html.escape(link)}'/><id>{html.escape(link)}</id>"
        f"<updated>{updated}</updated></entry>" for item_title, link, updated in items
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>{html.escape(title)}</title><id>urn:test</id><updated>2025-07-12T10:00:00Z</updated>{entries}"
            "</feed>")


PUB_DATE = "Sat, 12 Jul 2025 10:00:00 +0700"


def serve_seed_site(site: Site, prefix: str = "/news", etag: str | None = '"v1"') -> list[str]:
    """The seeds as pages under ``prefix`` and an RSS feed of them at ``prefix``/rss.xml; returns the page URLs."""
    urls = []
    items = []
    for number, story in enumerate(seed_stories()):
        path = f"{prefix}/{number}"
        site.static(path, article_html(story))
        urls.append(site.url(path))
        items.append((story.title, site.url(path), PUB_DATE))
    site.static(f"{prefix}/rss.xml", rss("Seed news", items), "application/rss+xml", etag=etag,
                last_modified=datetime(2025, 7, 12, 3, 0, tzinfo=UTC))
    return urls


def shared_pages(limit: int) -> list[tuple[str, bytes]]:
    """Up to ``limit`` (name, html bytes) from the shared extraction pages, or none when absent."""
    if not SHARED_PAGES.is_dir():
        return []
    found = []
    for path in sorted(SHARED_PAGES.glob("*/*.html.gz"))[: limit * 5]:
        data = gzip.decompress(path.read_bytes())
        if b"<p" in data and len(data) < 2_000_000:
            found.append((path.name.removesuffix(".html.gz"), data))
        if len(found) >= limit:
            break
    return found


def slow_chunks(total: int, every: float, chunk: bytes = b" ") -> Iterator[bytes]:
    for _ in range(total):
        yield chunk
        time.sleep(every)


def endless(chunk_size: int = 64 * 1024, limit: int = 100 * 1024 * 1024) -> Iterator[bytes]:
    """100 MB of a feed-looking body, in chunks (stops early when the client hangs up)."""
    yield b"<?xml version='1.0'?><rss version='2.0'><channel><title>huge</title>"
    sent = 0
    filler = b"<item><title>x</title><link>http://127.0.0.1/x</link></item>" * (chunk_size // 60)
    while sent < limit:
        yield filler
        sent += len(filler)


