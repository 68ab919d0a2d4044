"""The Redis near-duplicate store: same answers as SQLite, few round trips, compact buckets."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from redis.connection import Connection

from conftest import SHARED
from kabar_enrich.fingerprint import Fingerprint, fingerprint
from kabar_enrich.neardup import (
    BAND_FIELD_BYTES,
    LinkRecord,
    LinkStore,
    NearDuplicateIndex,
    RedisLinkStore,
    SqliteLinkStore,
    bucket_hashes,
)
from kabar_ingest.cleaning import clean_text

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
DEDUP_DOCS = SHARED / "eval" / "dedup" / "docs.jsonl"
PREFIX = "kabar-test"


class CountingConnection(Connection):
    """Counts what is sent: one send per command, per pipeline, per script call, i.e. per round trip."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    pool = redis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    connection = redis.Redis(connection_pool=pool)
    yield connection
    connection.close()


def random_fingerprint(rng: np.random.Generator) -> Fingerprint:
    values = rng.integers(0, 2**32, size=256, dtype=np.uint32)
    return Fingerprint(values[:128], values[128:], int(rng.integers(50, 1000)))


def variants() -> list[tuple[str, str, str]]:
    """The seed articles and their copies, teasers, light edits and copies of copies, in arrival order."""
    docs = []
    for number, seed in enumerate(SEEDS):
        cleaned = clean_text(seed.read_text())
        title, text = cleaned.title, cleaned.text
        paragraphs = text.split("\n\n")
        words = text.split(" ")
        edited = " ".join("juga" if position % 20 == 7 else word for position, word in enumerate(words))
        docs += [(f"{number}-orig", title, text),
                 (f"{number}-copy", title, "Iklan - Scroll untuk Melanjutkan\n\n" + text),
                 (f"{number}-teaser", title, "\n\n".join(paragraphs[: len(paragraphs) // 2])),
                 (f"{number}-edit", title, edited),
                 (f"{number}-copy-of-edit", title, edited + "\n\nBaca juga: berita lain hari ini")]
    return docs


def links(store: LinkStore, docs: list[tuple[str, str, str]]) -> dict[str, str | None]:
    index = NearDuplicateIndex(store)
    return {doc_id: index.link(doc_id, fingerprint(title, text, 128)) for doc_id, title, text in docs}


def test_redis_and_sqlite_link_seed_variants_alike(client: redis.Redis[bytes], tmp_path: Path) -> None:
    docs = variants()
    random.Random(3).shuffle(docs)
    found = links(RedisLinkStore(client, PREFIX), docs)
    assert found == links(SqliteLinkStore(tmp_path / "links.db"), docs)
    assert sum(root is not None for root in found.values()) >= 3 * len(SEEDS)  # the test has teeth


@pytest.mark.skipif(not DEDUP_DOCS.exists(), reason="../shared/eval is not here")
def test_redis_and_sqlite_link_the_dedup_gold_set_alike(client: redis.Redis[bytes], tmp_path: Path) -> None:
    docs = []
    for line in DEDUP_DOCS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        cleaned = clean_text(row["text"])
        docs.append((row["doc_id"], cleaned.title, cleaned.text))
    random.Random(7).shuffle(docs)
    assert links(RedisLinkStore(client, PREFIX), docs) == links(SqliteLinkStore(tmp_path / "links.db"), docs)


def test_round_trips_per_link(client: redis.Redis[bytes]) -> None:
    rng = np.random.default_rng(1)
    index = NearDuplicateIndex(RedisLinkStore(client, PREFIX))
    index.link("warm-up", random_fingerprint(rng))  # loads the scripts
    original = random_fingerprint(rng)

    def round_trips(article_id: str, prints: Fingerprint) -> tuple[str | None, int]:
        CountingConnection.sends = 0
        answer = index.link(article_id, prints)
        return answer, CountingConnection.sends

    assert round_trips("original", original) == (None, 2)  # lookup, add: no candidate to read
    assert round_trips("copy", original) == ("original", 3)  # lookup, the candidates' records, add
    assert round_trips("copy", random_fingerprint(rng)) == ("original", 2)  # known: lookup, its record


def test_add_many_is_the_add_of_link(client: redis.Redis[bytes]) -> None:
    rng = np.random.default_rng(2)
    store = RedisLinkStore(client, PREFIX)
    prints = [random_fingerprint(rng) for _ in range(50)]
    store.add_many([(f"bulk-{number}", fp, None) for number, fp in enumerate(prints)])
    store.add_many([("bulk-3", prints[3], "someone")])  # already stored: the first answer stays
    index = NearDuplicateIndex(store)
    assert index.link("bulk-3", prints[3]) is None
    assert [index.link(f"copy-{number}", fp) for number, fp in enumerate(prints)] == [
        f"bulk-{number}" for number in range(50)]
    assert index.link("fresh", random_fingerprint(rng)) is None


def test_a_concurrent_worker_storing_the_article_first_wins(client: redis.Redis[bytes]) -> None:
    rng = np.random.default_rng(3)
    ours, theirs = RedisLinkStore(client, PREFIX), NearDuplicateIndex(RedisLinkStore(client, PREFIX))

    def choose_while_another_worker_stores_it(candidates: list[LinkRecord]) -> str | None:
        assert theirs.link("article", random_fingerprint(rng)) is None
        return "an answer given too late"

    assert ours.link("article", random_fingerprint(rng), choose_while_another_worker_stores_it) is None
    assert theirs.link("article", random_fingerprint(rng)) is None


def test_buckets_and_ids_stay_in_compact_hashes(client: redis.Redis[bytes]) -> None:
    rng = np.random.default_rng(4)
    index = NearDuplicateIndex(RedisLinkStore(client, PREFIX))
    original = random_fingerprint(rng)
    for number in range(200):
        index.link(f"article-{number}", original if number % 50 == 0 else random_fingerprint(rng))
    for kind in ("b", "id"):
        keys = list(client.scan_iter(match=f"{PREFIX}:lsh:{kind}:*", count=1000))
        assert keys, kind
        encodings = {client.object("encoding", key) for key in keys}
        assert encodings == {b"listpack"}, (kind, encodings)
    # A bucket that four articles share holds the four sequences, not four keys.
    shared = [client.hget(key, field) for key, field in zip(*_slots(client, original), strict=True)]
    assert all(len((value or b"").split()) == 4 for value in shared), shared


def _slots(client: redis.Redis[bytes], prints: Fingerprint) -> tuple[list[bytes], list[bytes]]:
    """The hashes and fields of a fingerprint's buckets (the store's own placement)."""
    bands = RedisLinkStore(client, PREFIX)._bands(prints)
    width = BAND_FIELD_BYTES
    fields = [bands.fields[at:at + width] for at in range(0, len(bands.fields), width)]
    return bands.keys, fields


def reference_bucket_hash(rows: list[int], band: int) -> int:
    """``bucket_hashes`` for one band in plain integers: multilinear hash, then splitmix64's finaliser."""
    mask = 2**64 - 1
    multipliers = [int.from_bytes(hashlib.blake2b(b"kabar band %d row %d" % (band, row), digest_size=8).digest()) | 1
                   for row in range(len(rows))]
    value = sum(row * multiplier for row, multiplier in zip(rows, multipliers, strict=True)) & mask
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & mask
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & mask
    return value ^ (value >> 31)


def test_bucket_hashes_do_not_change() -> None:
    """They place every bucket in Redis: a change would orphan the index already stored."""
    rng = np.random.default_rng(5)
    prints = random_fingerprint(rng)
    rows = [*prints.full.tolist(), *prints.lead.tolist()]
    assert bucket_hashes(prints).tolist() == [reference_bucket_hash(rows[at:at + 4], at // 4)
                                              for at in range(0, 256, 4)]
    counting = Fingerprint(np.arange(128, dtype=np.uint32), np.arange(128, 256, dtype=np.uint32), 10)
    assert bucket_hashes(counting)[[0, 1, 32, 63]].tolist() == [
        14575039403852108025, 10822096103666452912, 11806874048033932079, 17582093100424377927]
    same_rows = Fingerprint(counting.full, counting.full, 10)
    assert bucket_hashes(same_rows)[0] != bucket_hashes(same_rows)[32]  # whole-text and lead bands apart
