"""Which watchlists an indexed article matches: the same answer ``GET /search`` would give.

Two matchers, one question: would a search with the watchlist's query and filters find
this article?

- ``PercolatorMatcher`` (OpenSearch, Elasticsearch's full distribution): each watchlist is stored, in a small percolator
  index, as the very query ``es_query.search_query`` builds for a search, next to copies of
  the article fields it searches (same analyzers, stemmed sub-fields included). A
  ``percolate`` query then asks which of them the article matches. The percolator index is
  derived from the watchlist store and resynced when the store's revision changes.
- ``FtsMatcher`` (the equivalent, for the SQLite backend and for servers without a
  percolator): the article goes into a one-row, in-memory SQLite FTS5 table with the search
  index's columns and tokenizer (``unicode61 remove_diacritics 2``), and each watchlist's
  query runs against it as the expression the SQLite backend searches with
  (``sqlite_backend.fts_expression``). The filters are checked in Python with the SQLite
  backend's semantics: languages and sources ORed, every entity required, exact values.

On the SQLite backend the equivalent is exact by construction. On a server without a
percolator (Elasticsearch's integ-test distribution in the tests, which also lacks the language
analyzers and accent folding) it finds what that server's search finds for plain words (tested
against both on a shared corpus). Where the two part, it sides with SQLite:

- SQLite splits at dots, apostrophes and underscores between letters or digits
  ("Kremlin.ru", "don't", "3.5", "snake_case"); the standard tokenizer keeps one word;
- SQLite folds diacritics ("café" finds "cafe"); a server without asciifolding does not.

Where the server has a percolator (OpenSearch, Elasticsearch's full distribution), watchlists
match exactly what its search finds, stemming included.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search.documents import ENTITY_FIELDS, canonical_entities
from kabar_search.query import QueryError, SimpleQuery
from kabar_search.request import Filters
from kabar_search.sqlite_backend import fts_expression
from kabar_search.watch.models import Watchlist

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from kabar_search.backend import SearchBackend
    from kabar_search.es_compat import ServerFeatures

log = logging.getLogger(__name__)

# The search index's tokenizer (kabar_search.sqlite_backend): the equivalent must split words the same way.
FTS_TOKENIZER: Final = "unicode61 remove_diacritics 2"
PERCOLATED_FIELDS: Final = ("title", "text", "entity_names", *ENTITY_FIELDS.values(), "entity_ids", "language",
                             "source_domain")


@dataclass(frozen=True, slots=True)
class CompiledWatchlist:
    watchlist: Watchlist
    query: SimpleQuery
    filters: Filters
    expression: str  # the FTS5 expression the SQLite backend would search with


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The watchlists at one store revision, parsed once."""

    revision: int
    watchlists: tuple[CompiledWatchlist, ...] = field(default=())


def compile_snapshot(revision: int, watchlists: Sequence[Watchlist]) -> Snapshot:
    compiled = []
    for watchlist in watchlists:
        try:
            query, filters = watchlist.parsed()
        except QueryError as exc:  # stored under an older parser: skip it rather than stop indexing
            log.error("watchlist %s cannot be matched: %s", watchlist.id, exc)  # noqa: TRY400 - no traceback
            continue
        compiled.append(CompiledWatchlist(watchlist, query, filters, fts_expression(query)))
    return Snapshot(revision, tuple(compiled))


@dataclass(frozen=True, slots=True)
class ArticleFields:
    """What a search looks at in an article, derived as ``documents.to_document`` derives it."""

    title: str
    text: str
    entity_names: str
    language: str
    source_domain: str | None
    entities: dict[str, list[str]]  # per search field (entity_per …), canonical names
    entity_ids: list[str]

    @classmethod
    def of(cls, article: EnrichedArticle) -> ArticleFields:
        by_label = canonical_entities(article)
        names = sorted({name for found in by_label.values() for name in found})
        return cls(article.title, article.text, " ".join(names), article.language, article.source_domain,
                   {ENTITY_FIELDS[label]: found for label, found in by_label.items()},
                   sorted({entity.id for entity in article.entities}))

    def mentions(self, name: str) -> bool:
        return any(name in found for found in self.entities.values())

    def document(self) -> dict[str, Any]:
        """The fields a percolated query can look at, as the article index stores them."""
        return {"title": self.title, "text": self.text, "entity_names": self.entity_names,
                "language": self.language, "source_domain": self.source_domain, **self.entities,
                "entity_ids": self.entity_ids}


def passes_filters(filters: Filters, fields: ArticleFields) -> bool:
    """``sqlite_backend.filter_sql`` and ``es_query.filter_clauses`` for one article (no dates)."""
    if filters.languages and fields.language not in filters.languages:
        return False
    if filters.sources and fields.source_domain not in filters.sources:
        return False
    return all(fields.mentions(name) for name in filters.entities) and all(
        entity_id in fields.entity_ids for entity_id in filters.entity_ids)


class Matcher(Protocol):
    name: str

    def match(self, article: EnrichedArticle, snapshot: Snapshot) -> list[Watchlist]: ...


