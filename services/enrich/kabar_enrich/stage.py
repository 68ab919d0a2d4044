"""The enrich stage: ``Article`` in, ``EnrichedArticle`` (language, entities, date, links) out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import redis
from pydantic import BaseModel

from kabar.contract.messages import Article, EnrichedArticle, LanguageSpan
from kabar.contract.retention import open_ledger
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import Payload
from kabar.contract.state import state_store
from kabar_enrich.canonical import NameTable, canonicalise
from kabar_enrich.dates import date_from_text
from kabar_enrich.entities import EntityRecognizer
from kabar_enrich.entity_rules import refine
from kabar_enrich.fingerprint import fingerprint
from kabar_enrich.language import LanguageDetector
from kabar_enrich.loader import shared
from kabar_enrich.neardup import LinkStore, NearDuplicateIndex, RedisLinkStore, SqliteLinkStore
from kabar_enrich.stories import StoryGrouper, StoryStore
from kabar_enrich.story_features import StoryVectorizer, default_model
from kabar_enrich.story_store import RedisStoryStore, SqliteStoryStore

# A guess on too little or mixed text is reported with at most this confidence, so that
# consumers reading only the number do not trust it (the detector's ``reliable`` flag).
UNRELIABLE_CONFIDENCE_CAP = 0.5
# What enrich reads of an article: 20 times a long news article (~10,000 characters). A 10 MB text
# (the size limit) read whole took an enrich worker to 1.5 GB (its shingles, terms and tokens);
# the article keeps all its text, in the index too. benchmarks/memory.py measures it.
MAX_ANALYSED_CHARS = 200_000


class Enricher:
    """Models are loaded once; the link and story state is whatever store it was given."""

    def __init__(self, detector: LanguageDetector, recognizer: EntityRecognizer, links: NearDuplicateIndex,
                 stories: StoryGrouper, num_perm: int, *, vectorizer: StoryVectorizer | None = None) -> None:
        self._detector = detector
        self._recognizer = recognizer
        self._links = links
        self._stories = stories
        self._num_perm = num_perm
        self._vectorizer = vectorizer or shared(StoryVectorizer)

    def enrich(self, article: Article) -> EnrichedArticle:
        text = article.text[:MAX_ANALYSED_CHARS]
        found = self._detector.detect_article(text)
        guess = found.guess
        spans = refine(text, self._recognizer.extract(text, guess.code), language=guess.code)
        entities = canonicalise(spans, text=text)
        published_at = article.published_at or date_from_text(text, not_after=article.received_at)
        prints = fingerprint(article.title, text, self._num_perm)
        duplicate_of = self._links.link(article.id, prints)
        features = self._vectorizer.features(article.title, text, [entity.canonical for entity in entities],
                                             published_at, article.received_at)
        story_id = self._stories.assign(article.id, features, duplicate_of)
        return EnrichedArticle(
            **article.model_dump(exclude={"schema_version", "published_at"}),
            published_at=published_at,
            language=guess.code,
            language_confidence=round(guess.confidence if guess.reliable
                                      else min(guess.confidence, UNRELIABLE_CONFIDENCE_CAP), 4),
            paragraph_languages=[LanguageSpan(start=p.start, end=p.end, language=p.guess.code,
                                              confidence=p.guess.confidence) for p in found.other_paragraphs],
            entities=entities,
            fingerprint=prints.encode(),
            duplicate_of=duplicate_of,
            story_id=story_id,
        )


class EnrichHandler:
    def __init__(self, enricher: Enricher) -> None:
        self._enricher = enricher

    def handle(self, payload: Payload) -> EnrichedArticle:
        return self._enricher.enrich(Article.model_validate(payload))

    def after_forward(self, result: BaseModel) -> None:
        """Links and stories are recorded while enriching; nothing more to remember."""


def open_state(settings: KabarSettings, sqlite_path: Path | None = None) -> tuple[LinkStore, StoryStore]:
    """The shared near-duplicate and story state: Redis, or a SQLite file (``:memory:`` for a fresh one)."""
    if sqlite_path is not None:
        return SqliteLinkStore(sqlite_path), SqliteStoryStore(sqlite_path)

    def on_redis(client: redis.Redis[bytes], prefix: str) -> tuple[LinkStore, StoryStore]:
        return (RedisLinkStore(client, prefix, open_ledger(client, settings, "neardup")),
                RedisStoryStore(client, prefix, open_ledger(client, settings, "stories")))

    return state_store(settings, on_redis, lambda path: (SqliteLinkStore(path), SqliteStoryStore(path)),
                       settings.sqlite_state_path.name)


def preload_models() -> None:
    """Load every model now (~250 MB). A prefork worker calls this in its parent process, so the
    pool's children share the models' memory (copy-on-write) instead of each loading its own."""
    detector, recognizer = shared(LanguageDetector), shared(EntityRecognizer)
    recognizer.extract("Presiden Joko Widodo bertemu Kim Jong Un di Jakarta.", "id")  # builds lazy tables
    canonicalise([], shared(NameTable))
    shared(StoryVectorizer)
    default_model()
    detector.detect("Ini kalimat pendek untuk memuat tabel bahasa.")


def build_enricher(settings: KabarSettings, sqlite_path: Path | None = None) -> Enricher:
    links, stories = open_state(settings, sqlite_path)
    return Enricher(
        shared(LanguageDetector),
        shared(EntityRecognizer),
        NearDuplicateIndex(links, settings.near_duplicate_threshold, settings.near_duplicate_containment),
        StoryGrouper(stories, settings.story_join_probability, timedelta(days=settings.story_window_days)),
        settings.minhash_permutations,
    )


def build_handler(settings: KabarSettings) -> EnrichHandler:
    return EnrichHandler(build_enricher(settings))
