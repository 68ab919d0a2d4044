"""The embedded search backend: SQLite with FTS5, from the standard library.

One file under ``KABAR_DATA_DIR``; each batch of writes is one transaction, so an
interrupted run never leaves half an article in the index. It answers the same API as
the Elasticsearch backend, facets and collapse included:

- a search first puts the matching rows (id, story, date, language, source, score) in
  a temporary table, then runs the page, the totals and each facet over that table;
- collapse by story uses window functions: each story's best row by the requested
  order is its representative (``ROW_NUMBER() = 1``) and ``COUNT(*)`` over the story
  is its article count; paging with ``search_after`` then runs over the
  representatives, exactly as the Elasticsearch backend pages over stories;
- facet ordering follows Elasticsearch's terms aggregation (count descending, then
  value ascending), so both backends return the same facets for the same documents.

The connection is shared by the API's worker threads; a lock keeps each operation
(and its temporary table) to one thread at a time.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from kabar.contract.messages import EnrichedArticle, Entity
from kabar.contract.state import connect, immediate
from kabar_search import sqlite_stories
from kabar_search.documents import (
    ENTITY_FIELDS,
    Revision,
    dated_at,
    entities_by_id,
    next_revision,
    public_document,
    to_document,
)
from kabar_search.models import (
    DateBucket,
    EntityFacetBucket,
    EntityType,
    FacetBucket,
    Facets,
    IndexOutcome,
    Interval,
    SearchHit,
    SearchResult,
    StoryArticle,
    StoryList,
    StoryResult,
)
from kabar_search.query import SimpleQuery
from kabar_search.request import Cursor, Filters, SearchOptions, encode_token, epoch_millis
from kabar_search.story_query import StoryQuery

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    language TEXT NOT NULL,
    source_domain TEXT,
    story_id TEXT NOT NULL,
    duplicate_of TEXT,
    dated_at INTEGER NOT NULL,   -- epoch milliseconds: published_at, else received_at
    ingested_at TEXT NOT NULL,
    doc TEXT NOT NULL            -- the stored document (kabar_search.documents) as JSON
);
CREATE INDEX IF NOT EXISTS articles_by_story ON articles (story_id, dated_at, id);
CREATE INDEX IF NOT EXISTS articles_by_ingest ON articles (ingested_at, id);
CREATE INDEX IF NOT EXISTS articles_by_date ON articles (dated_at);
CREATE TABLE IF NOT EXISTS article_entities (
    article_id TEXT NOT NULL,
    label TEXT NOT NULL,
    entity_id TEXT NOT NULL,     -- Entity.id: facets group on it
    canonical TEXT NOT NULL,     -- its name in this article
    PRIMARY KEY (article_id, label, entity_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_entities_by_name ON article_entities (canonical);
CREATE INDEX IF NOT EXISTS article_entities_by_id ON article_entities (entity_id);
-- rowid = articles.rowid
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    id UNINDEXED, title, text, entities, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TEMP TABLE IF NOT EXISTS matched (
    rid INTEGER PRIMARY KEY, id TEXT, story_id TEXT, dated_at INTEGER, language TEXT, source_domain TEXT,
    score REAL
);
"""
# bm25 weights per FTS column (id, title, text, entities): a title match counts most.
_RANK = "bm25(articles_fts, 0.0, 4.0, 1.0, 2.0)"
_ORDER = {"relevance": ("score", "score DESC, id ASC"), "date": ("dated_at", "dated_at DESC, id ASC")}
_BUCKET: Final[dict[Interval, str]] = {
    "day": "strftime('%Y-%m-%d', dated_at / 1000, 'unixepoch')",
    "week": "date(dated_at / 1000, 'unixepoch', 'weekday 0', '-6 days')",  # the Monday of that week
    "month": "strftime('%Y-%m-01', dated_at / 1000, 'unixepoch')",
    "year": "strftime('%Y-01-01', dated_at / 1000, 'unixepoch')",
}
_FACET_SIZE = 10


def fts_expression(query: SimpleQuery) -> str:
    """Every word quoted, so FTS5 syntax in user input is never interpreted."""
    positive = [f'"{term}"' for term in query.terms]
    positive += ['"' + " ".join(phrase) + '"' for phrase in query.phrases]
    expression = " AND ".join(positive)
    for word in query.excluded:
        expression += f' NOT "{word}"'
    return expression


