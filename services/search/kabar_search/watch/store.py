"""Where watchlists and their alerts live: Redis (services) or SQLite (embedded).

"Which story has alerted for which watchlist" is decided in one atomic step per matching
article, so index workers running side by side never alert twice for one story:

- Redis: one Lua script (``_RECORD``) adds the article to the watchlist's set of matched
  articles and creates or updates the story's alert, all or nothing;
- SQLite: the same inside one ``BEGIN IMMEDIATE`` transaction.

The step is also idempotent per article: an article the watchlist has counted already
(a redelivered or replayed index message) changes nothing and reports ``seen``; if its
alert is still ``pending`` (the process died before handing it to delivery), the caller
hands it over again. A deleted watchlist reports ``gone``.

Every change to the set of watchlists bumps a revision number, so matchers reload (and
the percolator index resyncs) only when something changed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, Protocol, TypeAlias

import redis
from pydantic import ValidationError

from kabar.contract.settings import KabarSettings
from kabar.contract.state import connect, immediate, state_store
from kabar_search.watch.models import AlertState, AlertStatus, ArticleRef, Watchlist

MatchKind = Literal["new", "more", "seen", "gone"]
Watchlists: TypeAlias = list[Watchlist]
Alerts: TypeAlias = list[AlertState]
SQLITE_FILE: Final = "watchlists.sqlite3"

log = logging.getLogger(__name__)


class TooManyWatchlists(Exception):
    """The store holds ``KABAR_MAX_WATCHLISTS`` already."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one matching article did. ``new``: the story's first; ``more``: later
    coverage, counted; ``seen``: this article was counted before; ``gone``: no such watchlist."""

    kind: MatchKind
    state: AlertState | None = None

    @property
    def needs_delivery(self) -> bool:
        if self.state is None:
            return False
        return self.kind == "new" or (self.kind == "seen" and self.state.status == "pending")


class WatchlistStore(Protocol):
    def add(self, watchlist: Watchlist, limit: int) -> None: ...
    def get(self, watchlist_id: str) -> Watchlist | None: ...
    def list(self) -> Watchlists: ...
    def remove(self, watchlist_id: str) -> bool: ...
    def revision(self) -> int: ...
    def record_match(self, watchlist_id: str, story_id: str, article: ArticleRef, at: datetime) -> Recorded: ...
    def alert(self, watchlist_id: str, story_id: str) -> AlertState | None: ...
    def alerts(self, watchlist_id: str, limit: int) -> Alerts: ...
    def alert_counts(self, watchlist_ids: Iterable[str]) -> dict[str, int]: ...
    def set_status(self, watchlist_id: str, story_id: str, status: AlertStatus, at: datetime) -> bool: ...
    def close(self) -> None: ...


def next_state(current: AlertState | None, story_id: str, article: ArticleRef, at: datetime) -> AlertState:
    """The story's alert after one more matching article (the Redis script does the same)."""
    if current is None:
        return AlertState(story_id=story_id, articles=1, first_article=article, last_article=article, first_at=at,
                          last_at=at, status="pending")
    return current.model_copy(update={"articles": current.articles + 1, "last_article": article, "last_at": at})


def with_status(current: AlertState, status: AlertStatus, at: datetime) -> AlertState | None:
    """The alert in its new status, or None when that move is not allowed (the Redis script agrees):
    ``queued`` only from ``pending``; ``failed`` never over ``delivered``."""
    if (status == "queued" and current.status != "pending") or (status == "failed" and current.status == "delivered"):
        return None
    return current.model_copy(update={"status": status, "delivered_at": at if status == "delivered"
                                      else current.delivered_at})


def _readable(raws: Iterable[str | bytes]) -> Watchlists:
    """The watchlists that parse; one that does not (edited by hand, say) is logged and left out,
    so it cannot stop the index stage."""
    found: Watchlists = []
    for raw in raws:
        try:
            found.append(Watchlist.model_validate_json(raw))
        except ValidationError as exc:
            log.error("a stored watchlist does not parse and is ignored: %s", exc.errors()[0]["msg"])  # noqa: TRY400
    return found


def _newest_first(states: Iterable[AlertState], limit: int) -> Alerts:
    return sorted(states, key=lambda state: (state.first_at, state.story_id), reverse=True)[:limit]


# KEYS: watchlists hash, revision; ARGV: id, json, limit
_ADD: Final = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1
"""
# KEYS: watchlists hash, revision, alerts hash, matched set; ARGV: id
_REMOVE: Final = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('INCR', KEYS[2])
return 1
"""
# KEYS: watchlists hash, alerts hash, matched set; ARGV: watchlist id, story id, article id, article json, at
_RECORD: Final = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {'gone', ''} end
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return {'seen', raw or ''} end
local article = cjson.decode(ARGV[4])
local state
if raw then
  state = cjson.decode(raw)
  state['articles'] = state['articles'] + 1
  state['last_article'] = article
  state['last_at'] = ARGV[5]
