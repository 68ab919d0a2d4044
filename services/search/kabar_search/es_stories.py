"""Story summaries on Elasticsearch: aggregations over the indexed articles when asked.

The article index is the one source of truth; nothing is stored per story. A list is two
requests: a terms aggregation on ``story_id`` ranks the stories with matching articles (by
their latest date, or by their article count in the growth window), then one request
summarises the stories of the page (aggregations per story, and a collapse on ``story_id``
for each story's headline: its first article that is not a near-copy).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from elasticsearch import Elasticsearch

from kabar_search import es_query as q
from kabar_search.documents import ENTITY_KEY_FIELDS
from kabar_search.models import DateBucket, FacetBucket, StoryEntity, StoryList, StorySummary
from kabar_search.story_query import TOP_ENTITIES, TOP_OUTLETS, StoryQuery

_ORDER: Final[dict[str, list[dict[str, str]]]] = {
    "recent": [{"last": "desc"}, {"_key": "asc"}],
    "growth": [{"_count": "desc"}, {"last": "desc"}, {"_key": "asc"}],
}
_LANGUAGES: Final = 20


def _moment(millis: float) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _search(es: Elasticsearch, alias: str, **body: Any) -> dict[str, Any]:
    response: dict[str, Any] = es.search(index=alias, **body).body
    return response


def list_stories(es: Elasticsearch, alias: str, query: StoryQuery) -> StoryList:
    response = _search(es, alias, size=0, query={"bool": {"filter": q.filter_clauses(query.ranking_filters())}},
                       aggs={"total": {"cardinality": {"field": "story_id",
                                                       "precision_threshold": q.STORY_COUNT_PRECISION}},
                             "stories": {"terms": {"field": "story_id", "size": query.offset + query.limit,
                                                   "order": _ORDER[query.sort]},
                                         "aggs": {"last": {"max": {"field": "dated_at"}}}}})
    aggregations = response["aggregations"]
    ranked = aggregations["stories"]["buckets"][query.offset:]
    total = int(aggregations["total"]["value"])
    found = summaries(es, alias, [str(bucket["key"]) for bucket in ranked])
    stories = []
    for bucket in ranked:
        summary = found.get(str(bucket["key"]))
        if summary is not None:
            recent = int(bucket["doc_count"]) if query.sort == "growth" else None
            stories.append(summary.model_copy(update={"recent_articles": recent}))
    more = query.offset + len(ranked) < total
    return StoryList(total=total, sort=query.sort, stories=stories,
                     growth_since=_moment(query.growth_since_ms) if query.sort == "growth" and
                     query.growth_since_ms is not None else None,
                     next_offset=query.offset + len(ranked) if more else None)


def summaries(es: Elasticsearch, alias: str, story_ids: list[str]) -> dict[str, StorySummary]:
    if not story_ids:
        return {}
    per_story: dict[str, Any] = {
        "first": {"min": {"field": "dated_at"}}, "last": {"max": {"field": "dated_at"}},
        "duplicates": {"filter": {"term": {"is_duplicate": True}}},
        "outlets": {"terms": {"field": "source_domain", "size": TOP_OUTLETS}},
        "languages": {"terms": {"field": "language", "size": _LANGUAGES}},
        # "<id>\x1f<name>" keys, grouped on the id as the search facets are (es_query.entity_buckets)
        **{f"entity_{label}": {"terms": {"field": field, "size": TOP_ENTITIES}}
           for label, field in ENTITY_KEY_FIELDS.items()},
    }
    response = _search(es, alias, size=0, query={"terms": {"story_id": story_ids}},
                       aggs={"per_story": {"terms": {"field": "story_id", "size": len(story_ids)}, "aggs": per_story}})
    headlines = _headlines(es, alias, story_ids)
    found = {}
    for bucket in response["aggregations"]["per_story"]["buckets"]:
        story_id = str(bucket["key"])
        found[story_id] = StorySummary(
            story_id=story_id, headline=headlines.get(story_id, ""), first_seen=_moment(bucket["first"]["value"]),
            last_updated=_moment(bucket["last"]["value"]), articles=int(bucket["doc_count"]),
            duplicates=int(bucket["duplicates"]["doc_count"]), outlets=_buckets(bucket["outlets"]),
            languages=_buckets(bucket["languages"]), entities=_top_entities(bucket),
        )
    return found


def timeline(es: Elasticsearch, alias: str, story_id: str) -> list[DateBucket]:
    response = _search(es, alias, size=0, query={"term": {"story_id": story_id}},
                       aggs={"days": {"date_histogram": {"field": "dated_at", "calendar_interval": "day",
                                                         "min_doc_count": 1, "time_zone": "UTC"}}})
    return [DateBucket(start=_moment(bucket["key"]).date(), count=int(bucket["doc_count"]))
            for bucket in response["aggregations"]["days"]["buckets"]]


def _headlines(es: Elasticsearch, alias: str, story_ids: list[str]) -> dict[str, str]:
    response = _search(es, alias, size=len(story_ids), query={"terms": {"story_id": story_ids}},
                       collapse={"field": "story_id"}, source_includes=["story_id", "title"],
                       sort=[{"is_duplicate": "asc"}, {"dated_at": "asc"}, {"id": "asc"}])
    return {hit["_source"]["story_id"]: hit["_source"]["title"] for hit in response["hits"]["hits"]}


def _buckets(aggregation: dict[str, Any]) -> list[FacetBucket]:
    return [FacetBucket(value=str(b["key"]), count=int(b["doc_count"])) for b in aggregation["buckets"]]


def _top_entities(bucket: dict[str, Any]) -> list[StoryEntity]:
    named = [StoryEntity(name=found.value, id=found.id, label=label, articles=found.count)
             for label in ENTITY_KEY_FIELDS for found in q.entity_buckets(bucket[f"entity_{label}"]["buckets"])]
    return sorted(named, key=lambda entity: (-entity.articles, entity.id))[:TOP_ENTITIES]