def filter_sql(filters: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (("a.language", filters.languages), ("a.source_domain", filters.sources),
                           ("a.story_id", filters.story_ids)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    for name in filters.entities:
        clauses.append("EXISTS (SELECT 1 FROM article_entities e WHERE e.article_id = a.id AND e.canonical = ?)")
        params.append(name)
    for entity_id in filters.entity_ids:
        clauses.append("EXISTS (SELECT 1 FROM article_entities e WHERE e.article_id = a.id AND e.entity_id = ?)")
        params.append(entity_id)
    if filters.since_ms is not None:
        clauses.append("a.dated_at >= ?")
        params.append(filters.since_ms)
    if filters.until_ms is not None:
        clauses.append("a.dated_at < ?")
        params.append(filters.until_ms)
    return "".join(f" AND {clause}" for clause in clauses), params


class SqliteBackend:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._lock = threading.RLock()
        self.ensure_ready()

    def ensure_ready(self) -> None:
        with self._lock:
            legacy = self._legacy_rows()
            entities_without_ids = self._drop_entities_without_ids()
            self._db.executescript(_SCHEMA)
            if legacy is not None:
                self._migrate(legacy)
            elif entities_without_ids:
                self._index_entities_again()
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def upsert(self, article: EnrichedArticle) -> bool:
        outcome = self.upsert_many([article])[0]
        if outcome.status in ("rejected", "failed"):
            raise RuntimeError(f"could not index {article.id}: {outcome.reason}")
        return outcome.changed

    def upsert_many(self, articles: Sequence[EnrichedArticle], refresh: bool = False) -> list[IndexOutcome]:
        """One transaction for the batch (``refresh`` is moot: a committed write is visible)."""
        with self._lock:
            # Not ``immediate``: a failed write becomes each article's outcome here, not an exception.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [self._write(article) for article in articles]
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                log.warning("sqlite index write failed: %s", exc)
                return [IndexOutcome(article.id, "failed", reason=f"sqlite: {exc}") for article in articles]
        return outcomes

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible at once."""

    def get(self, article_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM articles WHERE id = ?", (article_id,)).fetchone()
        return public_document(json.loads(row[0])) if row else None

    def recent(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM articles ORDER BY ingested_at DESC, id LIMIT ?",
                                    (limit,)).fetchall()
        return [public_document(json.loads(doc)) for (doc,) in rows]

    def story(self, story_id: str, limit: int) -> StoryResult | None:
        with self._lock:
            summary = sqlite_stories.summaries(self._db, [story_id]).get(story_id)
            if summary is None:
                return None
            rows = self._db.execute("SELECT doc FROM articles WHERE story_id = ? ORDER BY dated_at, id LIMIT ?",
                                    (story_id, limit)).fetchall()
            days = sqlite_stories.timeline(self._db, story_id)
        return StoryResult(story_id=story_id, total=summary.articles, summary=summary, timeline=days,
                           articles=[_story_article(doc) for (doc,) in rows])

    def stories(self, query: StoryQuery) -> StoryList:
        with self._lock:
            return sqlite_stories.list_stories(self._db, query, filter_sql(query.ranking_filters()))

    def search(self, query: SimpleQuery, raw_query: str, limit: int,
               options: SearchOptions | None = None) -> SearchResult:
        opts = options or SearchOptions()
        with self._lock:
            self._match(query, opts.filters)
            rows, next_cursor = self._page(opts, limit)
            hits = self._hits(query, rows)
            total, stories = self._db.execute("SELECT COUNT(*), COUNT(DISTINCT story_id) FROM temp.matched").fetchone()
            facets = self._facets(opts.interval) if opts.facets else None
            self._db.execute("DELETE FROM temp.matched")
        return SearchResult(query=raw_query, total=total, total_stories=stories if opts.collapse else None, hits=hits,
                            facets=facets, next_search_after=encode_token(query, opts, next_cursor)
                            if next_cursor else None)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing

    def _write(self, article: EnrichedArticle) -> IndexOutcome:
        row = self._db.execute("SELECT rowid, doc FROM articles WHERE id = ?", (article.id,)).fetchone()
        current = Revision.from_document(json.loads(row[1])) if row else None
        revision = next_revision(article, current)
        if revision is None:
            return IndexOutcome(article.id, "unchanged", current.version if current else None)
        self._store(article, revision, row[0] if row else None)
        return IndexOutcome(article.id, "created" if row is None else "updated", revision.version)

    def _store(self, article: EnrichedArticle, revision: Revision, rowid: int | None) -> None:
        doc = to_document(article, revision, datetime.now(UTC))
        values = (article.content_hash, revision.version, article.language, article.source_domain,
                  article.story_id, article.duplicate_of, epoch_millis(dated_at(article)),
                  doc["ingested_at"], json.dumps(doc, ensure_ascii=False), article.id)
        if rowid is None:
            rowid = self._db.execute(
                "INSERT INTO articles (content_hash, version, language, source_domain, story_id, duplicate_of, "
                "dated_at, ingested_at, doc, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values,
            ).lastrowid
        else:
            self._db.execute(
                "UPDATE articles SET content_hash = ?, version = ?, language = ?, source_domain = ?, story_id = ?, "
                "duplicate_of = ?, dated_at = ?, ingested_at = ?, doc = ? WHERE id = ?", values,
            )
            self._db.execute("DELETE FROM articles_fts WHERE rowid = ?", (rowid,))
            self._db.execute("DELETE FROM article_entities WHERE article_id = ?", (article.id,))
        self._db.execute("INSERT INTO articles_fts (rowid, id, title, text, entities) VALUES (?, ?, ?, ?, ?)",
                         (rowid, article.id, article.title, article.text, doc["entity_names"]))
        self._db.executemany("INSERT INTO article_entities VALUES (?, ?, ?, ?)",
                             _entity_rows(article.id, article.entities))

    def _legacy_rows(self) -> list[tuple[str, int]] | None:
        """The articles of a schema-1 index (before facets), to carry over; None when there is none."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
        if not columns or "dated_at" in columns:
            return None
        rows = self._db.execute("SELECT doc, version FROM articles").fetchall()
        self._db.executescript("DROP TABLE articles; DROP TABLE IF EXISTS articles_fts;")
        return [(str(doc), int(version)) for doc, version in rows]

    def _drop_entities_without_ids(self) -> bool:
        """A schema-2 index keeps entities by name only; its table is dropped and built again."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(article_entities)")}
        if not columns or "entity_id" in columns:
            return False
        self._db.execute("DROP TABLE article_entities")
        return True

    def _index_entities_again(self) -> None:
        """Entities by id from the stored documents (an entity stored without an id gets the id of its name)."""
        with immediate(self._db) as db:
            rows = db.execute("SELECT doc FROM articles").fetchall()
            for (doc,) in rows:
                stored = json.loads(doc)
                entities = [Entity.model_validate(entity) for entity in stored.get("entities") or []]
                db.executemany("INSERT OR IGNORE INTO article_entities VALUES (?, ?, ?, ?)",
                               _entity_rows(stored["id"], entities))
        log.info("search index upgraded to schema %d: entities indexed by id (%d articles)", SCHEMA_VERSION,
                 len(rows))

    def _migrate(self, legacy: list[tuple[str, int]]) -> None:
        with immediate(self._db):
            for doc, version in legacy:
                try:
                    article = EnrichedArticle.model_validate_json(doc)
                except ValidationError as exc:
                    log.warning("search index upgrade: dropped an article that no longer validates (%s); "
                                "re-ingest it", exc.errors()[0]["msg"])
                    continue
                self._store(article, Revision(article.content_hash, version), None)
        log.info("search index upgraded to schema %d (%d articles)", SCHEMA_VERSION, len(legacy))

    # -- searching

    def _match(self, query: SimpleQuery, filters: Filters) -> None:
        where, params = filter_sql(filters)
        self._db.execute("DELETE FROM temp.matched")
        self._db.execute(
            f"""INSERT INTO temp.matched
                SELECT a.rowid, a.id, a.story_id, a.dated_at, a.language, a.source_domain, -{_RANK}
                FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid
                WHERE articles_fts MATCH ?{where}""",
            (fts_expression(query), *params),
        )

    def _page(self, opts: SearchOptions, limit: int) -> tuple[list[tuple[Any, ...]], Cursor | None]:
        key, order = _ORDER[opts.sort]
        after, params = "1", []
        if opts.after is not None:
            after = f"({key} < ? OR ({key} = ? AND id > ?))"
            params = [opts.after.key, opts.after.key, opts.after.id]
        if opts.collapse:
            sql = f"""WITH ranked AS (
                        SELECT *, ROW_NUMBER() OVER (PARTITION BY story_id ORDER BY {order}) AS rn,
                               COUNT(*) OVER (PARTITION BY story_id) AS story_articles
                        FROM temp.matched)
                      SELECT rid, {key}, id, score, story_articles FROM ranked WHERE rn = 1 AND {after}
                      ORDER BY {order} LIMIT ?"""
        else:
            sql = f"SELECT rid, {key}, id, score, NULL FROM temp.matched WHERE {after} ORDER BY {order} LIMIT ?"
        rows = self._db.execute(sql, (*params, limit + 1)).fetchall()
        next_cursor = Cursor(key=rows[limit - 1][1], id=rows[limit - 1][2]) if len(rows) > limit else None
        return rows[:limit], next_cursor

    def _hits(self, query: SimpleQuery, rows: list[tuple[Any, ...]]) -> list[SearchHit]:
        if not rows:
            return []
        marks = ", ".join("?" * len(rows))
        rowids = [row[0] for row in rows]
        docs = dict(self._db.execute(f"SELECT rowid, doc FROM articles WHERE rowid IN ({marks})", rowids).fetchall())
        highlights = {rowid: (snippet, title) for rowid, snippet, title in self._db.execute(
            f"""SELECT rowid, snippet(articles_fts, 2, '<mark>', '</mark>', '…', 24),
                       highlight(articles_fts, 1, '<mark>', '</mark>')
                FROM articles_fts WHERE articles_fts MATCH ? AND rowid IN ({marks})""",
            (fts_expression(query), *rowids),
        )}
        return [_hit(json.loads(docs[rowid]), score, highlights[rowid], count)
                for rowid, _, _, score, count in rows]

    def _facets(self, interval: Interval) -> Facets:
        def top(column: str) -> list[FacetBucket]:
            rows = self._db.execute(f"""SELECT {column}, COUNT(*) AS n FROM temp.matched WHERE {column} IS NOT NULL
                                        GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?""", (_FACET_SIZE,))
            return [FacetBucket(value=value, count=count) for value, count in rows]

        entities: dict[EntityType, list[EntityFacetBucket]] = {label: [] for label in ENTITY_FIELDS}
        for label, entity_id, name, count in self._db.execute(
            """SELECT label, entity_id, name, n FROM (
                   SELECT e.label, e.entity_id, MIN(e.canonical) AS name, COUNT(*) AS n,
                          ROW_NUMBER() OVER (PARTITION BY e.label ORDER BY COUNT(*) DESC, e.entity_id) AS place
                   FROM temp.matched m JOIN article_entities e ON e.article_id = m.id
                   GROUP BY e.label, e.entity_id)
               WHERE place <= ? ORDER BY label, place""", (_FACET_SIZE,),
        ):
            entities[label].append(EntityFacetBucket(value=name, count=count, id=entity_id))
        dates = [DateBucket(start=date.fromisoformat(start), count=count) for start, count in self._db.execute(
            f"SELECT {_BUCKET[interval]} AS bucket, COUNT(*) FROM temp.matched GROUP BY bucket ORDER BY bucket")]
        return Facets(language=top("language"), source=top("source_domain"), entities=entities, dates=dates,
                      interval=interval)


def _entity_rows(article_id: str, entities: Sequence[Entity]) -> list[tuple[str, str, str, str]]:
    """One row per entity of an article: (article, type, entity id, name)."""
    by_id = entities_by_id(entities)
    return [(article_id, label, entity_id, name) for label, names in by_id.items() for entity_id, name in names.items()]


def _hit(doc: dict[str, Any], score: float, highlights: tuple[str, str], story_articles: int | None) -> SearchHit:
    snippet, title = highlights
    return SearchHit(
        id=doc["id"], title=doc["title"], url=doc.get("url"), source_domain=doc.get("source_domain"),
        language=doc["language"], published_at=doc.get("published_at"), story_id=doc["story_id"],
        duplicate_of=doc.get("duplicate_of"), score=round(score, 4), highlight=snippet,
        title_highlight=title if "<mark>" in title else None, story_articles=story_articles,
    )


def _story_article(doc_json: str) -> StoryArticle:
    doc = json.loads(doc_json)
    return StoryArticle(id=doc["id"], title=doc["title"], url=doc.get("url"), source_domain=doc.get("source_domain"),
                        language=doc["language"], published_at=doc.get("published_at"),
                        duplicate_of=doc.get("duplicate_of"), is_duplicate=doc.get("duplicate_of") is not None)
