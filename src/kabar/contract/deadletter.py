"""The dead-letter store: every message a stage gives up on, with its reason.

Two implementations with one interface: Redis (services mode, shared by all workers)
and SQLite (embedded mode). A dead letter's id is derived from the stage and the message,
so the same message failing again updates one entry instead of adding another.

Replay is idempotent and loses nothing:
1. *claim*: the letter moves, atomically, from the store to a "replaying" area. Of two
   replays of one letter only one claims it; the other is told it is in progress.
2. *send*: the message goes back to its stage. A failure there is filed afresh under
   the same id, because the letter is no longer in the store.
3. *finish*: the claim is dropped and the replay recorded for ``REPLAYED_TTL``, so a
   second replay of the same id answers "already replayed" instead of sending it twice.
   If the send fails, the letter goes back into the store (*abort*).
A replay that dies between 1 and 3 leaves the letter in the replaying area, never
nowhere: after ``REPLAY_LEASE`` seconds the next replay of that id claims it again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeAlias, cast

import redis
from pydantic_core import to_json

from kabar.contract.messages import DeadLetter, utc_now
from kabar.contract.settings import KabarSettings, get_settings
from kabar.contract.state import connect, immediate, state_store
from kabar.contract.surrogates import escape_surrogates, escape_text

REPLAY_LEASE: Final = 300.0  # seconds before an unfinished replay may be claimed again
REPLAYED_TTL: Final = 7 * 24 * 3600  # how long "already replayed" is remembered
RAW_PAYLOAD_KEY: Final = "_kabar_raw_payload"  # a message that was not a JSON object, kept as it came

Letters: TypeAlias = list[DeadLetter]
Ids: TypeAlias = list[bytes]
ClaimStatus = Literal["claimed", "in-progress", "already-replayed", "not-found"]
ReplayStatus = Literal["replayed", "in-progress", "already-replayed", "not-found"]
_UNCLAIMED: Final[dict[ClaimStatus, ReplayStatus]] = {
    "in-progress": "in-progress", "already-replayed": "already-replayed", "not-found": "not-found",
    "claimed": "not-found",  # never: a claim always carries its letter
}


def letter_message(payload: Any) -> dict[str, object]:
    """The message as a dead letter keeps it: a JSON object, or the raw value wrapped in one.

    Lone surrogates are escaped (``kabar.contract.surrogates``): a letter must be writable whatever the
    message held, or the item it stands for would be lost.
    """
    message = payload if isinstance(payload, dict) else {RAW_PAYLOAD_KEY: payload}
    return cast("dict[str, object]", escape_surrogates(message))


def original_payload(letter: DeadLetter) -> Any:
    """The message exactly as the stage received it (what a replay sends)."""
    if set(letter.message) == {RAW_PAYLOAD_KEY}:
        return letter.message[RAW_PAYLOAD_KEY]
    return letter.message


def stored(letter: DeadLetter) -> str:
    """A letter as the store keeps it: JSON, with infinities and NaN written as Python writes them
    (``Infinity``), so that a replay sends the message exactly as it came (strict JSON would make them null)."""
    return to_json(letter.model_dump(), inf_nan_mode="constants").decode()


def dead_letter_id(stage: str, message: Any) -> str:
    canonical = json.dumps(letter_message(message), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{stage}\n{canonical}".encode()).hexdigest()[:24]


def describe(exc: BaseException) -> str:
    """One line that says what went wrong, without a traceback."""
    text = str(exc).strip().splitlines()
    return escape_text(f"{type(exc).__name__}: {text[0] if text else 'no detail'}"[:2000])


@dataclass(frozen=True, slots=True)
class Claim:
    status: ClaimStatus
    letter: DeadLetter | None = None
    replayed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReplayResult:
    id: str
    status: ReplayStatus
    stage: str | None = None
    replayed_at: datetime | None = None
    outcome: str | None = None  # what the send reported (embedded mode: the pipeline's outcome)


class DeadLetterStore(Protocol):
    def put(self, stage: str, message: Any, exc: BaseException, attempts: int) -> DeadLetter: ...
    def list(self, limit: int = 100, offset: int = 0, stage: str | None = None) -> Letters: ...
    def get(self, letter_id: str) -> DeadLetter | None: ...
    def remove(self, letter_id: str) -> bool: ...
    def count(self, stage: str | None = None) -> int: ...
    def restore(self, letter: DeadLetter) -> None: ...
    def purge(self, letter_ids: Iterable[str]) -> int: ...
    def claim(self, letter_id: str, lease: float = REPLAY_LEASE) -> Claim: ...
    def finish_replay(self, letter: DeadLetter) -> datetime: ...
    def abort_replay(self, letter: DeadLetter) -> None: ...
    def replaying(self) -> Letters: ...


def replay(store: DeadLetterStore, letter_id: str, send: Callable[[str, Any], str | None]) -> ReplayResult:
    """Send a dead letter's message to its stage again, at most once per failure (see the module doc)."""
    claim = store.claim(letter_id)
    if claim.status != "claimed" or claim.letter is None:
        return ReplayResult(letter_id, _UNCLAIMED[claim.status], claim.letter.stage if claim.letter else None,
                            claim.replayed_at)
    letter = claim.letter
    try:
        outcome = send(letter.stage, original_payload(letter))
    except BaseException:
        store.abort_replay(letter)
        raise
    return ReplayResult(letter_id, "replayed", letter.stage, store.finish_replay(letter), outcome)


