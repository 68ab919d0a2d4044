"""The ingest stage: ``RawDocument`` in, cleaned ``Article`` with a stable id out."""

from __future__ import annotations

import logging
from datetime import datetime

import redis
from pydantic import BaseModel

from kabar.contract import metrics
from kabar.contract.celery_app import Payload, PermanentError
from kabar.contract.messages import Article, RawDocument
from kabar.contract.metrics import STAGE_SKIPPED
from kabar.contract.settings import KabarSettings
from kabar_ingest.cleaning import clean_text
from kabar_ingest.extraction import extract_html
from kabar_ingest.identity import InvalidUrl, article_id, canonical_url, content_hash, source_domain
from kabar_ingest.repeats import RedisSeenStore, SeenStore, SqliteSeenStore

log = logging.getLogger(__name__)
MIN_BODY_CHARS = 20


class IngestHandler:
    def __init__(self, seen: SeenStore) -> None:
        self._seen = seen

    def handle(self, payload: Payload) -> Article | None:
        article = build_article(RawDocument.model_validate(payload))
        if self._seen.seen(article.content_hash):
            STAGE_SKIPPED.labels("ingest").inc()
            log.info("exact repeat of an ingested article, skipped: %s", article.id)
            return None
        return article

    def after_forward(self, result: BaseModel) -> None:
        if isinstance(result, Article):
            self._seen.remember(result.id, result.content_hash)


def build_article(raw: RawDocument) -> Article:
    url = raw.url
    published_at: datetime | None = raw.published_at
    if raw.format == "html":
        page = extract_html(raw.content, url)
        body, title_hint, url = page.text, raw.title or page.title, url or page.url
    else:
        body, title_hint = raw.content, raw.title
    cleaned = clean_text(body, title_hint)
    has_body = len(cleaned.text) >= MIN_BODY_CHARS
    metrics.observe_page(url, has_body)
    if not has_body:
        metrics.observe_source_failure(url, "no_body")
        raise PermanentError(f"no article text found ({len(cleaned.text)} characters after cleaning)")
    canonical = _canonical_or_refuse(url)
    text_hash = content_hash(cleaned.title, cleaned.text)
    return Article(
        id=article_id(canonical, text_hash),
        url=canonical,
        source_domain=source_domain(canonical) if canonical else None,
        title=cleaned.title,
        text=cleaned.text,
        content_hash=text_hash,
        published_at=published_at,
        received_at=raw.received_at,
    )


def _canonical_or_refuse(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return canonical_url(url)
    except InvalidUrl as exc:
        metrics.observe_source_failure(url, "bad_url")
        raise PermanentError(f"bad URL: {exc}") from exc


def build_handler(settings: KabarSettings) -> IngestHandler:
    seen: SeenStore
    if settings.state_backend_name == "redis":
        seen = RedisSeenStore(redis.Redis.from_url(settings.redis_url), settings.key_prefix)
    else:
        seen = SqliteSeenStore(settings.sqlite_state_path)
    return IngestHandler(seen)
