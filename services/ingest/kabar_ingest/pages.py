"""An HTML page's article: main text, title, author, date and canonical URL; and its raw HTML kept.

Text, title and author come from trafilatura, the publication date from the page's metadata
by htmldate (never guessed from the body), the canonical URL from ``<link rel="canonical">``
(trusted only on the same registrable domain, see ``identity.choose_canonical``).

``RawHtmlStore`` keeps each page's HTML gzip-compressed under ``KABAR_DATA_DIR/raw/`` so a
better extractor can run again later without fetching the page again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import gzip
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Final

import htmldate
import lxml.html
import trafilatura
from lxml.etree import ParserError

from kabar_ingest.extraction import main_text
from kabar_ingest.identity import choose_canonical
from kabar_ingest.reader import without_unsafe_references

BIG_PAGE_CHARS: Final = 1_000_000  # after a page this large, memory is handed back (release_memory)


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC: Final = _glibc()

# A date without a zone is read in WIB, as the enrich stage does (most sources are Indonesian).
DEFAULT_ZONE: Final = timezone(timedelta(hours=7))
EARLIEST_DATE: Final = datetime(1990, 1, 1, tzinfo=UTC)
_ID: Final = re.compile(r"^[0-9a-f]{16,128}$")


@dataclass(frozen=True, slots=True)
class Page:
    text: str
    title: str | None
    site_name: str | None  # og:site_name or the like, as the page gives it
    author: str | None
    published_at: datetime | None
    declared_canonical: str | None  # what the page's <link rel="canonical"> says, as written
    url: str | None  # the URL to identify the page by: the trusted canonical, else the page's own


def read_page(html: str, url: str | None = None, not_after: datetime | None = None) -> Page:
    """The page's text and metadata; after a big page, the memory its parse trees took goes back to the OS."""
    try:
        return _read_page(html, url, not_after)
    finally:
        if len(html) > BIG_PAGE_CHARS:
            release_memory()


def release_memory() -> None:
    """Collect the parse trees' cycles and hand free heap pages back to the OS (glibc keeps them otherwise:
    one big page would leave a worker hundreds of MB larger for good)."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _read_page(html: str, url: str | None, not_after: datetime | None) -> Page:
    html = without_unsafe_references(html)
    text = main_text(html, url)
    metadata = trafilatura.extract_metadata(html, default_url=url)
    title = metadata.title if metadata is not None else None
    author = metadata.author if metadata is not None else None
    declared = canonical_link(html)
    fallback = url or (metadata.url if metadata is not None else None)
    site_name = metadata.sitename if metadata is not None else None
    return Page(text=text, title=title, site_name=site_name, author=author, published_at=page_date(html, not_after),
                declared_canonical=declared, url=choose_canonical(fallback, declared))


def canonical_link(html: str) -> str | None:
    """The href of the page's first ``<link rel="canonical">``, or None."""
    try:
        tree = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            return href
    return None


def page_date(html: str, not_after: datetime | None = None) -> datetime | None:
    """The publication date in the page's metadata (htmldate), in UTC; None when absent or implausible."""
    try:
        found = htmldate.find_date(html, extensive_search=False, original_date=True,
                                   outputformat="%Y-%m-%dT%H:%M:%S%z")
    except (ValueError, TypeError):
        return None
    if not found:
        return None
    try:
        parsed = datetime.fromisoformat(found)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=DEFAULT_ZONE)
    parsed = parsed.astimezone(UTC)
    latest = (not_after or datetime.now(UTC)) + timedelta(days=1)
    return parsed if EARLIEST_DATE <= parsed <= latest else None


class RawHtmlStore:
    """Pages' HTML as ``<dir>/<article id>.html.gz``, the latest version of each; written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, article_id: str) -> Path:
        if not _ID.match(article_id):
            raise ValueError(f"not an article id: {article_id!r}")
        return self.directory / f"{article_id}.html.gz"

    def put(self, article_id: str, html: str) -> Path:
        target = self.path(article_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(gzip.compress(html.encode("utf-8"), compresslevel=6, mtime=0))
            Path(temporary).replace(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def get(self, article_id: str) -> str | None:
        try:
            data = self.path(article_id).read_bytes()
        except FileNotFoundError:
            return None
        return gzip.decompress(data).decode("utf-8")
