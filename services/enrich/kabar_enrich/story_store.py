"""Where the story grouper keeps its state: Redis (services mode) or SQLite (embedded mode).

Both keep the same three things:
- each article's story (the first answer wins, so a redelivered message gets the same story);
- each story's grouping state (``Story.encode``);
- posting lists from a term to the stories filed under it, scored by the story's last date.

A lookup reads, for each of the article's terms, at most ``POSTING_LIMIT`` stories whose last
date lies within the window of the article's date, newest first; counts how many of the terms
each story shares; and returns the ``MAX_CANDIDATES`` stories sharing most. Its cost depends on
those two bounds, not on how many stories the archive holds. Redis also trims each posting list
to its newest ``POSTING_KEEP`` stories, so memory per term is bounded too.

Redis: one script call to look up (the article's story, its original's story, the candidates and
their state) and one to save, with the retention ledger's touch in the same round trip: two round
trips per new article. With a ledger (``KABAR_STATE_RETENTION_DAYS``), a story no article joined for
the retention window is forgotten -- its state, its postings and its articles' assignments.
Keys: ``{prefix}:stories:article`` (hash article -> story), ``{prefix}:stories:story`` (hash story ->
state), ``{prefix}:stories:post:{term}`` (sorted set story -> last date, epoch seconds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import redis

from kabar.contract.retention import RetentionLedger
from kabar.contract.state import connect, immediate
from kabar_enrich.stories import MAX_CANDIDATES, POSTING_LIMIT, Lookup, Story

POSTING_KEEP: Final = 1000

# KEYS: article hash, story hash, posting sets...  ARGV: article id, duplicate_of or "", lowest score,
# highest score, stories per posting list, candidates.
# Returns {story} for a known article, else {original's story or "", its state or "", story, state, ...}.
_LOOKUP: Final = """
local known = redis.call('HGET', KEYS[1], ARGV[1])
if known then return {known} end
local result = {'', ''}
if ARGV[2] ~= '' then
  local original = redis.call('HGET', KEYS[1], ARGV[2])
  local state = original and redis.call('HGET', KEYS[2], original)
  if state then result[1] = original; result[2] = state end
