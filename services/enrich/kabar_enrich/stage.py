"""The enrich stage: ``Article`` in, ``EnrichedArticle`` (language, entities, links) out."""

from __future__ import annotations

import redis
from pydantic import BaseModel

from kabar.contract.celery_app import Payload
from kabar.contract.messages import Article, EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_enrich.canonical import canonicalise
from kabar_enrich.entities import EntityRecognizer
from kabar_enrich.fingerprint import encode, minhash
from kabar_enrich.language import LanguageDetector
from kabar_enrich.neardup import LinkStore, NearDuplicateIndex, RedisLinkStore, SqliteLinkStore


class EnrichHandler:
    def __init__(self, detector: LanguageDetector, recognizer: EntityRecognizer,
                 links: NearDuplicateIndex, num_perm: int) -> None:
        self._detector = detector
        self._recognizer = recognizer
        self._links = links
        self._num_perm = num_perm

    def handle(self, payload: Payload) -> EnrichedArticle:
        return self.enrich(Article.model_validate(payload))

    def enrich(self, article: Article) -> EnrichedArticle:
        guess = self._detector.detect(article.text)
        spans = self._recognizer.extract(article.text, guess.code)
        signature = minhash(f"{article.title}\n{article.text}", self._num_perm)
        links = self._links.link(article.id, signature.hashvalues)
        return EnrichedArticle(
            **article.model_dump(exclude={"schema_version"}),
            language=guess.code,
            language_confidence=round(guess.confidence, 4),
            entities=canonicalise(spans),
            fingerprint=encode(signature),
            duplicate_of=links.duplicate_of,
            story_id=links.story_id,
        )

    def after_forward(self, result: BaseModel) -> None:
        """Links are recorded in ``enrich``; nothing more to remember."""


def open_link_store(settings: KabarSettings) -> LinkStore:
    if settings.state_backend_name == "redis":
        return RedisLinkStore(redis.Redis.from_url(settings.redis_url), settings.key_prefix)
    return SqliteLinkStore(settings.sqlite_state_path)


def build_handler(settings: KabarSettings) -> EnrichHandler:
    index = NearDuplicateIndex(open_link_store(settings), settings.minhash_permutations,
                               settings.near_duplicate_threshold)
    return EnrichHandler(LanguageDetector(), EntityRecognizer(), index, settings.minhash_permutations)
