"""Corrections: a known article whose content changed becomes a new version.

The ingest stage keeps every article's versions (title and text, zlib-compressed) per id, in
Redis (services) or SQLite (embedded). When an article with a known id comes in with
different content, ``compare`` decides: a changed title, or a body with more than
``KABAR_CORRECTION_THRESHOLD`` of its tokens changed (2 % by default), is a correction: it goes
on to be enriched and re-indexed (the search backends bump the article's ``version``) and is
recorded as the next version here. A smaller edit (a timestamp, a fixed typo) is skipped.

``versions_router`` serves ``GET /articles/{id}/versions``: every kept version with a unified
diff against the one before.
"""

from __future__ import annotations

import difflib
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final, Protocol

import redis
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from kabar.contract import metrics
from kabar.contract.messages import utc_now
from kabar.contract.retention import RetentionLedger, open_ledger
from kabar.contract.settings import KabarSettings
from kabar.contract.state import connect, immediate, state_store
from kabar.service_api import problem_responses
from kabar_ingest.identity import normalised_text

MAX_COMPARED_TOKENS: Final = 50_000  # beyond this, the rest of a (very long) text is compared by length


class Version(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    content_hash: str
    title: str
    text: str
    recorded_at: datetime = Field(default_factory=utc_now)
    changed_share: float | None = None  # share of the body's tokens changed since the version before
    title_changed: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    title_changed: bool
    changed_share: float
    significant: bool


def token_change(before: str, after: str) -> float:
    """Share of tokens that differ: 1 - 2·matched / (tokens before + tokens after), case and spacing ignored."""
    old, new = normalised_text(before).split(), normalised_text(after).split()
    if not old and not new:
        return 0.0
    matcher = difflib.SequenceMatcher(None, old[:MAX_COMPARED_TOKENS], new[:MAX_COMPARED_TOKENS], autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return 1.0 - 2.0 * matched / (len(old) + len(new))


def compare(previous: Version, title: str, text: str, threshold: float) -> Change:
    title_changed = normalised_text(previous.title) != normalised_text(title)
    share = token_change(previous.text, text)
    return Change(title_changed, share, title_changed or share > threshold)


def count_correction() -> None:
    """``kabar_corrections_total``, once the contract's metrics module has it (``metrics.CORRECTIONS``)."""
    counter = getattr(metrics, "CORRECTIONS", None)
    if counter is not None:
        counter.inc()


class VersionStore(Protocol):
    def latest(self, article_id: str) -> Version | None: ...
    def history(self, article_id: str) -> list[Version]: ...
    def add(self, article_id: str, version: Version) -> None: ...
    def close(self) -> None: ...


def _pack(version: Version) -> bytes:
    return zlib.compress(version.model_dump_json().encode("utf-8"), 6)


def _unpack(data: bytes) -> Version:
    return Version.model_validate_json(zlib.decompress(data))


class SqliteVersionStore:
    def __init__(self, path: Path, keep: int = 20) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._db = connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS versions (article_id TEXT NOT NULL, version INTEGER NOT NULL, "
                         "body BLOB NOT NULL, PRIMARY KEY (article_id, version))")

    def latest(self, article_id: str) -> Version | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM versions WHERE article_id = ? ORDER BY version DESC LIMIT 1",
                                   (article_id,)).fetchone()
        return _unpack(row[0]) if row else None

    def history(self, article_id: str) -> list[Version]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM versions WHERE article_id = ? ORDER BY version",
                                    (article_id,)).fetchall()
        return [_unpack(body) for (body,) in rows]

    def add(self, article_id: str, version: Version) -> None:
        with immediate(self._db, self._lock) as db:
            db.execute("INSERT OR REPLACE INTO versions VALUES (?, ?, ?)",
                       (article_id, version.version, _pack(version)))
            db.execute("DELETE FROM versions WHERE article_id = ? AND version <= ?",
                       (article_id, version.version - self._keep))

    def close(self) -> None:
        self._db.close()