end
local counts, order = {}, {}
for i = 3, #KEYS do
  for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[i], ARGV[4], ARGV[3], 'LIMIT', 0, ARGV[5])) do
    if counts[id] == nil then counts[id] = 0; order[#order + 1] = id end
    counts[id] = counts[id] + 1
  end
end
table.sort(order, function(a, b) if counts[a] ~= counts[b] then return counts[a] > counts[b] end return a < b end)
for i = 1, math.min(#order, tonumber(ARGV[6])) do
  local state = redis.call('HGET', KEYS[2], order[i])
  if state then result[#result + 1] = order[i]; result[#result + 1] = state end
end
return result
"""

# First answer wins, atomically: an article already placed keeps its story and changes nothing.
# KEYS: article hash, story hash, posting sets to file the story under..., posting sets to take it out of...
# ARGV: article id, story id, state, score (last date), postings kept per term, number of sets to file under.
_SAVE: Final = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return redis.call('HGET', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local filed = 2 + tonumber(ARGV[6])
for i = 3, filed do
  redis.call('ZADD', KEYS[i], ARGV[4], ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(tonumber(ARGV[5]) + 1))
end
for i = filed + 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
return ARGV[2]
"""


def _score(story: Story) -> float:
    filed = story.filed_at
    return filed.timestamp() if filed is not None else 0.0


def _bounds(moment: datetime | None, window: timedelta) -> tuple[float, float]:
    """The range of posting scores to read: the window around ``moment``, or everything without one."""
    if moment is None:
        return -math.inf, math.inf
    return moment.timestamp() - window.total_seconds(), moment.timestamp() + window.total_seconds()


def _redis_bound(value: float) -> str | float:
    return value if math.isfinite(value) else ("+inf" if value > 0 else "-inf")


class RedisStoryStore:
    """Ledger members: ``s:<story id>`` for a story (its state and postings), ``a:<article id>`` for an
    article's story (the first answer a redelivered message gets)."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, ledger: RetentionLedger | None = None) -> None:
        self._redis = client
        self._ledger = ledger
        self._prefix = f"{key_prefix}:stories"
        self._articles = f"{self._prefix}:article"
        self._stories = f"{self._prefix}:story"
        self._lookup = client.register_script(_LOOKUP)
        self._save = client.register_script(_SAVE)

    def lookup(self, article_id: str, duplicate_of: str | None, terms: list[str], moment: datetime | None,
               window: timedelta) -> Lookup:
        low, high = _bounds(moment, window)
        found: list[bytes] = self._lookup(
            keys=[self._articles, self._stories, *(self._posting(term) for term in terms)],
            args=[article_id, duplicate_of or "", _redis_bound(low), _redis_bound(high), POSTING_LIMIT,
                  MAX_CANDIDATES])
        if len(found) == 1:
            return Lookup(found[0].decode(), None, [])
        original = Story.decode(found[0].decode(), found[1]) if found[0] else None
        candidates = [Story.decode(found[i].decode(), found[i + 1]) for i in range(2, len(found), 2)]
        return Lookup(None, original, candidates)

    def save(self, story: Story, article_id: str, old_terms: list[str]) -> str:
        dropped = [term for term in old_terms if term not in set(story.index_terms)]
        keys = [self._articles, self._stories, *(self._posting(term) for term in [*story.index_terms, *dropped])]
        pipe = self._redis.pipeline(transaction=False)
        self._save(keys=keys, args=[article_id, story.story_id, story.encode(), _score(story), POSTING_KEEP,
                                    len(story.index_terms)], client=pipe)
        if self._ledger is not None:
            self._ledger.touch(pipe, [f"s:{story.story_id}", f"a:{article_id}"])
        stored: bytes = pipe.execute()[0]
        if self._ledger is not None:
            self._ledger.maybe_sweep(self.forget)
        return stored.decode()

    def forget(self, members: list[bytes]) -> None:
        """Retention: stories (state and postings) and articles' story assignments."""
        story_ids = [member[2:].decode() for member in members if member.startswith(b"s:")]
        article_ids = [member[2:] for member in members if member.startswith(b"a:")]
        states = self._redis.hmget(self._stories, story_ids) if story_ids else []
        pipe = self._redis.pipeline(transaction=True)
        for story_id, state in zip(story_ids, states, strict=True):
            for term in Story.decode(story_id, state).index_terms if state is not None else []:
                pipe.zrem(self._posting(term), story_id)
        if story_ids:
            pipe.hdel(self._stories, *story_ids)
        if article_ids:
            pipe.hdel(self._articles, *article_ids)
        pipe.execute()

    def save_many(self, stories: Sequence[tuple[Story, str]]) -> None:
        """File many new stories at once (a backfill): each (story, the article it holds), one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for story, article_id in stories:
            self._save(keys=[self._articles, self._stories, *(self._posting(term) for term in story.index_terms)],
                       args=[article_id, story.story_id, story.encode(), _score(story), POSTING_KEEP,
                             len(story.index_terms)], client=pipe)
            if self._ledger is not None:
                self._ledger.touch(pipe, [f"s:{story.story_id}", f"a:{article_id}"])
        pipe.execute()

    def _posting(self, term: str) -> str:
        return f"{self._prefix}:post:{term}"


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS story_articles (article_id TEXT PRIMARY KEY, story_id TEXT);
CREATE TABLE IF NOT EXISTS stories (story_id TEXT PRIMARY KEY, body TEXT);
CREATE TABLE IF NOT EXISTS story_postings (term TEXT, story_id TEXT, last REAL, PRIMARY KEY (term, story_id))
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_postings_by_date ON story_postings (term, last);
DROP TABLE IF EXISTS story_terms;  -- the unbounded postings of before: superseded by story_postings
"""


class SqliteStoryStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._db.executescript(_SCHEMA)

    def lookup(self, article_id: str, duplicate_of: str | None, terms: list[str], moment: datetime | None,
               window: timedelta) -> Lookup:
        known = self._story_of(article_id)
        if known is not None:
            return Lookup(known, None, [])
        original = self._story_of(duplicate_of) if duplicate_of else None
        found = self._states([original]) if original else []
        return Lookup(None, found[0] if found else None, self._states(self._candidates(terms, moment, window)))

    def save(self, story: Story, article_id: str, old_terms: list[str]) -> str:
        with immediate(self._db):
            if self._place(article_id, story.story_id):
                self._store(story, old_terms)
        return self._story_of(article_id) or story.story_id

    def save_many(self, stories: Sequence[tuple[Story, str]]) -> None:
        """File many new stories at once (a backfill): each (story, the article it holds), one transaction."""
        with immediate(self._db):
            for story, article_id in stories:
                if self._place(article_id, story.story_id):
                    self._store(story, [])

    def _place(self, article_id: str, story_id: str) -> bool:
        """Record the article's story unless it has one (the first answer wins); whether this placed it."""
        return bool(self._db.execute("INSERT OR IGNORE INTO story_articles VALUES (?, ?)",
                                     (article_id, story_id)).rowcount)

    def _store(self, story: Story, old_terms: list[str]) -> None:
        self._db.execute("INSERT OR REPLACE INTO stories VALUES (?, ?)", (story.story_id, story.encode()))
        self._db.executemany("DELETE FROM story_postings WHERE term = ? AND story_id = ?",
                             [(term, story.story_id) for term in set(old_terms) - set(story.index_terms)])
        self._db.executemany("INSERT OR REPLACE INTO story_postings VALUES (?, ?, ?)",
                             [(term, story.story_id, _score(story)) for term in story.index_terms])

    def _story_of(self, article_id: str) -> str | None:
        row = self._db.execute("SELECT story_id FROM story_articles WHERE article_id = ?", (article_id,)).fetchone()
        return str(row[0]) if row else None

    def _candidates(self, terms: Sequence[str], moment: datetime | None, window: timedelta) -> list[str]:
        if not terms:
            return []
        # Each posting list is read through the (term, last) index, newest first and capped.
        one_term = ("SELECT * FROM (SELECT story_id FROM story_postings WHERE term = ? AND last BETWEEN ? AND ? "
                    "ORDER BY last DESC LIMIT ?)")
        low, high = _bounds(moment, window)
        rows = self._db.execute(
            f"SELECT story_id FROM ({' UNION ALL '.join([one_term] * len(terms))}) "
            "GROUP BY story_id ORDER BY COUNT(*) DESC, story_id LIMIT ?",
            [value for term in terms for value in (term, low, high, POSTING_LIMIT)] + [MAX_CANDIDATES]).fetchall()
        return [row[0] for row in rows]

    def _states(self, story_ids: list[str]) -> list[Story]:
        if not story_ids:
            return []
        marks = ",".join("?" * len(story_ids))
        rows = dict(self._db.execute(f"SELECT story_id, body FROM stories WHERE story_id IN ({marks})", story_ids))
        return [Story.decode(story_id, rows[story_id]) for story_id in story_ids if story_id in rows]
