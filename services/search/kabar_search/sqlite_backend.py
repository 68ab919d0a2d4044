"""The embedded search backend: SQLite with FTS5, from the standard library.

One file under ``KABAR_DATA_DIR``; each write is one transaction, so an interrupted run
never leaves half an article in the index.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from kabar.contract.messages import EnrichedArticle
from kabar_search.models import SearchHit, SearchResult
from kabar_search.query import SimpleQuery

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    language TEXT,
    story_id TEXT,
    published_at TEXT,
    doc TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    id UNINDEXED, title, text, entities, tokenize = 'unicode61 remove_diacritics 2'
);
"""
# bm25 weights per FTS column (id, title, text, entities): a title match counts most.
_RANK = "bm25(articles_fts, 0.0, 4.0, 1.0, 2.0)"


def fts_expression(query: SimpleQuery) -> str:
    """Every word quoted, so FTS5 syntax in user input is never interpreted."""
    positive = [f'"{term}"' for term in query.terms]
    positive += ['"' + " ".join(phrase) + '"' for phrase in query.phrases]
    expression = " AND ".join(positive)
    for word in query.excluded:
        expression += f' NOT "{word}"'
    return expression


class SqliteBackend:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self.ensure_ready()

    def ensure_ready(self) -> None:
        self._db.executescript(_SCHEMA)

    def upsert(self, article: EnrichedArticle) -> bool:
        entities = " ".join(sorted({entity.canonical for entity in article.entities}))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT content_hash, version FROM articles WHERE id = ?",
                                   (article.id,)).fetchone()
            if row is not None and row[0] == article.content_hash:
                self._db.execute("COMMIT")
                return False
            version = row[1] + 1 if row else 1
            self._db.execute("DELETE FROM articles_fts WHERE id = ?", (article.id,))
            self._db.execute(
                "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?)",
                (article.id, article.content_hash, version, article.language, article.story_id,
                 article.published_at.isoformat() if article.published_at else None,
                 article.model_dump_json()),
            )
            self._db.execute("INSERT INTO articles_fts VALUES (?, ?, ?, ?)",
                             (article.id, article.title, article.text, entities))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return True

    def get(self, article_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT doc, version FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return None
        doc: dict[str, Any] = json.loads(row[0])
        doc["version"] = row[1]
        return doc

    def recent(self, limit: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id FROM articles ORDER BY json_extract(doc, '$.ingested_at') DESC, id LIMIT ?", (limit,)
        ).fetchall()
        return [doc for (article_id,) in rows if (doc := self.get(article_id)) is not None]

    def search(self, query: SimpleQuery, raw_query: str, limit: int) -> SearchResult:
        expression = fts_expression(query)
        total = self._db.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH ?",
                                 (expression,)).fetchone()[0]
        rows = self._db.execute(
            f"""SELECT a.doc, {_RANK} AS rank,
                       snippet(articles_fts, 2, '<mark>', '</mark>', '…', 24)
                FROM articles_fts JOIN articles a ON a.id = articles_fts.id
                WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?""",
            (expression, limit),
        ).fetchall()
        return SearchResult(query=raw_query, total=total, hits=[_hit(doc, rank, snippet)
                                                                for doc, rank, snippet in rows])

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def _hit(doc_json: str, rank: float, snippet: str) -> SearchHit:
    doc = json.loads(doc_json)
    return SearchHit(
        id=doc["id"], title=doc["title"], url=doc.get("url"), source_domain=doc.get("source_domain"),
        language=doc["language"], published_at=doc.get("published_at"), story_id=doc["story_id"],
        duplicate_of=doc.get("duplicate_of"), score=round(-rank, 4), highlight=snippet,
    )
