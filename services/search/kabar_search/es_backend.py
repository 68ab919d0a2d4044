"""The Elasticsearch and OpenSearch backend, through elasticsearch-py (``es_client``).

Writes go through ``es_bulk.BulkWriter``; the index is set up from ``ops/elasticsearch``
by ``es_index.ensure_index``. Reads go through the alias, which may span several backing
indices after a rollover: single documents are read with a real-time ``mget`` over
every backing index (a plain ``get`` refuses an alias with more than one index).

Collapse by story with ``search_after``: Elasticsearch refuses ``collapse`` together
with ``search_after`` unless both are on the same field, so a collapsed page is built
in two steps. (1) The uncollapsed hits after the cursor, in sort order, give the
stories in the order they first appear. (2) One collapsed query over just those
stories gives each story's best hit (its representative), its highlight and, through a
terms aggregation, its article count. A story belongs to this page only if its
representative comes after the cursor; otherwise an earlier page showed it. The next
cursor is the last representative's sort key. Both steps use the same query, so their
scores agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from elasticsearch import Elasticsearch

from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search import es_query as q
from kabar_search import es_stories
from kabar_search.documents import DERIVED_FIELDS, public_document
from kabar_search.es_bulk import BulkWriter, RetryPolicy
from kabar_search.es_client import connect, wrong_engine_hint
from kabar_search.es_compat import ServerFeatures, detect_features
from kabar_search.es_index import ensure_index, template_analysis
from kabar_search.models import IndexOutcome, SearchHit, SearchResult, StoryArticle, StoryList, StoryResult
from kabar_search.query import SimpleQuery
from kabar_search.request import Cursor, SearchOptions, encode_token
from kabar_search.story_query import StoryQuery

_COLLAPSE_ROUNDS: Final = 5
_STORY_SOURCE: Final = ["id", "title", "url", "source_domain", "language", "published_at", "duplicate_of"]


@dataclass(slots=True)
class _Page:
    hits: list[SearchHit] = field(default_factory=list)
    next_cursor: Cursor | None = None
    total: int = 0
    aggs: dict[str, Any] = field(default_factory=dict)


class ElasticsearchBackend:
    def __init__(self, client: Elasticsearch, alias: str, features: ServerFeatures,
                 retry: RetryPolicy | None = None) -> None:
        self._es = client
        self._alias = alias
        self.features = features
        self._writer = BulkWriter(client, alias, retry)

    @classmethod
    def from_settings(cls, settings: KabarSettings, retry: RetryPolicy | None = None) -> ElasticsearchBackend:
        client = connect(settings)
        try:
            features = detect_features(client, template_analysis())
        except Exception as exc:
            hint = wrong_engine_hint(exc, settings)
            if hint is None:
                raise
            raise RuntimeError(hint) from exc
        backend = cls(client, settings.index_alias, features, retry)
        backend.ensure_ready()
        return backend

    @property
    def client(self) -> Elasticsearch:
        return self._es

    def ensure_ready(self) -> None:
        ensure_index(self._es, self._alias, self.features)

    def upsert(self, article: EnrichedArticle) -> bool:
        """One article, visible to searches on return; raises when it could not be written."""
        outcome = self.upsert_many([article], refresh=True)[0]
        if outcome.status in ("rejected", "failed"):
            raise RuntimeError(f"could not index {article.id}: {outcome.reason}")
        return outcome.changed

    def upsert_many(self, articles: Sequence[EnrichedArticle], refresh: bool = False) -> list[IndexOutcome]:
        return self._writer.write(articles, refresh=refresh)

    def refresh(self) -> None:
        self._es.indices.refresh(index=self._alias)

    def get(self, article_id: str) -> dict[str, Any] | None:
        located = self._writer.locate([article_id]).get(article_id)
        if located is None:
            return None
        found = self._es.get(index=located.index, id=article_id)
        return public_document(found["_source"])

    def recent(self, limit: int) -> list[dict[str, Any]]:
        response = self._es.search(index=self._alias, query={"match_all": {}}, size=limit,
                                   sort=[{"ingested_at": "desc"}, {"id": "asc"}], source_excludes=list(DERIVED_FIELDS))
        return [public_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def story(self, story_id: str, limit: int) -> StoryResult | None:
        response = self._es.search(index=self._alias, query={"term": {"story_id": story_id}}, size=limit,
                                   sort=[{"dated_at": "asc"}, {"id": "asc"}], source_includes=_STORY_SOURCE,
                                   track_total_hits=True)
        total = int(response["hits"]["total"]["value"])
        if total == 0:
            return None
        articles = [StoryArticle(**hit["_source"], is_duplicate=hit["_source"].get("duplicate_of") is not None)
                    for hit in response["hits"]["hits"]]
        return StoryResult(story_id=story_id, total=total, articles=articles,
                           summary=es_stories.summaries(self._es, self._alias, [story_id]).get(story_id),
                           timeline=es_stories.timeline(self._es, self._alias, story_id))

    def stories(self, query: StoryQuery) -> StoryList:
        return es_stories.list_stories(self._es, self._alias, query)

    def search(self, query: SimpleQuery, raw_query: str, limit: int,
               options: SearchOptions | None = None) -> SearchResult:
        opts = options or SearchOptions()
        page = self._collapsed(query, opts, limit) if opts.collapse else self._flat(query, opts, limit)
        facets = q.parse_facets(page.aggs, opts.interval) if opts.facets else None
        stories = int(page.aggs["stories"]["value"]) if opts.collapse else None
        token = encode_token(query, opts, page.next_cursor) if page.next_cursor else None
        return SearchResult(query=raw_query, total=page.total, total_stories=stories, hits=page.hits,
                            facets=facets, next_search_after=token)

    def count(self) -> int:
        return int(self._es.count(index=self._alias)["count"])

    def close(self) -> None:
        self._es.close()

    def _search(self, **body: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._es.search(index=self._alias, **body).body
        return response

    def _hits_after(self, body: dict[str, Any], start: Cursor | None,
                    want: int) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
        """Up to ``want`` hits strictly after ``start``, the response, and whether the hits ran out."""
        after = None if start is None else [start.key, start.id]
        response = self._search(**body, size=want, search_after=after)
        hits: list[dict[str, Any]] = response["hits"]["hits"]
        return hits, response, len(hits) < want

    def _flat(self, query: SimpleQuery, opts: SearchOptions, limit: int) -> _Page:
        body = {"query": q.search_query(query, opts.filters), "sort": q.sort_clause(opts.sort),
                "track_total_hits": True, "track_scores": True, "highlight": q.highlight_spec(),
                "source_includes": q.HIT_SOURCE, "aggs": q.facet_aggs(opts.interval, opts.facets, False) or None}
        raw, response, _ = self._hits_after(body, opts.after, limit + 1)
        page = _Page(hits=[_hit(hit) for hit in raw[:limit]], total=int(response["hits"]["total"]["value"]),
                     aggs=response.get("aggregations", {}))
        if len(raw) > limit:
            page.next_cursor = q.cursor_of(raw[limit - 1])
        return page

    def _collapsed(self, query: SimpleQuery, opts: SearchOptions, limit: int) -> _Page:
        page = _Page()
        shown: list[tuple[SearchHit, Cursor]] = []
        decided: set[str] = set()
        cursor, fetch = opts.after, max(50, 4 * (limit + 1))
        for round_number in range(_COLLAPSE_ROUNDS):
            first = round_number == 0
            body = {"query": q.search_query(query, opts.filters), "sort": q.sort_clause(opts.sort),
                    "track_total_hits": first, "source_includes": ["story_id"],
                    "aggs": q.facet_aggs(opts.interval, opts.facets, True) if first else None}
            docs, response, exhausted = self._hits_after(body, cursor, fetch)
            if first:
                page.total, page.aggs = int(response["hits"]["total"]["value"]), response.get("aggregations", {})
            self._take_new_stories(query, opts, docs, decided=decided, shown=shown, wanted=limit + 1)
            if len(shown) > limit or exhausted or not docs:
                break
            cursor, fetch = q.cursor_of(docs[-1]), fetch * 2
        else:
            # Rounds used up with more hits to come: the next page carries on from the last hit examined.
            page.next_cursor = cursor
        page.hits = [hit for hit, _ in shown[:limit]]
        if len(shown) > limit:
            page.next_cursor = shown[limit - 1][1]
        return page

    def _take_new_stories(self, query: SimpleQuery, opts: SearchOptions, docs: list[dict[str, Any]], *,
                          decided: set[str], shown: list[tuple[SearchHit, Cursor]], wanted: int) -> None:
        """Add, in order of first appearance, each story whose best hit lies after the page's cursor."""
        order = list(dict.fromkeys(doc["_source"]["story_id"] for doc in docs))
        new = [story for story in order if story not in decided]
        if not new:
            return
        representatives = self._representatives(query, opts, new)
        for story in new:
            decided.add(story)
            found = representatives.get(story)
            if found is not None and q.is_after(found[1], opts.after):
                shown.append(found)
                if len(shown) >= wanted:
                    return

    def _representatives(self, query: SimpleQuery, opts: SearchOptions,
                         stories: list[str]) -> dict[str, tuple[SearchHit, Cursor]]:
        response = self._search(
            query=q.search_query(query, opts.filters, {"terms": {"story_id": stories}}), size=len(stories),
            sort=q.sort_clause(opts.sort), collapse={"field": "story_id"}, track_scores=True,
            highlight=q.highlight_spec(), source_includes=q.HIT_SOURCE,
            aggs={"per_story": {"terms": {"field": "story_id", "size": len(stories)}}},
        )
        counts = {b["key"]: int(b["doc_count"]) for b in response["aggregations"]["per_story"]["buckets"]}
        found = {}
        for raw in response["hits"]["hits"]:
            hit = _hit(raw).model_copy(update={"story_articles": counts.get(raw["_source"]["story_id"], 1)})
            found[hit.story_id] = (hit, q.cursor_of(raw))
        return found


def _hit(hit: dict[str, Any]) -> SearchHit:
    source = hit["_source"]
    highlight = hit.get("highlight", {})
    return SearchHit(
        id=hit["_id"], title=source["title"], url=source.get("url"), source_domain=source.get("source_domain"),
        language=source["language"], published_at=source.get("published_at"), story_id=source["story_id"],
        duplicate_of=source.get("duplicate_of"), score=round(float(hit.get("_score") or 0.0), 4),
        highlight=q.pick_highlight(highlight, q.TEXT_HIGHLIGHT, fallback=True) or "",
        title_highlight=q.pick_highlight(highlight, q.TITLE_HIGHLIGHT, fallback=False),
    )
