"""Retention of the Redis state that grows with the archive, on a real Redis: old state goes, recent stays.

Each store is written through its own API with a retention ledger (kabar.contract.retention). A batch
is written, a moment is noted, a second batch is written; a sweep "a window after that moment" must
forget exactly the first batch and leave the second. Where a store keeps an item in several places
(the near-duplicate index: id, record, buckets), all of them must go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from conftest import TEST_REDIS_URL
from kabar.contract.retention import RetentionLedger
from kabar_enrich.fingerprint import fingerprint
from kabar_enrich.neardup import NearDuplicateIndex, RedisLinkStore
from kabar_enrich.stories import Story
from kabar_enrich.story_features import StoryFeatures
from kabar_enrich.story_store import RedisStoryStore
from kabar_ingest.corrections import RedisVersionStore, Version
from kabar_ingest.repeats import RedisSeenStore

PREFIX = "kabar-retention-test"
WINDOW_DAYS = 30.0
SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    connection: redis.Redis[bytes] = redis.Redis.from_url(TEST_REDIS_URL)
    yield connection
    connection.close()


def ledger(client: redis.Redis[bytes], store: str) -> RetentionLedger:
    return RetentionLedger(client, PREFIX, store, WINDOW_DAYS, sweep_interval=3600)


def sweep_a_window_after(the_ledger: RetentionLedger, moment: float, forget: Callable[[list[bytes]], None]) -> int:
    return the_ledger.sweep(forget, now=moment + WINDOW_DAYS * 86400)


def keys(client: redis.Redis[bytes], pattern: str) -> set[bytes]:
    return set(client.scan_iter(f"{PREFIX}:{pattern}"))


def written_then_marked(write_old: Callable[[], Any], write_new: Callable[[], Any]) -> float:
    """Write the old batch, note the time, write the new batch; the noted time lies strictly between."""
    write_old()
    time.sleep(0.01)
    moment = time.time()
    time.sleep(0.01)
    write_new()
    return moment


def test_seen_content_hashes_are_forgotten_after_the_window(client: redis.Redis[bytes]) -> None:
    the_ledger = ledger(client, "seen")
    store = RedisSeenStore(client, PREFIX, the_ledger)
    moment = written_then_marked(lambda: [store.remember(f"old-{i}", f"hash-old-{i}") for i in range(3)],
                                 lambda: store.remember("new", "hash-new"))
    assert all(store.seen(f"hash-old-{i}") for i in range(3))
    assert sweep_a_window_after(the_ledger, moment, store.forget) == 3
    assert not any(store.seen(f"hash-old-{i}") for i in range(3))
    assert store.seen("hash-new")
    assert the_ledger.size() == 1


def test_versions_are_forgotten_after_the_window(client: redis.Redis[bytes]) -> None:
    the_ledger = ledger(client, "versions")
    store = RedisVersionStore(client, PREFIX, ledger=the_ledger)

    def version(number: int) -> Version:
        return Version(version=number, content_hash=f"h{number}", title="t", text="isi berita")

    moment = written_then_marked(lambda: [store.add("old", version(1)), store.add("old", version(2))],
                                 lambda: store.add("new", version(1)))
    assert len(store.history("old")) == 2
    assert sweep_a_window_after(the_ledger, moment, store.forget) == 1
    assert store.history("old") == []
    assert [v.version for v in store.history("new")] == [1]


def test_the_near_duplicate_index_forgets_old_articles_everywhere(client: redis.Redis[bytes]) -> None:
    the_ledger = ledger(client, "neardup")
    index = NearDuplicateIndex(RedisLinkStore(client, PREFIX, the_ledger))
    texts = [path.read_text() for path in SEEDS]
    prints = [fingerprint("", text, 128) for text in texts]
    for position, print_ in enumerate(prints):
        index.link(f"seed-{position}", print_)
    assert keys(client, "lsh:b:*") and keys(client, "lsh:rec:*") and keys(client, "lsh:id:*")

    # The five seeds share one record shard, written before the moment: a window later they all go.
    moment = written_then_marked(lambda: None, lambda: None)
    assert sweep_a_window_after(the_ledger, moment, RedisLinkStore(client, PREFIX).forget) == 1
    assert keys(client, "lsh:b:*") == set(), "bucket entries left behind"
    assert keys(client, "lsh:rec:*") == set() and keys(client, "lsh:bands:*") == set()
    assert keys(client, "lsh:id:*") == set()
    # Forgotten means new: the same article again is stored afresh, not linked to a ghost.
    assert index.link("seed-0-again", prints[0]) is None
    assert index.link("seed-0-copy", prints[0]) == "seed-0-again"


def test_the_near_duplicate_index_keeps_what_is_recent(client: redis.Redis[bytes]) -> None:
    the_ledger = ledger(client, "neardup")
    index = NearDuplicateIndex(RedisLinkStore(client, PREFIX, the_ledger))
    print_ = fingerprint("", SEEDS[0].read_text(), 128)
    index.link("seed-0", print_)
    assert the_ledger.sweep(RedisLinkStore(client, PREFIX).forget) == 0
    assert index.link("seed-0-copy", print_) == "seed-0"


def test_stories_and_their_articles_are_forgotten_after_the_window(client: redis.Redis[bytes]) -> None:
    the_ledger = ledger(client, "stories")
    store = RedisStoryStore(client, PREFIX, the_ledger)
    moment = datetime(2025, 7, 12, tzinfo=UTC)
    window = timedelta(days=7)

    def story(story_id: str, words: list[str]) -> Story:
        made = Story(story_id)
        made.absorb(StoryFeatures(body=dict.fromkeys(words, 1.0), lead={}, names={}, moment=moment))
        return made

    old, new = story("story-old", ["kim", "jong"]), story("story-new", ["lavrov", "kim"])
    written = written_then_marked(lambda: [store.save(old, "article-1", []), store.save(old, "article-2", [])],
                                  lambda: store.save(new, "article-3", []))

    def known(article_id: str) -> str | None:
        return store.lookup(article_id, None, [], moment, window).known

    assert known("article-1") == "story-old"
    assert sweep_a_window_after(the_ledger, written, store.forget) == 3  # the story and its two articles
    assert known("article-1") is None and known("article-2") is None
    found = store.lookup("article-4", "article-1", ["kim", "jong"], moment, window)
    assert found.duplicate_story is None
    assert [candidate.story_id for candidate in found.candidates] == ["story-new"]
    assert keys(client, "stories:post:jong") == set()
    assert known("article-3") == "story-new"


def test_a_window_of_zero_keeps_everything_and_writes_no_ledger(client: redis.Redis[bytes]) -> None:
    the_ledger = RetentionLedger(client, PREFIX, "seen", 0)
    store = RedisSeenStore(client, PREFIX, the_ledger)
    store.remember("a", "hash-a")
    assert the_ledger.size() == 0
    assert the_ledger.sweep(store.forget, now=1e12) == 0
    assert store.seen("hash-a")
