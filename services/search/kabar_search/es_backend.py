"""The Elasticsearch backend, through the official client.

The index template lives in ``ops/elasticsearch/index-template.json`` (shipped inside the
package too) and is applied at start, idempotently, with a first index behind the write
alias.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search.es_compat import connect
from kabar_search.models import SearchHit, SearchResult
from kabar_search.query import SimpleQuery

TEMPLATE_NAME = "kabar-articles"


def load_index_template() -> dict[str, Any]:
    text = resources.files("kabar_search").joinpath("index-template.json").read_text(encoding="utf-8")
    template: dict[str, Any] = json.loads(text)
    return template


def es_query(query: SimpleQuery) -> dict[str, Any]:
    """The parsed query as a bool query; user text never reaches a query parser."""
    fields = ["title^4", "text", "entity_names^2"]
    must: list[dict[str, Any]] = [
        {"multi_match": {"query": term, "fields": fields}} for term in query.terms
    ]
    must += [{"multi_match": {"query": " ".join(phrase), "type": "phrase", "fields": fields}}
             for phrase in query.phrases]
    must_not = [{"multi_match": {"query": word, "fields": fields}} for word in query.excluded]
    return {"bool": {"must": must, "must_not": must_not}}


class ElasticsearchBackend:
    def __init__(self, client: Elasticsearch, alias: str) -> None:
        self._es = client
        self._alias = alias

    @classmethod
    def from_settings(cls, settings: KabarSettings) -> ElasticsearchBackend:
        backend = cls(connect(settings), settings.index_alias)
        backend.ensure_ready()
        return backend

    def ensure_ready(self) -> None:
        template = load_index_template()
        template["index_patterns"] = [f"{self._alias}-*"]
        self._es.indices.put_index_template(name=TEMPLATE_NAME, **template)
        if not self._es.indices.exists_alias(name=self._alias):
            try:
                self._es.indices.create(index=f"{self._alias}-000001",
                                        aliases={self._alias: {"is_write_index": True}})
            except ConflictError:
                pass  # another process created it first
            except Exception as exc:
                if "resource_already_exists" not in str(exc):
                    raise

    def upsert(self, article: EnrichedArticle) -> bool:
        current = self.get(article.id)
        if current is not None and current.get("content_hash") == article.content_hash:
            return False
        doc = article.model_dump(mode="json")
        doc["entity_names"] = " ".join(sorted({entity.canonical for entity in article.entities}))
        doc["version"] = int(current.get("version", 1)) + 1 if current else 1
        doc["indexed_at"] = datetime.now(UTC).isoformat()
        self._es.index(index=self._alias, id=article.id, document=doc, refresh=True)
        return True

    def get(self, article_id: str) -> dict[str, Any] | None:
        try:
            found = self._es.get(index=self._alias, id=article_id)
        except NotFoundError:
            return None
        source: dict[str, Any] = found["_source"]
        source.pop("entity_names", None)
        return source

    def recent(self, limit: int) -> list[dict[str, Any]]:
        response = self._es.search(index=self._alias, query={"match_all": {}}, size=limit,
                                   sort=[{"ingested_at": "desc"}, {"id": "asc"}],
                                   source_excludes=["entity_names"])
        return [hit["_source"] for hit in response["hits"]["hits"]]

    def search(self, query: SimpleQuery, raw_query: str, limit: int) -> SearchResult:
        response = self._es.search(
            index=self._alias, query=es_query(query), size=limit, track_total_hits=True,
            source_excludes=["text", "entities", "fingerprint", "entity_names"],
            highlight={"pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                       "fields": {"text": {"fragment_size": 160, "number_of_fragments": 1}}},
        )
        hits = [_hit(hit) for hit in response["hits"]["hits"]]
        return SearchResult(query=raw_query, total=int(response["hits"]["total"]["value"]), hits=hits)

    def count(self) -> int:
        return int(self._es.count(index=self._alias)["count"])

    def close(self) -> None:
        self._es.close()


def _hit(hit: dict[str, Any]) -> SearchHit:
    source = hit["_source"]
    fragments = hit.get("highlight", {}).get("text", [])
    return SearchHit(
        id=hit["_id"], title=source["title"], url=source.get("url"), source_domain=source.get("source_domain"),
        language=source["language"], published_at=source.get("published_at"), story_id=source["story_id"],
        duplicate_of=source.get("duplicate_of"), score=round(float(hit.get("_score") or 0.0), 4),
        highlight=fragments[0] if fragments else "",
    )
