"""Link each article to the first-seen article it nearly duplicates.

Locality-sensitive hashing by bands (the banding scheme of datasketch's MinHashLSH, with
its optimal band/row split for the threshold) over a small key-value store, so that the
Redis store is shared by every enrich worker and the SQLite store serves the embedded
mode with the same results. Candidates from the bands are confirmed by the estimated
Jaccard similarity of the full signatures.
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
from datasketch.lsh import _optimal_param

from kabar_enrich.fingerprint import similarity


@dataclass(frozen=True, slots=True)
class LinkRecord:
    article_id: str
    signature: np.ndarray
    duplicate_of: str | None
    story_id: str
    sequence: int


class LinkStore(Protocol):
    def get(self, article_id: str) -> LinkRecord | None: ...
    def candidates(self, band_keys: list[str]) -> set[str]: ...
    def get_many(self, article_ids: list[str]) -> list[LinkRecord]: ...
    def add(self, article_id: str, band_keys: list[str], signature: np.ndarray,
            duplicate_of: str | None, story_id: str) -> LinkRecord: ...


@dataclass(frozen=True, slots=True)
class Links:
    duplicate_of: str | None
    story_id: str


class NearDuplicateIndex:
    def __init__(self, store: LinkStore, num_perm: int, threshold: float) -> None:
        self._store = store
        self._threshold = threshold
        self._bands, self._rows = _optimal_param(threshold, num_perm, 0.5, 0.5)

    def band_keys(self, signature: np.ndarray) -> list[str]:
        keys = []
        for band in range(self._bands):
            chunk = signature[band * self._rows:(band + 1) * self._rows].astype("<u4").tobytes()
            keys.append(f"{band}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
        return keys

    def link(self, article_id: str, signature: np.ndarray) -> Links:
        """The article's links; asking again for the same article gives the same answer."""
        known = self._store.get(article_id)
        if known is not None:
            return Links(known.duplicate_of, known.story_id)
        keys = self.band_keys(signature)
        original = self._first_similar(article_id, keys, signature)
        duplicate_of = original.duplicate_of or original.article_id if original else None
        story_id = original.story_id if original else article_id
        self._store.add(article_id, keys, signature, duplicate_of, story_id)
        return Links(duplicate_of, story_id)

    def _first_similar(self, article_id: str, keys: list[str], signature: np.ndarray) -> LinkRecord | None:
        candidate_ids = sorted(self._store.candidates(keys) - {article_id})
        matches = [record for record in self._store.get_many(candidate_ids)
                   if similarity(record.signature, signature) >= self._threshold]
        return min(matches, key=lambda record: record.sequence, default=None)


def _record(article_id: str, raw: Mapping[str, object]) -> LinkRecord:
    return LinkRecord(
        article_id=article_id,
        signature=np.frombuffer(bytes.fromhex(str(raw["sig"])), dtype="<u4"),
        duplicate_of=str(raw["dup"]) if raw.get("dup") else None,
        story_id=str(raw["story"]),
        sequence=int(str(raw["seq"])),
    )


class RedisLinkStore:
    """Bands as Redis sets, one JSON record per article; calls pipelined per lookup."""

    def __init__(self, client: "redis.Redis[bytes]", key_prefix: str) -> None:
        self._redis = client
        self._prefix = f"{key_prefix}:lsh"

    def _doc_key(self, article_id: str) -> str:
        return f"{self._prefix}:doc:{article_id}"

    def get(self, article_id: str) -> LinkRecord | None:
        found = self.get_many([article_id])
        return found[0] if found else None

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

    def add(self, article_id: str, band_keys: list[str], signature: np.ndarray,
            duplicate_of: str | None, story_id: str) -> LinkRecord:
        sequence = int(self._redis.incr(f"{self._prefix}:sequence"))
        record = {"sig": signature.astype("<u4").tobytes().hex(), "dup": duplicate_of, "story": story_id,
                  "seq": sequence}
        pipe = self._redis.pipeline(transaction=True)
        # SET NX: a redelivered message must not overwrite the first answer.
        pipe.set(self._doc_key(article_id), json.dumps(record), nx=True)
        for key in band_keys:
            pipe.sadd(f"{self._prefix}:band:{key}", article_id)
        pipe.execute()
        return _record(article_id, record)


class SqliteLinkStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS lsh_docs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
                                                 sig BLOB, dup TEXT, story TEXT);
            CREATE TABLE IF NOT EXISTS lsh_bands (band TEXT, id TEXT, PRIMARY KEY (band, id)) WITHOUT ROWID;
            """
        )

    def get(self, article_id: str) -> LinkRecord | None:
        found = self.get_many([article_id])
        return found[0] if found else None

    def get_many(self, article_ids: list[str]) -> list[LinkRecord]:
        if not article_ids:
            return []
        marks = ",".join("?" * len(article_ids))
        rows = self._db.execute(f"SELECT id, sig, dup, story, seq FROM lsh_docs WHERE id IN ({marks})",
                                article_ids).fetchall()
        return [LinkRecord(row[0], np.frombuffer(row[1], dtype="<u4"), row[2], row[3], row[4]) for row in rows]

    def candidates(self, band_keys: list[str]) -> set[str]:
        marks = ",".join("?" * len(band_keys))
        rows = self._db.execute(f"SELECT DISTINCT id FROM lsh_bands WHERE band IN ({marks})", band_keys)
        return {row[0] for row in rows}

    def add(self, article_id: str, band_keys: list[str], signature: np.ndarray,
            duplicate_of: str | None, story_id: str) -> LinkRecord:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO lsh_docs (id, sig, dup, story) VALUES (?, ?, ?, ?)",
                             (article_id, signature.astype("<u4").tobytes(), duplicate_of, story_id))
            self._db.executemany("INSERT OR IGNORE INTO lsh_bands VALUES (?, ?)",
                                 [(key, article_id) for key in band_keys])
        record = self.get(article_id)
        assert record is not None
        return record