else
  state = {story_id = ARGV[2], articles = 1, first_article = article, last_article = article,
           first_at = ARGV[5], last_at = ARGV[5], status = 'pending'}
end
local encoded = cjson.encode(state)
redis.call('HSET', KEYS[2], ARGV[2], encoded)
if raw then return {'more', encoded} end
return {'new', encoded}
"""
# KEYS: alerts hash; ARGV: story id, status, at
_STATUS: Final = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local state = cjson.decode(raw)
if (ARGV[2] == 'queued' and state['status'] ~= 'pending') or
   (ARGV[2] == 'failed' and state['status'] == 'delivered') then return 0 end
state['status'] = ARGV[2]
if ARGV[2] == 'delivered' then state['delivered_at'] = ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(state))
return 1
"""


class RedisWatchlistStore:
    def __init__(self, client: redis.Redis[bytes], key_prefix: str) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._hash = f"{key_prefix}:watchlists"
        self._revision = f"{key_prefix}:watchlists:revision"
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._record = client.register_script(_RECORD)
        self._status = client.register_script(_STATUS)

    def _alerts_key(self, watchlist_id: str) -> str:
        return f"{self._prefix}:watchlist:{watchlist_id}:alerts"

    def _matched_key(self, watchlist_id: str) -> str:
        return f"{self._prefix}:watchlist:{watchlist_id}:matched"

    def add(self, watchlist: Watchlist, limit: int) -> None:
        if not self._add(keys=[self._hash, self._revision], args=[watchlist.id, watchlist.model_dump_json(), limit]):
            raise TooManyWatchlists(f"there are {limit} watchlists already (KABAR_MAX_WATCHLISTS); remove one first")

    def get(self, watchlist_id: str) -> Watchlist | None:
        raw = self._redis.hget(self._hash, watchlist_id)
        return Watchlist.model_validate_json(raw) if raw else None

    def list(self) -> Watchlists:
        found = _readable(self._redis.hvals(self._hash))
        return sorted(found, key=lambda watchlist: (watchlist.created_at, watchlist.id))

    def remove(self, watchlist_id: str) -> bool:
        keys = [self._hash, self._revision, self._alerts_key(watchlist_id), self._matched_key(watchlist_id)]
        return bool(self._remove(keys=keys, args=[watchlist_id]))

    def revision(self) -> int:
        return int(self._redis.get(self._revision) or 0)

    def record_match(self, watchlist_id: str, story_id: str, article: ArticleRef, at: datetime) -> Recorded:
        keys = [self._hash, self._alerts_key(watchlist_id), self._matched_key(watchlist_id)]
        kind, raw = self._record(keys=keys, args=[watchlist_id, story_id, article.id, article.model_dump_json(),
                                                  at.isoformat()])
        state = AlertState.model_validate_json(raw) if raw else None
        found: MatchKind = kind.decode()
        return Recorded(found, state)

    def alert(self, watchlist_id: str, story_id: str) -> AlertState | None:
        raw = self._redis.hget(self._alerts_key(watchlist_id), story_id)
        return AlertState.model_validate_json(raw) if raw else None

    def alerts(self, watchlist_id: str, limit: int) -> Alerts:
        raws = self._redis.hvals(self._alerts_key(watchlist_id))
        return _newest_first((AlertState.model_validate_json(raw) for raw in raws), limit)

    def alert_counts(self, watchlist_ids: Iterable[str]) -> dict[str, int]:
        ids = list(watchlist_ids)
        pipe = self._redis.pipeline(transaction=False)
        for watchlist_id in ids:
            pipe.hlen(self._alerts_key(watchlist_id))
        return {watchlist_id: int(count) for watchlist_id, count in zip(ids, pipe.execute(), strict=True)}

    def set_status(self, watchlist_id: str, story_id: str, status: AlertStatus, at: datetime) -> bool:
        return bool(self._status(keys=[self._alerts_key(watchlist_id)], args=[story_id, status, at.isoformat()]))

    def close(self) -> None:
        self._redis.close()


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS watchlists (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watchlist_alerts (
    watchlist_id TEXT NOT NULL, story_id TEXT NOT NULL, first_at TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (watchlist_id, story_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watchlist_matches (
    watchlist_id TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (watchlist_id, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watchlist_revision (one INTEGER PRIMARY KEY CHECK (one = 1), revision INTEGER NOT NULL);
INSERT OR IGNORE INTO watchlist_revision VALUES (1, 0);
"""


class SqliteWatchlistStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._lock = threading.RLock()  # one connection shared by threads (the API): one transaction at a time
        self._db.executescript(_SCHEMA)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    def add(self, watchlist: Watchlist, limit: int) -> None:
        with self._transaction() as db:
            if db.execute("SELECT COUNT(*) FROM watchlists").fetchone()[0] >= limit:
                raise TooManyWatchlists(f"there are {limit} watchlists already (KABAR_MAX_WATCHLISTS); "
                                        "remove one first")
            db.execute("INSERT INTO watchlists VALUES (?, ?, ?)",
                       (watchlist.id, watchlist.created_at.isoformat(), watchlist.model_dump_json()))
            db.execute("UPDATE watchlist_revision SET revision = revision + 1")

    def get(self, watchlist_id: str) -> Watchlist | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM watchlists WHERE id = ?", (watchlist_id,)).fetchone()
        return Watchlist.model_validate_json(row[0]) if row else None

    def list(self) -> Watchlists:
        with self._lock:
            rows = self._db.execute("SELECT body FROM watchlists ORDER BY created_at, id").fetchall()
        return _readable(body for (body,) in rows)

    def remove(self, watchlist_id: str) -> bool:
        with self._transaction() as db:
            if not db.execute("DELETE FROM watchlists WHERE id = ?", (watchlist_id,)).rowcount:
                return False
            db.execute("DELETE FROM watchlist_alerts WHERE watchlist_id = ?", (watchlist_id,))
            db.execute("DELETE FROM watchlist_matches WHERE watchlist_id = ?", (watchlist_id,))
            db.execute("UPDATE watchlist_revision SET revision = revision + 1")
        return True

    def revision(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT revision FROM watchlist_revision").fetchone()[0])

    def record_match(self, watchlist_id: str, story_id: str, article: ArticleRef, at: datetime) -> Recorded:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM watchlists WHERE id = ?", (watchlist_id,)).fetchone() is None:
                return Recorded("gone")
            current = self._alert(watchlist_id, story_id)
            counted = db.execute("INSERT OR IGNORE INTO watchlist_matches VALUES (?, ?)",
                                 (watchlist_id, article.id)).rowcount
            if not counted:
                return Recorded("seen", current)
            state = next_state(current, story_id, article, at)
            db.execute("INSERT OR REPLACE INTO watchlist_alerts VALUES (?, ?, ?, ?)",
                       (watchlist_id, story_id, state.first_at.isoformat(), state.model_dump_json()))
        return Recorded("more" if current else "new", state)

    def _alert(self, watchlist_id: str, story_id: str) -> AlertState | None:
        row = self._db.execute("SELECT body FROM watchlist_alerts WHERE watchlist_id = ? AND story_id = ?",
                               (watchlist_id, story_id)).fetchone()
        return AlertState.model_validate_json(row[0]) if row else None

    def alert(self, watchlist_id: str, story_id: str) -> AlertState | None:
        with self._lock:
            return self._alert(watchlist_id, story_id)

    def alerts(self, watchlist_id: str, limit: int) -> Alerts:
        with self._lock:
            rows = self._db.execute("SELECT body FROM watchlist_alerts WHERE watchlist_id = ? "
                                    "ORDER BY first_at DESC, story_id DESC LIMIT ?", (watchlist_id, limit)).fetchall()
        return _newest_first((AlertState.model_validate_json(body) for (body,) in rows), limit)

    def alert_counts(self, watchlist_ids: Iterable[str]) -> dict[str, int]:
        with self._lock:
            counts = dict(self._db.execute("SELECT watchlist_id, COUNT(*) FROM watchlist_alerts GROUP BY watchlist_id"))
        return {watchlist_id: int(counts.get(watchlist_id, 0)) for watchlist_id in watchlist_ids}

    def set_status(self, watchlist_id: str, story_id: str, status: AlertStatus, at: datetime) -> bool:
        with self._transaction() as db:
            current = self._alert(watchlist_id, story_id)
            changed = with_status(current, status, at) if current else None
            if changed is None:
                return False
            db.execute("UPDATE watchlist_alerts SET body = ? WHERE watchlist_id = ? AND story_id = ?",
                       (changed.model_dump_json(), watchlist_id, story_id))
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_watchlist_store(settings: KabarSettings) -> WatchlistStore:
    """Redis or SQLite, like the other stores (``kabar.contract.state``)."""
    return state_store(settings, RedisWatchlistStore, SqliteWatchlistStore, SQLITE_FILE)
