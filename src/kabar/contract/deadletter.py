"""The dead-letter store: every message a stage gives up on, with its reason.

Two implementations with one interface: Redis (services mode, shared by all workers)
and SQLite (embedded mode). A dead letter's id is derived from the stage and the message,
so the same message failing again updates one entry instead of adding another, and a
replay that succeeds removes it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Protocol

import redis

from kabar.contract.messages import DeadLetter, utc_now


def dead_letter_id(stage: str, message: dict[str, object]) -> str:
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{stage}\n{canonical}".encode()).hexdigest()[:24]


def describe(exc: BaseException) -> str:
    """One line that says what went wrong, without a traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no detail'}"[:2000]


class DeadLetterStore(Protocol):
    def put(self, stage: str, message: dict[str, object], exc: BaseException, attempts: int) -> DeadLetter: ...
    def list(self, limit: int = 100) -> list[DeadLetter]: ...
    def get(self, letter_id: str) -> DeadLetter | None: ...
    def remove(self, letter_id: str) -> bool: ...
    def count(self) -> int: ...
    def restore(self, letter: DeadLetter) -> None: ...


def _merge(previous: DeadLetter | None, stage: str, message: dict[str, object],
           exc: BaseException, attempts: int) -> DeadLetter:
    now = utc_now()
    return DeadLetter(
        id=dead_letter_id(stage, message),
        stage=stage,
        error_type=type(exc).__name__,
        reason=describe(exc),
        attempts=attempts + (previous.attempts if previous else 0),
        first_failed_at=previous.first_failed_at if previous else now,
        last_failed_at=now,
        message=message,
    )


class RedisDeadLetterStore:
    def __init__(self, client: redis.Redis[bytes], key_prefix: str) -> None:
        self._redis = client
        self._hash = f"{key_prefix}:deadletters"
        self._order = f"{key_prefix}:deadletters:order"

    def put(self, stage: str, message: dict[str, object], exc: BaseException, attempts: int) -> DeadLetter:
        letter_id = dead_letter_id(stage, message)
        letter = _merge(self.get(letter_id), stage, message, exc, attempts)
        self.restore(letter)
        return letter

    def list(self, limit: int = 100) -> list[DeadLetter]:
        ids = self._redis.zrange(self._order, 0, limit - 1)
        if not ids:
            return []
        raw = self._redis.hmget(self._hash, ids)
        return [DeadLetter.model_validate_json(item) for item in raw if item is not None]

    def get(self, letter_id: str) -> DeadLetter | None:
        raw = self._redis.hget(self._hash, letter_id)
        return DeadLetter.model_validate_json(raw) if raw else None

    def remove(self, letter_id: str) -> bool:
        pipe = self._redis.pipeline()
        pipe.hdel(self._hash, letter_id)
        pipe.zrem(self._order, letter_id)
        removed, _ = pipe.execute()
        return bool(removed)

    def count(self) -> int:
        return int(self._redis.hlen(self._hash))

    def restore(self, letter: DeadLetter) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(self._hash, letter.id, letter.model_dump_json())
        pipe.zadd(self._order, {letter.id: letter.first_failed_at.timestamp()})
        pipe.execute()


class SqliteDeadLetterStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dead_letters (id TEXT PRIMARY KEY, first_failed_at TEXT, body TEXT)"
        )

    def put(self, stage: str, message: dict[str, object], exc: BaseException, attempts: int) -> DeadLetter:
        letter = _merge(self.get(dead_letter_id(stage, message)), stage, message, exc, attempts)
        self.restore(letter)
        return letter

    def restore(self, letter: DeadLetter) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO dead_letters (id, first_failed_at, body) VALUES (?, ?, ?)",
            (letter.id, letter.first_failed_at.isoformat(), letter.model_dump_json()),
        )

    def list(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT body FROM dead_letters ORDER BY first_failed_at LIMIT ?", (limit,)
        ).fetchall()
        return [DeadLetter.model_validate_json(body) for (body,) in rows]

    def get(self, letter_id: str) -> DeadLetter | None:
        row = self._db.execute("SELECT body FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
        return DeadLetter.model_validate_json(row[0]) if row else None

    def remove(self, letter_id: str) -> bool:
        return self._db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,)).rowcount > 0

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])




def open_dead_letter_store(state_backend: str, redis_url: str, key_prefix: str,
                           sqlite_path: Path) -> DeadLetterStore:
    if state_backend == "redis":
        return RedisDeadLetterStore(redis.Redis.from_url(redis_url), key_prefix)
    return SqliteDeadLetterStore(sqlite_path)