def _merge(previous: DeadLetter | None, stage: str, message: Any, exc: BaseException, attempts: int, *,
           first_failed_at: datetime | None = None) -> DeadLetter:
    """The letter after one more failure: ``previous`` (in the store) updated, or a new letter; a new letter
    of a message whose earlier letter was replayed keeps that one's ``first_failed_at``."""
    now = utc_now()
    return DeadLetter(
        id=dead_letter_id(stage, message),
        stage=stage,
        error_type=type(exc).__name__,
        reason=describe(exc),
        attempts=attempts + (previous.attempts if previous else 0),
        first_failed_at=previous.first_failed_at if previous else first_failed_at or now,
        last_failed_at=now,
        message=letter_message(message),
    )


# Atomically move a letter to the replaying area (or take over a replay whose lease ran out).
_CLAIM_SCRIPT: Final = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], raw)
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
  return {'claimed', raw}
end
local held = redis.call('HGET', KEYS[3], ARGV[1])
if held then
  local since = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
  if tonumber(ARGV[2]) - since >= tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
    return {'claimed', held}
  end
  return {'in-progress', held}
end
local done = redis.call('GET', KEYS[5])
if done then return {'already-replayed', done} end
return {'not-found', ''}
"""
# Put a letter back unless the stage has filed a fresh one meanwhile; drop the claim.
_ABORT_SCRIPT: Final = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""


class RedisDeadLetterStore:
    def __init__(self, client: redis.Redis[bytes], key_prefix: str) -> None:
        self._redis = client
        self._hash = f"{key_prefix}:deadletters"
        self._order = f"{key_prefix}:deadletters:order"
        self._replaying = f"{key_prefix}:deadletters:replaying"
        self._replaying_since = f"{key_prefix}:deadletters:replaying:since"
        self._replayed_prefix = f"{key_prefix}:deadletters:replayed:"
        self._first_prefix = f"{key_prefix}:deadletters:first:"  # a replayed letter's first failure
        self._claim = client.register_script(_CLAIM_SCRIPT)
        self._abort = client.register_script(_ABORT_SCRIPT)

    def put(self, stage: str, message: Any, exc: BaseException, attempts: int) -> DeadLetter:
        letter_id = dead_letter_id(stage, message)
        with self._redis.pipeline() as pipe:
            for _ in range(100):  # WATCH: a concurrent put of the same letter makes this one merge again
                try:
                    pipe.watch(self._hash)
                    raw = cast("bytes | None", pipe.hget(self._hash, letter_id))
                    previous = DeadLetter.model_validate_json(raw) if raw else None
                    first = None if previous else self._replayed_first_failure(pipe, letter_id)
                    letter = _merge(previous, stage, message, exc, attempts, first_failed_at=first)
                    pipe.multi()
                    self._write(pipe, letter)
                    pipe.execute()
                except redis.WatchError:
                    continue
                return letter
        raise redis.WatchError(f"dead letter {letter_id} kept changing")

    def _replayed_first_failure(self, pipe: redis.client.Pipeline[bytes], letter_id: str) -> datetime | None:
        """When a letter being replayed (or replayed lately) first failed: a failure of its replay keeps it."""
        held = cast("bytes | None", pipe.hget(self._replaying, letter_id))
        if held:
            return DeadLetter.model_validate_json(held).first_failed_at
        first = cast("bytes | None", pipe.get(self._first_prefix + letter_id))
        return datetime.fromisoformat(first.decode()) if first else None

    def list(self, limit: int = 100, offset: int = 0, stage: str | None = None) -> Letters:
        if stage is None:
            ids = self._redis.zrange(self._order, offset, offset + limit - 1)
            return self._load(ids)
        found: Letters = []
        skipped = 0
        for chunk in self._chunks_of_ids():
            for letter in self._load(chunk):
                if letter.stage != stage:
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                found.append(letter)
                if len(found) >= limit:
                    return found
        return found

    def get(self, letter_id: str) -> DeadLetter | None:
        raw = self._redis.hget(self._hash, letter_id)
        return DeadLetter.model_validate_json(raw) if raw else None

    def remove(self, letter_id: str) -> bool:
        pipe = self._redis.pipeline()
        pipe.hdel(self._hash, letter_id)
        pipe.zrem(self._order, letter_id)
        removed, _ = pipe.execute()
        return bool(removed)

    def count(self, stage: str | None = None) -> int:
        if stage is None:
            return int(self._redis.hlen(self._hash))
        return sum(letter.stage == stage for chunk in self._chunks_of_ids() for letter in self._load(chunk))

    def restore(self, letter: DeadLetter) -> None:
        pipe = self._redis.pipeline()
        self._write(pipe, letter)
        pipe.execute()

    def purge(self, letter_ids: Iterable[str]) -> int:
        removed = 0
        ids = list(letter_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            pipe = self._redis.pipeline()
            pipe.hdel(self._hash, *chunk)
            pipe.zrem(self._order, *chunk)
            removed += int(pipe.execute()[0])
        return removed

    def claim(self, letter_id: str, lease: float = REPLAY_LEASE) -> Claim:
        keys = [self._hash, self._order, self._replaying, self._replaying_since, self._replayed_prefix + letter_id]
        status, raw = self._claim(keys=keys, args=[letter_id, repr(time.time()), repr(lease)])
        state = status.decode()
        if state in ("claimed", "in-progress"):
            return Claim(state, DeadLetter.model_validate_json(raw))
        if state == "already-replayed":
            return Claim(state, replayed_at=datetime.fromisoformat(raw.decode()))
        return Claim("not-found")

    def finish_replay(self, letter: DeadLetter) -> datetime:
        now = utc_now()
        pipe = self._redis.pipeline()
        pipe.hdel(self._replaying, letter.id)
        pipe.hdel(self._replaying_since, letter.id)
        pipe.set(self._replayed_prefix + letter.id, now.isoformat(), ex=REPLAYED_TTL)
        pipe.set(self._first_prefix + letter.id, letter.first_failed_at.isoformat(), ex=REPLAYED_TTL)
        pipe.execute()
        return now

    def abort_replay(self, letter: DeadLetter) -> None:
        keys = [self._hash, self._order, self._replaying, self._replaying_since]
        self._abort(keys=keys, args=[letter.id, stored(letter), repr(letter.first_failed_at.timestamp())])

    def replaying(self) -> Letters:
        return [DeadLetter.model_validate_json(raw) for raw in self._redis.hvals(self._replaying)]

    def _write(self, pipe: redis.client.Pipeline[bytes], letter: DeadLetter) -> None:
        pipe.hset(self._hash, letter.id, stored(letter))
        pipe.zadd(self._order, {letter.id: letter.first_failed_at.timestamp()})

    def _load(self, ids: Ids) -> Letters:
        if not ids:
            return []
        raw = self._redis.hmget(self._hash, ids)
        return [DeadLetter.model_validate_json(item) for item in raw if item is not None]

    def _chunks_of_ids(self, size: int = 500) -> Iterator[Ids]:
        start = 0
        while True:
            ids = self._redis.zrange(self._order, start, start + size - 1)
            if not ids:
                return
            yield ids
            start += size


class SqliteDeadLetterStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._lock = threading.RLock()  # one connection shared by threads (the API): one transaction at a time
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dead_letters (id TEXT PRIMARY KEY, first_failed_at TEXT, body TEXT)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS dead_letters_replaying "
                         "(id TEXT PRIMARY KEY, since REAL NOT NULL, body TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS dead_letters_replayed (id TEXT PRIMARY KEY, at TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS dead_letters_first "
                         "(id TEXT PRIMARY KEY, first_failed_at TEXT NOT NULL)")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    def put(self, stage: str, message: Any, exc: BaseException, attempts: int) -> DeadLetter:
        letter_id = dead_letter_id(stage, message)
        with self._transaction() as db:
            previous = self.get(letter_id)
            first = None if previous else self._replayed_first_failure(db, letter_id)
            letter = _merge(previous, stage, message, exc, attempts, first_failed_at=first)
            self.restore(letter)
        return letter

    @staticmethod
    def _replayed_first_failure(db: sqlite3.Connection, letter_id: str) -> datetime | None:
        """When a letter being replayed (or replayed lately) first failed: a failure of its replay keeps it."""
        held = db.execute("SELECT body FROM dead_letters_replaying WHERE id = ?", (letter_id,)).fetchone()
        if held:
            return DeadLetter.model_validate_json(held[0]).first_failed_at
        first = db.execute("SELECT first_failed_at FROM dead_letters_first WHERE id = ?", (letter_id,)).fetchone()
        return datetime.fromisoformat(first[0]) if first else None

    def restore(self, letter: DeadLetter) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO dead_letters (id, first_failed_at, body) VALUES (?, ?, ?)",
            (letter.id, letter.first_failed_at.isoformat(), stored(letter)),
        )

    def list(self, limit: int = 100, offset: int = 0, stage: str | None = None) -> Letters:
        rows = self._db.execute(
            "SELECT body FROM dead_letters WHERE (? IS NULL OR json_extract(body, '$.stage') = ?) "
            "ORDER BY first_failed_at, id LIMIT ? OFFSET ?", (stage, stage, limit, offset),
        ).fetchall()
        return [DeadLetter.model_validate_json(body) for (body,) in rows]

    def get(self, letter_id: str) -> DeadLetter | None:
        row = self._db.execute("SELECT body FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
        return DeadLetter.model_validate_json(row[0]) if row else None

    def remove(self, letter_id: str) -> bool:
        return self._db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,)).rowcount > 0

    def count(self, stage: str | None = None) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM dead_letters WHERE (? IS NULL OR json_extract(body, '$.stage') = ?)", (stage, stage),
        ).fetchone()
        return int(row[0])

    def purge(self, letter_ids: Iterable[str]) -> int:
        removed = 0
        with self._transaction() as db:
            for letter_id in letter_ids:
                removed += db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,)).rowcount
        return removed

    def claim(self, letter_id: str, lease: float = REPLAY_LEASE) -> Claim:
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT body FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
            if row:
                db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))
                db.execute("INSERT OR REPLACE INTO dead_letters_replaying VALUES (?, ?, ?)", (letter_id, now, row[0]))
                return Claim("claimed", DeadLetter.model_validate_json(row[0]))
            held = db.execute("SELECT since, body FROM dead_letters_replaying WHERE id = ?", (letter_id,)).fetchone()
            if held:
                if now - float(held[0]) >= lease:
                    db.execute("UPDATE dead_letters_replaying SET since = ? WHERE id = ?", (now, letter_id))
                    return Claim("claimed", DeadLetter.model_validate_json(held[1]))
                return Claim("in-progress", DeadLetter.model_validate_json(held[1]))
            done = db.execute("SELECT at FROM dead_letters_replayed WHERE id = ?", (letter_id,)).fetchone()
            if done:
                return Claim("already-replayed", replayed_at=datetime.fromisoformat(done[0]))
        return Claim("not-found")

    def finish_replay(self, letter: DeadLetter) -> datetime:
        now = utc_now()
        expired = datetime.fromtimestamp(now.timestamp() - REPLAYED_TTL, UTC).isoformat()
        with self._transaction() as db:
            db.execute("DELETE FROM dead_letters_replaying WHERE id = ?", (letter.id,))
            db.execute("INSERT OR REPLACE INTO dead_letters_replayed VALUES (?, ?)", (letter.id, now.isoformat()))
            db.execute("DELETE FROM dead_letters_replayed WHERE at < ?", (expired,))
            db.execute("INSERT OR REPLACE INTO dead_letters_first VALUES (?, ?)",
                       (letter.id, letter.first_failed_at.isoformat()))
            db.execute("DELETE FROM dead_letters_first WHERE id NOT IN (SELECT id FROM dead_letters_replayed)")
        return now

    def abort_replay(self, letter: DeadLetter) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO dead_letters (id, first_failed_at, body) VALUES (?, ?, ?)",
                       (letter.id, letter.first_failed_at.isoformat(), stored(letter)))
            db.execute("DELETE FROM dead_letters_replaying WHERE id = ?", (letter.id,))

    def replaying(self) -> Letters:
        rows = self._db.execute("SELECT body FROM dead_letters_replaying ORDER BY since").fetchall()
        return [DeadLetter.model_validate_json(body) for (body,) in rows]


def open_dead_letter_store(settings: KabarSettings) -> DeadLetterStore:
    return state_store(settings, RedisDeadLetterStore, SqliteDeadLetterStore, "deadletters.sqlite3")


@lru_cache(maxsize=1)
def dead_letters() -> DeadLetterStore:
    """The configured dead-letter store of this process, opened on first use."""
    return open_dead_letter_store(get_settings())
