"""Bulk writes to Elasticsearch with per-document outcomes (``elasticsearch.helpers``).

One call writes a batch of articles in rounds:

1. Look every id up across *all* backing indices of the alias with a real-time
   ``mget`` (a search would miss documents written in the last refresh interval). An
   article whose id already lives in an older backing index is written back to *that*
   index, so a rollover never leaves two copies of one article.
2. Skip an article whose content hash is stored already (a redelivered message); give a
   changed one the next version, keeping the previous content hashes.
3. Write with optimistic concurrency: ``create`` for a new id (fails if another worker
   created it meanwhile), ``index`` with ``if_seq_no``/``if_primary_term`` for an update
   (fails if another worker changed it meanwhile). A 409 sends the article to the next
   round, which looks it up again: no lost update, no version counted twice.
4. Per-item results: 429 and 5xx (and a connection failure of the whole request) are
   retried with exponential backoff and jitter; any other refusal is the document's own
   fault (a mapping error) and is reported as ``rejected`` with the server's reason.

An id appears at most once per round; a second copy of it in the same batch waits for
the next round, so the batch applies in order.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from kabar.contract.messages import EnrichedArticle
from kabar_search.documents import Revision, next_revision, to_document
from kabar_search.models import IndexOutcome, IndexStatus
from kabar_search.request import MAX_ID_BYTES

log = logging.getLogger(__name__)

_REVISION_FIELDS: Final = ["content_hash", "version", "previous_content_hashes"]
_CONFLICT: Final = 409
_MAX_CHUNK_BYTES: Final = 10 * 1024 * 1024  # well under Elasticsearch's default http.max_content_length


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # rounds a document may fail transiently before it is reported as failed
    backoff: float = 0.5  # seconds before the first retry; doubles each round
    backoff_max: float = 10.0
    conflict_rounds: int = 10  # 409s are cheap to retry (no backoff) but must not loop forever


@dataclass(frozen=True, slots=True)
class Located:
    """Where an id is stored now: the index and the sequence numbers to update it safely."""

    index: str
    seq_no: int
    primary_term: int
    revision: Revision
    stale_copies: tuple[str, ...] = ()  # other indices holding the same id (from before this writer)


@dataclass(slots=True)
class _Item:
    position: int
    article: EnrichedArticle
    transient_failures: int = 0
    conflicts: int = 0
    last_reason: str = ""


@dataclass(slots=True)
class _Round:
    """The actions of one round, and for each action the item it writes (None: a cleanup delete)."""

    actions: list[dict[str, Any]] = field(default_factory=list)
    items: list[_Item | None] = field(default_factory=list)
    versions: dict[int, int] = field(default_factory=dict)


class BulkWriter:
    def __init__(self, client: Elasticsearch, alias: str, retry: RetryPolicy | None = None) -> None:
        self._es = client
        self._alias = alias
        self._retry = retry or RetryPolicy()

    def write(self, articles: Sequence[EnrichedArticle], refresh: bool = False) -> list[IndexOutcome]:
        outcomes: dict[int, IndexOutcome] = {}
        pending = []
        for position, article in enumerate(articles):
            if len(article.id.encode()) > MAX_ID_BYTES:
                outcomes[position] = IndexOutcome(article.id, "rejected", reason=f"id longer than {MAX_ID_BYTES} bytes")
            else:
                pending.append(_Item(position, article))
        backoffs = 0
        while pending:
            current, deferred = _one_per_id(pending)
            failures_before = sum(item.transient_failures for item in current)
            retry = self._round(current, outcomes)
            pending = retry + deferred
            if retry and sum(item.transient_failures for item in current) > failures_before:
                backoffs += 1
                time.sleep(self._delay(backoffs))
        if refresh and any(outcome.changed for outcome in outcomes.values()):
            self._es.indices.refresh(index=self._alias)
        return [outcomes[position] for position in range(len(articles))]

    def _delay(self, attempt: int) -> float:
        # Full jitter: workers that failed together do not all come back at the same moment.
        return random.uniform(0, min(self._retry.backoff_max, self._retry.backoff * 2 ** (attempt - 1)))  # noqa: S311

    def _round(self, items: list[_Item], outcomes: dict[int, IndexOutcome]) -> list[_Item]:
        """Write ``items`` once; returns those to try again."""
        try:
            located = self.locate([item.article.id for item in items])
        except (ApiError, TransportError) as exc:
            return self._all_transient(items, outcomes, f"lookup failed: {exc}")
        batch = self._actions(items, located, outcomes)
        if not batch.actions:
            return []
        retry: list[_Item] = []
        for item, (ok, result) in zip(batch.items, self._send(batch.actions), strict=True):
            if item is not None:
                self._settle(item, ok, result, versions=batch.versions, outcomes=outcomes, retry=retry)
        return retry

    def locate(self, ids: list[str]) -> dict[str, Located]:
        """Where each id is stored, across every backing index of the alias (real-time)."""
        indices = sorted(self._es.indices.get_alias(name=self._alias).body)
        docs = [{"_index": index, "_id": doc_id} for doc_id in ids for index in indices]
        found: dict[str, list[dict[str, Any]]] = {}
        for doc in self._es.mget(docs=docs, source_includes=_REVISION_FIELDS)["docs"]:
            if doc.get("found"):
                found.setdefault(doc["_id"], []).append(doc)
        return {doc_id: _located(copies) for doc_id, copies in found.items()}

    def _actions(self, items: list[_Item], located: dict[str, Located],
                 outcomes: dict[int, IndexOutcome]) -> _Round:
        batch = _Round()
        now = datetime.now(UTC)
        for item in items:
            where = located.get(item.article.id)
            revision = next_revision(item.article, where.revision if where else None)
            if revision is None:
                assert where is not None  # an unchanged article is stored somewhere
                outcomes[item.position] = IndexOutcome(item.article.id, "unchanged", where.revision.version)
                continue
            batch.actions.append(_write_action(self._alias, item.article, revision, where, now))
            batch.items.append(item)
            batch.versions[item.position] = revision.version
            for stale in where.stale_copies if where else ():
                batch.actions.append({"_op_type": "delete", "_index": stale, "_id": item.article.id})
                batch.items.append(None)
        return batch

    def _send(self, actions: list[dict[str, Any]]) -> Iterator[tuple[bool, dict[str, Any]]]:
        """One result per action, in order; a failed request becomes a transient failure of each."""
        results: list[tuple[bool, dict[str, Any]]] = []
        try:
            for ok, result in helpers.streaming_bulk(self._es, actions, max_chunk_bytes=_MAX_CHUNK_BYTES,
                                                     raise_on_error=False, raise_on_exception=False, max_retries=0):
                results.append((ok, result))
        except TransportError as exc:  # connection refused, timeout: the request never completed
            log.warning("bulk request failed: %s", exc)
        failed = {"error": "the bulk request did not complete", "status": 503}
        results += [(False, {"index": failed})] * (len(actions) - len(results))
        return iter(results)

    def _settle(self, item: _Item, ok: bool, result: dict[str, Any], *, versions: dict[int, int],
                outcomes: dict[int, IndexOutcome], retry: list[_Item]) -> None:
        info = next(iter(result.values()))
        article_id = item.article.id
        if ok:
            written: IndexStatus = "created" if info.get("result") == "created" else "updated"
            outcomes[item.position] = IndexOutcome(article_id, written, versions[item.position])
            return
        status, reason = _status(info), _reason(info)
        item.last_reason = reason
        if status == _CONFLICT and item.conflicts < self._retry.conflict_rounds:
            item.conflicts += 1
            retry.append(item)
        elif _is_transient(status) and item.transient_failures + 1 < self._retry.attempts:
            item.transient_failures += 1
            retry.append(item)
        elif _is_transient(status) or status == _CONFLICT:
            outcomes[item.position] = IndexOutcome(article_id, "failed", reason=reason)
        else:
            outcomes[item.position] = IndexOutcome(article_id, "rejected", reason=reason)

    def _all_transient(self, items: list[_Item], outcomes: dict[int, IndexOutcome], reason: str) -> list[_Item]:
        retry = []
        for item in items:
            item.last_reason = reason
            item.transient_failures += 1
            if item.transient_failures < self._retry.attempts:
                retry.append(item)
            else:
                outcomes[item.position] = IndexOutcome(item.article.id, "failed", reason=reason)
        return retry


def _one_per_id(items: list[_Item]) -> tuple[list[_Item], list[_Item]]:
    seen: set[str] = set()
    current: list[_Item] = []
    deferred: list[_Item] = []
    for item in items:
        (deferred if item.article.id in seen else current).append(item)
        seen.add(item.article.id)
    return current, deferred


def _located(copies: list[dict[str, Any]]) -> Located:
    """The newest copy is the article; any other copy is a leftover to delete."""
    copies.sort(key=lambda doc: (int(doc["_source"].get("version", 1)), doc["_index"]), reverse=True)
    keep = copies[0]
    return Located(keep["_index"], int(keep["_seq_no"]), int(keep["_primary_term"]),
                   Revision.from_document(keep["_source"]), tuple(doc["_index"] for doc in copies[1:]))


def _write_action(alias: str, article: EnrichedArticle, revision: Revision, where: Located | None,
                  now: datetime) -> dict[str, Any]:
    source = to_document(article, revision, now)
    if where is None:
        return {"_op_type": "create", "_index": alias, "_id": article.id, "_source": source}
    return {"_op_type": "index", "_index": where.index, "_id": article.id, "if_seq_no": where.seq_no,
            "if_primary_term": where.primary_term, "_source": source}


def _status(info: dict[str, Any]) -> int:
    status = info.get("status")
    return status if isinstance(status, int) else 503


def _is_transient(status: int) -> bool:
    return status == 429 or status >= 500


def _reason(info: dict[str, Any]) -> str:
    """The server's own words: error type and reason, with the innermost cause."""
    error = info.get("error")
    if not isinstance(error, dict):
        return str(error)[:1000]
    text = f"{error.get('type')}: {error.get('reason')}"
    cause = error.get("caused_by")
    while isinstance(cause, dict):
        text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        cause = cause.get("caused_by")
    return text[:2000]
