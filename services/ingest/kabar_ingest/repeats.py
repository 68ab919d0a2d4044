"""Exact-repeat detection: has this article (same id, same content) been ingested before?

Recorded only after the article was handed on (``after_forward``), so a crash between
the two re-sends the article instead of losing it; downstream stages are idempotent
by article id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import redis

from kabar.contract.retention import RetentionLedger
from kabar.contract.state import connect


class SeenStore(Protocol):
    def seen(self, content_hash: str) -> bool: ...
    def remember(self, article_id: str, content_hash: str) -> None: ...


class RedisSeenStore:
    """One hash of content hash -> article id; with a ledger, hashes not seen for the window are forgotten."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, ledger: RetentionLedger | None = None) -> None:
        self._redis = client
        self._key = f"{key_prefix}:ingest:seen"
        self._ledger = ledger

    def seen(self, content_hash: str) -> bool:
        return self._redis.hget(self._key, content_hash) is not None

    def remember(self, article_id: str, content_hash: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hsetnx(self._key, content_hash, article_id)
        if self._ledger:
            self._ledger.touch(pipe, [content_hash])
        pipe.execute()
        if self._ledger:
            self._ledger.maybe_sweep(self.forget)

    def forget(self, content_hashes: list[bytes]) -> None:
        self._redis.hdel(self._key, *content_hashes)


class SqliteSeenStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (content_hash TEXT PRIMARY KEY, article_id TEXT)")

    def seen(self, content_hash: str) -> bool:
        row = self._db.execute("SELECT 1 FROM seen WHERE content_hash = ?", (content_hash,)).fetchone()
        return row is not None

    def remember(self, article_id: str, content_hash: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (content_hash, article_id))
