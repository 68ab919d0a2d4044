"""Same-story grouping: articles about one event share a ``story_id``, however rewritten.

Signals that generalise, not rules tuned to any outlet:
- content: cosine similarity of TF-IDF vectors of the words (document frequencies from
  a news corpus, ``models/idf.json``) plus the article's canonical entities;
- time: an article joins a story only if its publication date lies within
  ``window`` of the story's known dates (an unknown date does not veto);
- near-duplicates join their original's story directly.

Each story keeps the sum of its articles' vectors (its strongest ``STORY_TERMS`` terms)
and the span of its dates; an inverted index from terms to stories finds candidates.
Stored in Redis (services mode) or SQLite (embedded mode); the first answer for an
article is kept, so a redelivered message gets the same story.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import redis

from kabar.contract.retention import RetentionLedger
from kabar.contract.state import connect, immediate
from kabar_enrich.fingerprint import words
from kabar_enrich.loader import shared

IDF_PATH = Path(__file__).parent / "models" / "idf.json"
ARTICLE_TERMS = 40
STORY_TERMS = 80
LOOKUP_TERMS = 15
MAX_CANDIDATES = 50
ENTITY_PREFIX = "e:"

Vector = dict[str, float]


@dataclass
class Story:
    story_id: str
    vector: Vector
    first: datetime | None = None
    last: datetime | None = None
    size: int = 0
    index_terms: list[str] = field(default_factory=list)

    def absorb(self, vector: Vector, published_at: datetime | None) -> None:
        merged = Counter(self.vector)
        merged.update(vector)
        self.vector = normalise(dict(merged.most_common(STORY_TERMS)))
        if published_at is not None:
            self.first = min(self.first or published_at, published_at)
            self.last = max(self.last or published_at, published_at)
        self.size += 1
        self.index_terms = top_terms(self.vector, LOOKUP_TERMS)

    def accepts_date(self, published_at: datetime | None, window: timedelta) -> bool:
        if published_at is None or self.first is None or self.last is None:
            return True
        return self.first - window <= published_at <= self.last + window


def normalise(vector: Vector) -> Vector:
    norm = math.sqrt(sum(weight * weight for weight in vector.values()))
    return {term: weight / norm for term, weight in vector.items()} if norm else {}


def cosine(left: Vector, right: Vector) -> float:
    small, large = (left, right) if len(left) <= len(right) else (right, left)
    return sum(weight * large.get(term, 0.0) for term, weight in small.items())


def top_terms(vector: Vector, count: int) -> list[str]:
    return [term for term, _ in sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:count]]


class StoryVectorizer:
    """TF-IDF over words, with canonical entities as extra, rare terms."""

    def __init__(self, idf_path: Path = IDF_PATH) -> None:
        table = json.loads(idf_path.read_text(encoding="utf-8"))
        self._documents = int(table["documents"])
        self._df: dict[str, int] = table["df"]
        self._unseen_idf = math.log(self._documents + 1)

    def idf(self, term: str) -> float:
        return math.log((self._documents + 1) / (self._df.get(term, 0) + 1))

    def vector(self, text: str, entities: Iterable[str] = ()) -> Vector:
        counts = Counter(word for word in words(text) if len(word) > 2 and not word.isdigit())
        weights = {word: (1.0 + math.log(count)) * self.idf(word) for word, count in counts.items()}
        for name, count in Counter(entities).items():
            weights[ENTITY_PREFIX + name.casefold()] = (1.0 + math.log(count)) * self._unseen_idf
        return normalise(dict(sorted(weights.items(), key=lambda item: -item[1])[:ARTICLE_TERMS]))


class StoryStore(Protocol):
    def story_of(self, article_id: str) -> str | None: ...
    def candidates(self, terms: list[str], limit: int) -> list[str]: ...
    def get_many(self, story_ids: list[str]) -> list[Story]: ...
    def save(self, story: Story, article_id: str, old_terms: list[str]) -> str: ...


class StoryGrouper:
    def __init__(self, store: StoryStore, threshold: float, window: timedelta,
                 vectorizer: StoryVectorizer | None = None) -> None:
        self._store = store
        self._threshold = threshold
        self._window = window
        self._vectorizer = vectorizer or shared(StoryVectorizer)

    def assign(self, article_id: str, text: str, entities: Iterable[str], published_at: datetime | None,
               duplicate_of: str | None) -> str:
        known = self._store.story_of(article_id)
        if known is not None:
            return known
        vector = self._vectorizer.vector(text, entities)
        story = self._story_to_join(vector, published_at, duplicate_of)
        if story is None:
            story = Story(story_id=article_id, vector={})
        old_terms = list(story.index_terms)
        story.absorb(vector, published_at)
        return self._store.save(story, article_id, old_terms)

    def _story_to_join(self, vector: Vector, published_at: datetime | None, duplicate_of: str | None) -> Story | None:
        if duplicate_of is not None:
            original_story = self._store.story_of(duplicate_of)
            if original_story is not None:
                found = self._store.get_many([original_story])
                if found:
                    return found[0]
        candidates = self._store.get_many(self._store.candidates(top_terms(vector, LOOKUP_TERMS), MAX_CANDIDATES))
        scored = [(cosine(vector, story.vector), story) for story in candidates
                  if story.accepts_date(published_at, self._window)]
        best = max(scored, key=lambda pair: (pair[0], pair[1].size), default=None)
        return best[1] if best is not None and best[0] >= self._threshold else None


def _encode(story: Story) -> str:
    return json.dumps({"vector": story.vector, "size": story.size, "terms": story.index_terms,
                       "first": story.first.isoformat() if story.first else None,
                       "last": story.last.isoformat() if story.last else None})


def _decode(story_id: str, raw: str | bytes) -> Story:
    data = json.loads(raw)
    return Story(story_id=story_id, vector=data["vector"], size=data["size"], index_terms=data["terms"],
                 first=datetime.fromisoformat(data["first"]) if data["first"] else None,
                 last=datetime.fromisoformat(data["last"]) if data["last"] else None)


class RedisStoryStore:
    """With a ledger, a story no article joined for the retention window is forgotten with its articles.

    Ledger members: ``s:<story id>`` for a story (its state and its term postings), ``a:<article id>`` for
    an article's story (the first answer a redelivered message gets).
    """

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, ledger: RetentionLedger | None = None) -> None:
        self._redis = client
        self._prefix = f"{key_prefix}:stories"
        self._ledger = ledger

    def story_of(self, article_id: str) -> str | None:
        found = self._redis.hget(f"{self._prefix}:article", article_id)
        return found.decode() if found else None

    def candidates(self, terms: list[str], limit: int) -> list[str]:
        pipe = self._redis.pipeline(transaction=False)
        for term in terms:
            pipe.smembers(f"{self._prefix}:term:{term}")
        shared: Counter[str] = Counter(member.decode() for members in pipe.execute() for member in members)
        return [story_id for story_id, _ in shared.most_common(limit)]

    def get_many(self, story_ids: list[str]) -> list[Story]:
        if not story_ids:
            return []
        raw = self._redis.hmget(f"{self._prefix}:story", story_ids)
        return [_decode(story_id, item) for story_id, item in zip(story_ids, raw, strict=True) if item is not None]

    def save(self, story: Story, article_id: str, old_terms: list[str]) -> str:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hsetnx(f"{self._prefix}:article", article_id, story.story_id)
        pipe.hset(f"{self._prefix}:story", story.story_id, _encode(story))
        for term in set(old_terms) - set(story.index_terms):
            pipe.srem(f"{self._prefix}:term:{term}", story.story_id)
        for term in story.index_terms:
            pipe.sadd(f"{self._prefix}:term:{term}", story.story_id)
        if self._ledger:
            self._ledger.touch(pipe, [f"s:{story.story_id}", f"a:{article_id}"])
        pipe.hget(f"{self._prefix}:article", article_id)  # the story it has now, in the same round trip
        assigned = pipe.execute()[-1]
        if self._ledger:
            self._ledger.maybe_sweep(self.forget)
        return assigned.decode() if assigned else story.story_id

    def forget(self, members: list[bytes]) -> None:
        """Retention: stories (state and postings) and articles' story assignments."""
        story_ids = [member[2:].decode() for member in members if member.startswith(b"s:")]
        article_ids = [member[2:] for member in members if member.startswith(b"a:")]
        pipe = self._redis.pipeline(transaction=True)
        for story in self.get_many(story_ids):
            for term in story.index_terms:
                pipe.srem(f"{self._prefix}:term:{term}", story.story_id)
        if story_ids:
            pipe.hdel(f"{self._prefix}:story", *story_ids)
        if article_ids:
            pipe.hdel(f"{self._prefix}:article", *article_ids)
        pipe.execute()


class SqliteStoryStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS story_articles (article_id TEXT PRIMARY KEY, story_id TEXT);
            CREATE TABLE IF NOT EXISTS stories (story_id TEXT PRIMARY KEY, body TEXT);
            CREATE TABLE IF NOT EXISTS story_terms (term TEXT, story_id TEXT, PRIMARY KEY (term, story_id))
                WITHOUT ROWID;
            """
        )

    def story_of(self, article_id: str) -> str | None:
        row = self._db.execute("SELECT story_id FROM story_articles WHERE article_id = ?", (article_id,)).fetchone()
        return str(row[0]) if row else None

    def candidates(self, terms: list[str], limit: int) -> list[str]:
        marks = ",".join("?" * len(terms))
        rows = self._db.execute(
            f"SELECT story_id FROM story_terms WHERE term IN ({marks}) GROUP BY story_id "
            "ORDER BY COUNT(*) DESC, story_id LIMIT ?", [*terms, limit]).fetchall()
        return [row[0] for row in rows]

    def get_many(self, story_ids: list[str]) -> list[Story]:
        if not story_ids:
            return []
        marks = ",".join("?" * len(story_ids))
        rows = self._db.execute(f"SELECT story_id, body FROM stories WHERE story_id IN ({marks})", story_ids)
        return [_decode(story_id, body) for story_id, body in rows]

    def save(self, story: Story, article_id: str, old_terms: list[str]) -> str:
        with immediate(self._db) as db:
            db.execute("INSERT OR IGNORE INTO story_articles VALUES (?, ?)", (article_id, story.story_id))
            db.execute("INSERT OR REPLACE INTO stories VALUES (?, ?)", (story.story_id, _encode(story)))
            db.executemany("DELETE FROM story_terms WHERE term = ? AND story_id = ?",
                           [(term, story.story_id) for term in set(old_terms) - set(story.index_terms)])
            db.executemany("INSERT OR IGNORE INTO story_terms VALUES (?, ?)",
                           [(term, story.story_id) for term in story.index_terms])
        return self.story_of(article_id) or story.story_id
