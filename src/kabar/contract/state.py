"""Where the pipeline's state lives, chosen once: Redis (services mode, shared by every worker) or
SQLite files under ``KABAR_DATA_DIR`` (embedded mode), by ``KABAR_STATE_BACKEND`` (default: the mode's).

- ``state_store`` opens any state store (dead letters, the in-flight ledger, seen hashes, versions,
  feeds, host turns, near-duplicates, stories, watchlists) on the configured backend;
- ``connect`` and ``immediate`` are how every SQLite store opens its file and writes: WAL (readers
  never wait for the writer), a 30 s busy timeout (processes share a file), autocommit outside
  explicit ``BEGIN IMMEDIATE`` transactions, which take the write lock at once so two processes
  never deadlock upgrading a read lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

import redis

from kabar.contract.settings import KabarSettings

OnRedis = TypeVar("OnRedis")
OnSqlite = TypeVar("OnSqlite")
BUSY_TIMEOUT_SECONDS = 30.0


def state_store(settings: KabarSettings, on_redis: Callable[[redis.Redis[bytes], str], OnRedis],
                on_sqlite: Callable[[Path], OnSqlite], sqlite_file: str | Path = "state.sqlite3") -> OnRedis | OnSqlite:
    """``on_redis(client, key_prefix)`` or ``on_sqlite(path)``, ``sqlite_file`` under ``KABAR_DATA_DIR``."""
    if settings.state_backend_name == "redis":
        return on_redis(redis.Redis.from_url(settings.redis_url), settings.key_prefix)
    return on_sqlite(settings.data_dir / sqlite_file)


def connect(path: Path) -> sqlite3.Connection:
    """A store's connection: its folder made, WAL, the busy timeout, usable from several threads
    (the store serialises its own use where threads share it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    return db


@contextmanager
def immediate(db: sqlite3.Connection, lock: threading.Lock | threading.RLock | None = None,
              ) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` (other processes wait here), committed at the end,
    rolled back on any error. ``lock``: held throughout, for a connection that threads share."""
    with lock or nullcontext():
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
