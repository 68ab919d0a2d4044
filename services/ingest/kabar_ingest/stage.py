"""The ingest stage: ``RawDocument`` in, cleaned ``Article`` with a stable id out.

What is passed on: a new article, or a correction of a known one (a changed title, or more
than ``KABAR_CORRECTION_THRESHOLD`` of the body's tokens changed; see ``corrections``).
What is dropped: exact repeats (same content hash) and smaller edits of a known article.
Once an article is handed on, its version is recorded and, for an HTML page, its raw HTML
kept compressed (``pages.RawHtmlStore``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import BaseModel

from kabar.contract import metrics
from kabar.contract.failures import PermanentError
from kabar.contract.messages import Article, RawDocument
from kabar.contract.metrics import STAGE_SKIPPED
from kabar.contract.retention import open_ledger
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import Payload
from kabar.contract.state import state_store
from kabar_ingest.cleaning import clean_text
from kabar_ingest.corrections import Version, VersionStore, compare, count_correction, open_version_store
from kabar_ingest.identity import ArticleIdentity, InvalidUrl, article_identity, source_domain
from kabar_ingest.pages import RawHtmlStore, read_page
from kabar_ingest.reader import BadDocument, check_html_shape
from kabar_ingest.repeats import RedisSeenStore, SeenStore, SqliteSeenStore
from kabar_ingest.titles import site_keys

log = logging.getLogger(__name__)
MIN_BODY_CHARS = 20
_MAX_PENDING: Final = 1000


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document's cleaned title and text, the URL to identify it by, and its date."""

    url: str | None
    title: str
    text: str
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Pending:
    version: Version
    html: str | None


class IngestHandler:
    def __init__(self, seen: SeenStore, versions: VersionStore | None = None, raw_html: RawHtmlStore | None = None,
                 correction_threshold: float = 0.02) -> None:
        self._seen = seen
        self._versions = versions
        self._raw_html = raw_html
        self._threshold = correction_threshold
        self._pending: dict[str, _Pending] = {}

    def handle(self, payload: Payload) -> Article | None:
        raw = RawDocument.model_validate(payload)
        article = build_article(raw)
        if self._seen.seen(article.content_hash):
            STAGE_SKIPPED.labels("ingest").inc()
            log.info("exact repeat of an ingested article, skipped: %s", article.id)
            return None
        version = Version(version=1, content_hash=article.content_hash, title=article.title, text=article.text)
        previous = self._versions.latest(article.id) if self._versions is not None and article.url else None
        if previous is not None:
            if previous.content_hash == article.content_hash:
                STAGE_SKIPPED.labels("ingest").inc()
                log.info("article %s unchanged since version %d, skipped", article.id, previous.version)
                return None
            change = compare(previous, article.title, article.text, self._threshold)
            if not change.significant:
                STAGE_SKIPPED.labels("ingest").inc()
                log.info("article %s: a minor edit (%.2f%% of tokens, title unchanged), skipped", article.id,
                         100 * change.changed_share)
                return None
            version = version.model_copy(update={"version": previous.version + 1, "title_changed": change.title_changed,
                                                 "changed_share": round(change.changed_share, 4)})
        if len(self._pending) >= _MAX_PENDING:  # outputs that were never forwarded (their message failed)
            self._pending.clear()
        self._pending[article.id] = _Pending(version, raw.content if raw.format == "html" else None)
        return article

    def after_forward(self, result: BaseModel) -> None:
        if not isinstance(result, Article):
            return
        self._seen.remember(result.id, result.content_hash)
        pending = self._pending.pop(result.id, None)
        if pending is None:
            return
        if self._versions is not None and result.url:
            self._versions.add(result.id, pending.version)
            if pending.version.version > 1:
                count_correction()
                log.info("correction: article %s is now version %d", result.id, pending.version.version)
        if self._raw_html is not None and pending.html is not None:
            self._raw_html.put(result.id, pending.html)


def prepare(raw: RawDocument) -> Prepared:
    """Extract (HTML) and clean a document; ``PermanentError`` when no article text is left."""
    url = raw.url
    published_at: datetime | None = raw.published_at
    if raw.format == "html":
        try:  # a message may come from anywhere: the same budget as files, pushes and fetched pages
            check_html_shape(raw.content.encode("utf-8", "replace"))
        except BadDocument as exc:
            raise UnusableDocument(str(exc), url) from None
        page = read_page(raw.content, url, not_after=raw.received_at)
        body, title_hint, url = page.text, raw.title or page.title, page.url
        published_at = published_at or page.published_at
        sites = site_keys([page.site_name, metrics.domain_of(url)])
    else:
        body, title_hint = raw.content, raw.title
        sites = site_keys([metrics.domain_of(url)])
    cleaned = clean_text(body, title_hint, sites)
    if len(cleaned.text) < MIN_BODY_CHARS:
        raise NoArticleText(f"no article text found ({len(cleaned.text)} characters after cleaning)", url)
    return Prepared(url=url, title=cleaned.title, text=cleaned.text, published_at=published_at)


class UnusableDocument(PermanentError):
    """A document ingest cannot turn into an article, with the URL it came from (the source's metrics)."""

    def __init__(self, message: str, url: str | None) -> None:
        super().__init__(message)
        self.url = url


class NoArticleText(UnusableDocument):
    """No article text was found in the document."""


def identify(prepared: Prepared) -> ArticleIdentity:
    """The article's id as ingest gives it (``PermanentError`` for an unusable URL)."""
    try:
        return article_identity(prepared.url, prepared.title, prepared.text)
    except InvalidUrl as exc:
        raise BadArticleUrl(f"bad URL: {exc}", prepared.url) from exc


class BadArticleUrl(UnusableDocument):
    """The document's URL cannot identify an article."""


def build_article(raw: RawDocument) -> Article:
    try:
        prepared = prepare(raw)
    except NoArticleText as exc:
        metrics.observe_page(exc.url, False)
        metrics.observe_source_failure(exc.url, "no_body")
        raise
    metrics.observe_page(prepared.url, True)
    try:
        identity = identify(prepared)
    except BadArticleUrl as exc:
        metrics.observe_source_failure(exc.url, "bad_url")
        raise
    return Article(
        id=identity.id,
        url=identity.url,
        source_domain=source_domain(identity.url) if identity.url else None,
        title=prepared.title,
        text=prepared.text,
        content_hash=identity.content_hash,
        published_at=prepared.published_at,
        received_at=raw.received_at,
    )


def build_handler(settings: KabarSettings) -> IngestHandler:
    seen: SeenStore = state_store(
        settings, lambda client, prefix: RedisSeenStore(client, prefix, open_ledger(client, settings, "seen")),
        SqliteSeenStore, settings.sqlite_state_path.name)
    raw_html = RawHtmlStore(settings.data_dir / "raw") if settings.keep_raw_html else None
    return IngestHandler(seen, open_version_store(settings, settings.versions_kept), raw_html,
                         settings.correction_threshold)