class FtsMatcher:
    """The equivalent of the percolator: one article at a time in an in-memory FTS5 table."""

    name = "equivalent"

    def __init__(self) -> None:
        self._local = threading.local()  # the index worker runs threads: one connection each

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(":memory:")
            db.execute(f"CREATE VIRTUAL TABLE article USING fts5(title, text, entities, tokenize = '{FTS_TOKENIZER}')")
            self._local.db = db
        return db

    def match(self, article: EnrichedArticle, snapshot: Snapshot) -> list[Watchlist]:
        fields = ArticleFields.of(article)
        candidates = [item for item in snapshot.watchlists if passes_filters(item.filters, fields)]
        if not candidates:
            return []
        db = self._db()
        db.execute("DELETE FROM article")
        db.execute("INSERT INTO article VALUES (?, ?, ?)", (fields.title, fields.text, fields.entity_names))
        return [item.watchlist for item in candidates
                if db.execute("SELECT 1 FROM article WHERE article MATCH ?", (item.expression,)).fetchone()]


class PercolatorMatcher:
    """Elasticsearch's percolator over the watchlists' search queries."""

    name = "percolator"

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self._es = client
        self._index = index
        self._synced = -1
        self._lock = threading.Lock()

    def match(self, article: EnrichedArticle, snapshot: Snapshot) -> list[Watchlist]:
        if not snapshot.watchlists:
            return []
        self._sync(snapshot)
        response = self._es.search(
            index=self._index, size=len(snapshot.watchlists), source_includes=["watchlist_id"],
            query={"bool": {"filter": [{"percolate": {"field": "query",
                                                      "document": ArticleFields.of(article).document()}}]}},
        )
        found = {hit["_source"]["watchlist_id"] for hit in response["hits"]["hits"]}
        # The snapshot has the last word: a watchlist removed since the last sync is not reported.
        return [item.watchlist for item in snapshot.watchlists if item.watchlist.id in found]

    def _sync(self, snapshot: Snapshot) -> None:
        """Make the percolator index hold the snapshot's watchlists (idempotent; workers may race).

        Each document carries the revision that wrote it, and a sync deletes only documents of
        its revision or older, so a worker with an older snapshot never deletes a newer watchlist.
        """
        from elasticsearch import helpers  # noqa: PLC0415

        from kabar_search.es_query import search_query  # noqa: PLC0415

        with self._lock:
            if self._synced == snapshot.revision:
                return
            actions = [{"_op_type": "index", "_index": self._index, "_id": item.watchlist.id,
                        "_source": {"watchlist_id": item.watchlist.id, "revision": snapshot.revision,
                                    "query": search_query(item.query, item.filters)}}
                       for item in snapshot.watchlists]
            helpers.bulk(self._es, actions, refresh="wait_for")
            self._es.delete_by_query(index=self._index, conflicts="proceed", refresh=True, query={"bool": {
                "filter": [{"range": {"revision": {"lte": snapshot.revision}}}],
                "must_not": [{"ids": {"values": [item.watchlist.id for item in snapshot.watchlists]}}]}})
            self._synced = snapshot.revision


def percolator_index(settings: KabarSettings) -> str:
    # Not under the article alias: the articles' index template (pattern "<alias>-*") must not apply.
    return f"{settings.key_prefix}-watchlists"


def percolator_index_body(alias: str, features: ServerFeatures) -> dict[str, Any]:
    """The article index's analysis and searched fields, plus the stored queries."""
    from kabar_search.es_index import index_template  # noqa: PLC0415

    template = index_template(alias, features)["template"]
    properties = template["mappings"]["properties"]
    mapped: dict[str, Any] = {name: properties[name] for name in PERCOLATED_FIELDS}
    mapped.update(query={"type": "percolator"}, watchlist_id={"type": "keyword"}, revision={"type": "long"})
    index_settings = {key: template["settings"][key] for key in ("number_of_shards", "number_of_replicas", "analysis")}
    return {"settings": index_settings, "mappings": {"dynamic": "strict", "properties": mapped}}


def open_matcher(settings: KabarSettings, backend: SearchBackend) -> Matcher:
    """The percolator where the search server has one, else the equivalent (always for SQLite)."""
    if settings.search_engine is None:
        return FtsMatcher()
    from elasticsearch import ApiError  # noqa: PLC0415

    from kabar_search.es_backend import ElasticsearchBackend  # noqa: PLC0415
    from kabar_search.es_compat import has_percolator  # noqa: PLC0415

    if not isinstance(backend, ElasticsearchBackend):
        return FtsMatcher()
    index = percolator_index(settings)
    body = percolator_index_body(settings.index_alias, backend.features)
    try:
        backend.client.indices.create(index=index, settings=body["settings"], mappings=body["mappings"])
    except ApiError as exc:
        if "resource_already_exists" not in str(exc):
            if exc.status_code != 400:
                raise
            log.warning("the search server refused the watchlist percolator index (%s); "
                        "watchlists are matched by the equivalent", exc)
            return FtsMatcher()
    if has_percolator(backend.client, index):
        return PercolatorMatcher(backend.client, index)
    log.warning("the search server has no percolator; watchlists are matched by the equivalent (kabar_search.watch)")
    return FtsMatcher()
