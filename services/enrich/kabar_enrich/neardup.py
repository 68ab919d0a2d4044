"""Link each article to the first-seen article it nearly duplicates.

Locality-sensitive hashing by bands (as in datasketch's MinHashLSH) over a small
key-value store: Redis in the services mode, shared by every enrich worker, SQLite in
the embedded mode, with the same answers. Two band sets are looked up: those of the
whole-text signature (copies, light rewrites) and those of the lead signature (teasers).
Every candidate is then confirmed on the whole-text signature: estimated Jaccard at
least ``jaccard_threshold``, or the smaller text at least ``containment_threshold``
inside the larger (a teaser inside its full article).

``duplicate_of`` always names the first-seen article of the group (the root), so copies
of copies point to the original.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import redis

from kabar_enrich.fingerprint import Fingerprint, Signature, containment, jaccard

# 32 bands of 4 rows on 128 permutations: a pair at Jaccard 0.6 shares a band with
# probability 0.99, a pair of unrelated articles (Jaccard ~0.02) about once in 200,000.
BAND_ROWS = 4


@dataclass(frozen=True, slots=True)
class LinkRecord:
    article_id: str
    signature: Signature
    shingle_count: int
    duplicate_of: str | None
    sequence: int


class LinkStore(Protocol):
    def get_many(self, article_ids: list[str]) -> list[LinkRecord]: ...
    def candidates(self, band_keys: list[str]) -> set[str]: ...
    def add(self, article_id: str, band_keys: list[str], fingerprint: Fingerprint,
            duplicate_of: str | None) -> LinkRecord: ...


def band_keys(signature: Signature, kind: str, rows: int = BAND_ROWS) -> list[str]:
    keys = []
    for band in range(len(signature) // rows):
        chunk = signature[band * rows:(band + 1) * rows].astype("<u4").tobytes()
        keys.append(f"{kind}{band}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


class NearDuplicateIndex:
    def __init__(self, store: LinkStore, jaccard_threshold: float = 0.5,
                 containment_threshold: float = 0.6) -> None:
        self._store = store
        self._jaccard_threshold = jaccard_threshold
        self._containment_threshold = containment_threshold

    def link(self, article_id: str, fingerprint: Fingerprint) -> str | None:
        """The root this article duplicates, if any; asking again gives the same answer."""
        known = self._store.get_many([article_id])
        if known:
            return known[0].duplicate_of
        keys = band_keys(fingerprint.full, "f") + band_keys(fingerprint.lead, "l")
        original = self._first_duplicate(article_id, keys, fingerprint)
        duplicate_of = (original.duplicate_of or original.article_id) if original else None
        return self._store.add(article_id, keys, fingerprint, duplicate_of).duplicate_of

    def is_duplicate(self, record: LinkRecord, fingerprint: Fingerprint) -> bool:
        similarity = jaccard(record.signature, fingerprint.full)
        if similarity >= self._jaccard_threshold:
            return True
        inside = containment(similarity, record.shingle_count, fingerprint.shingle_count)
        return inside >= self._containment_threshold

    def _first_duplicate(self, article_id: str, keys: list[str], fingerprint: Fingerprint) -> LinkRecord | None:
        candidate_ids = sorted(self._store.candidates(keys) - {article_id})
        matches = [record for record in self._store.get_many(candidate_ids)
                   if self.is_duplicate(record, fingerprint)]
        return min(matches, key=lambda record: record.sequence, default=None)


def _record(article_id: str, raw: Mapping[str, object]) -> LinkRecord:
    return LinkRecord(
        article_id=article_id,
        signature=np.frombuffer(bytes.fromhex(str(raw["sig"])), dtype="<u4").astype(np.uint32),
        shingle_count=int(str(raw["size"])),
        duplicate_of=str(raw["dup"]) if raw.get("dup") else None,
        sequence=int(str(raw["seq"])),
    )


class RedisLinkStore:
    """Bands as Redis sets, one JSON record per article; every lookup is one pipelined round trip."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str) -> None:
        self._redis = client
        self._prefix = f"{key_prefix}:lsh"

    def _doc_key(self, article_id: str) -> str:
        return f"{self._prefix}:doc:{article_id}"

    def get_many(self, article_ids: list[str]) -> list[LinkRecord]:
        if not article_ids:
            return []
        raw = self._redis.mget([self._doc_key(article_id) for article_id in article_ids])
        return [_record(article_id, json.loads(item)) for article_id, item in zip(article_ids, raw, strict=True)
                if item is not None]

    def candidates(self, band_keys: list[str]) -> set[str]:
        pipe = self._redis.pipeline(transaction=False)
        for key in band_keys:
            pipe.smembers(f"{self._prefix}:band:{key}")
        return {member.decode() for members in pipe.execute() for member in members}

    def add(self, article_id: str, band_keys: list[str], fingerprint: Fingerprint,
            duplicate_of: str | None) -> LinkRecord:
        record = {"sig": fingerprint.full.astype("<u4").tobytes().hex(), "size": fingerprint.shingle_count,
                  "dup": duplicate_of, "seq": int(self._redis.incr(f"{self._prefix}:sequence"))}
        pipe = self._redis.pipeline(transaction=True)
        # SET NX: a redelivered message must not overwrite the first answer.
        pipe.set(self._doc_key(article_id), json.dumps(record), nx=True)
        for key in band_keys:
            pipe.sadd(f"{self._prefix}:band:{key}", article_id)
        pipe.execute()
        return self.get_many([article_id])[0]


class SqliteLinkStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS lsh_docs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
                                                 sig BLOB, size INTEGER, dup TEXT);
            CREATE TABLE IF NOT EXISTS lsh_bands (band TEXT, id TEXT, PRIMARY KEY (band, id)) WITHOUT ROWID;
            """
        )

    def get_many(self, article_ids: list[str]) -> list[LinkRecord]:
        if not article_ids:
            return []
        marks = ",".join("?" * len(article_ids))
        rows = self._db.execute(f"SELECT id, sig, size, dup, seq FROM lsh_docs WHERE id IN ({marks})",
                                article_ids).fetchall()
        return [LinkRecord(row[0], np.frombuffer(row[1], dtype="<u4").astype(np.uint32), row[2], row[3], row[4])
                for row in rows]

    def candidates(self, band_keys: list[str]) -> set[str]:
        marks = ",".join("?" * len(band_keys))
        rows = self._db.execute(f"SELECT DISTINCT id FROM lsh_bands WHERE band IN ({marks})", band_keys)
        return {row[0] for row in rows}

    def add(self, article_id: str, band_keys: list[str], fingerprint: Fingerprint,
            duplicate_of: str | None) -> LinkRecord:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT OR IGNORE INTO lsh_docs (id, sig, size, dup) VALUES (?, ?, ?, ?)",
                             (article_id, fingerprint.full.astype("<u4").tobytes(), fingerprint.shingle_count,
                              duplicate_of))
            self._db.executemany("INSERT OR IGNORE INTO lsh_bands VALUES (?, ?)",
                                 [(key, article_id) for key in band_keys])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.get_many([article_id])[0]