class RedisVersionStore:
    """One sorted set per article (score: version number), each member a compressed version."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, keep: int = 20,
                 ledger: RetentionLedger | None = None) -> None:
        self._redis = client
        self._prefix = f"{key_prefix}:versions:"
        self._keep = keep
        self._ledger = ledger  # an article not corrected for the retention window loses its versions

    def latest(self, article_id: str) -> Version | None:
        found = self._redis.zrange(self._prefix + article_id, -1, -1)
        return _unpack(found[0]) if found else None

    def history(self, article_id: str) -> list[Version]:
        return [_unpack(item) for item in self._redis.zrange(self._prefix + article_id, 0, -1)]

    def add(self, article_id: str, version: Version) -> None:
        key = self._prefix + article_id
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, version.version, version.version)  # a redelivered message: replace, not add
        pipe.zadd(key, {_pack(version): version.version})
        pipe.zremrangebyrank(key, 0, -self._keep - 1)
        if self._ledger:
            self._ledger.touch(pipe, [article_id])
        pipe.execute()
        if self._ledger:
            self._ledger.maybe_sweep(self.forget)

    def forget(self, article_ids: list[bytes]) -> None:
        self._redis.delete(*(self._prefix.encode() + article_id for article_id in article_ids))

    def close(self) -> None:
        self._redis.close()


def open_version_store(settings: KabarSettings, keep: int = 20) -> VersionStore:
    return state_store(settings,
                       lambda client, prefix: RedisVersionStore(client, prefix, keep,
                                                                open_ledger(client, settings, "versions")),
                       lambda path: SqliteVersionStore(path, keep), "versions.sqlite3")


# GET /articles/{id}/versions -------------------------------------------------------------------------


class VersionView(BaseModel):
    version: int
    content_hash: str
    title: str
    recorded_at: datetime
    changed_share: float | None = Field(None, description="Share of body tokens changed since the version before.")
    title_changed: bool
    diff: str | None = Field(None, description="Unified diff (title and paragraphs) against the version before.")
    text: str | None = Field(None, description="The version's text, with include_text=true.")


class VersionHistory(BaseModel):
    id: str
    versions: list[VersionView]
    note: str = "Versions kept by the ingest stage; the oldest are dropped beyond KABAR_VERSIONS_KEPT."


def version_diff(before: Version, after: Version) -> str:
    old = [before.title, "", *before.text.splitlines()]
    new = [after.title, "", *after.text.splitlines()]
    lines = difflib.unified_diff(old, new, f"version {before.version}", f"version {after.version}", lineterm="")
    return "\n".join(lines)


def history_view(article_id: str, versions: list[Version], include_text: bool = False) -> VersionHistory:
    views = []
    for index, version in enumerate(versions):
        before = versions[index - 1] if index else None
        views.append(VersionView(
            version=version.version, content_hash=version.content_hash, title=version.title,
            recorded_at=version.recorded_at, changed_share=version.changed_share,
            title_changed=version.title_changed, diff=version_diff(before, version) if before else None,
            text=version.text if include_text else None,
        ))
    return VersionHistory(id=article_id, versions=views)


# The API's handlers answer every error as an RFC 9457 problem detail, 422 included.
_PROBLEMS: Final = problem_responses({404: "No versions recorded for this article", 422: "Invalid parameter"})


def versions_router(store: Callable[[], VersionStore]) -> APIRouter:
    """``GET /articles/{article_id}/versions``; ``store`` gives the version store (opened lazily)."""
    router = APIRouter(tags=["corrections"])

    @router.get("/articles/{article_id}/versions", response_model=VersionHistory,
                summary="An article's versions and what changed between them", responses=_PROBLEMS)
    def versions(article_id: str,
                 include_text: Annotated[bool, Query(description="Also return each version's text.")] = False,
                 ) -> VersionHistory:
        found = store().history(article_id)
        if not found:
            raise HTTPException(404, f"no versions recorded for article {article_id!r}")
        return history_view(article_id, found, include_text)

    return router
