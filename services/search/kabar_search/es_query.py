"""Elasticsearch request bodies built from a parsed query: no user text reaches a query parser.

Words and phrases become ``multi_match`` clauses over the exact-word fields and the
per-language sub-fields (stemmed on Elasticsearch); excluded words only over the exact
fields, so ``-kata`` does not also drop every article with a word of the same stem.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any, Final

from kabar_search.documents import ENTITY_FIELDS, ENTITY_KEY_FIELDS, split_entity_key
from kabar_search.models import DateBucket, EntityFacetBucket, FacetBucket, Facets, Interval
from kabar_search.query import SimpleQuery
from kabar_search.request import Cursor, Filters, SortOrder

MATCH_FIELDS: Final = ["title^4", "title.id^4", "title.en^4", "text", "text.id", "text.en", "entity_names^2"]
EXACT_FIELDS: Final = ["title", "text", "entity_names"]
HIT_SOURCE: Final = ["id", "title", "url", "source_domain", "language", "published_at", "story_id", "duplicate_of"]
TEXT_HIGHLIGHT: Final = ("text", "text.id", "text.en")
TITLE_HIGHLIGHT: Final = ("title", "title.id", "title.en")
FACET_SIZE: Final = 10
# Above this many stories the cardinality count is an estimate (Elasticsearch's maximum).
STORY_COUNT_PRECISION: Final = 40_000


def text_clause(query: SimpleQuery) -> dict[str, Any]:
    must: list[dict[str, Any]] = [{"multi_match": {"query": term, "fields": MATCH_FIELDS}} for term in query.terms]
    must += [{"multi_match": {"query": " ".join(phrase), "type": "phrase", "fields": MATCH_FIELDS}}
             for phrase in query.phrases]
    must_not = [{"multi_match": {"query": word, "fields": EXACT_FIELDS}} for word in query.excluded]
    return {"bool": {"must": must, "must_not": must_not}}


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    for field, values in (("language", filters.languages), ("source_domain", filters.sources),
                          ("story_id", filters.story_ids)):
        if values:
            clauses.append({"terms": {field: list(values)}})
    for name in filters.entities:  # every entity asked for, under any type
        clauses.append({"bool": {"should": [{"term": {field: name}} for field in ENTITY_FIELDS.values()],
                                 "minimum_should_match": 1}})
    clauses.extend({"term": {"entity_ids": entity_id}} for entity_id in filters.entity_ids)
    if filters.since_ms is not None or filters.until_ms is not None:
        bounds: dict[str, Any] = {"format": "epoch_millis"}
        if filters.since_ms is not None:
            bounds["gte"] = filters.since_ms
        if filters.until_ms is not None:
            bounds["lt"] = filters.until_ms
        clauses.append({"range": {"dated_at": bounds}})
    return clauses


def search_query(query: SimpleQuery, filters: Filters, *extra: dict[str, Any]) -> dict[str, Any]:
    """The one query shape every search step uses, so scores agree between steps."""
    return {"bool": {"must": [text_clause(query)], "filter": [*filter_clauses(filters), *extra]}}


def sort_clause(sort: SortOrder) -> list[dict[str, Any]]:
    first = {"_score": "desc"} if sort == "relevance" else {"dated_at": "desc"}
    return [first, {"id": "asc"}]


def cursor_of(hit: dict[str, Any]) -> Cursor:
    key, article_id = hit["sort"]
    return Cursor(key=key, id=str(article_id))


def as_float32(key: float) -> float:
    """Lucene scores are float32, printed in their shortest form ("0.01941705"); compare them as such."""
    return key if isinstance(key, int) else float(struct.unpack("<f", struct.pack("<f", key))[0])


def is_after(cursor: Cursor, start: Cursor | None) -> bool:
    """Whether ``cursor`` comes after ``start`` in the sort order (higher key first, then id)."""
    if start is None:
        return True
    return (-as_float32(cursor.key), cursor.id) > (-as_float32(start.key), start.id)


def highlight_spec() -> dict[str, Any]:
    fields: dict[str, Any] = {name: {"number_of_fragments": 0} for name in TITLE_HIGHLIGHT}
    fields.update({name: {"fragment_size": 160, "number_of_fragments": 1} for name in TEXT_HIGHLIGHT})
    fields["text"]["no_match_size"] = 160
    return {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "require_field_match": True, "fields": fields}


def pick_highlight(highlight: dict[str, list[str]], fields: tuple[str, ...], fallback: bool) -> str | None:
    """The first fragment with a match, trying exact words before stems; else the plain passage."""
    for name in fields:
        fragments = highlight.get(name) or []
        if fragments and "<mark>" in fragments[0]:
            return fragments[0]
    plain = highlight.get(fields[0]) or []
    return plain[0] if fallback and plain else None


def facet_aggs(interval: Interval, with_facets: bool, count_stories: bool) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    if with_facets:
        aggs["language"] = {"terms": {"field": "language", "size": FACET_SIZE}}
        aggs["source"] = {"terms": {"field": "source_domain", "size": FACET_SIZE}}
        for label, field in ENTITY_KEY_FIELDS.items():  # "<id>\x1f<name>": grouped by id in parse_facets
            aggs[f"entity_{label}"] = {"terms": {"field": field, "size": FACET_SIZE}}
        aggs["dates"] = {"date_histogram": {"field": "dated_at", "calendar_interval": interval,
                                            "min_doc_count": 1, "time_zone": "UTC"}}
    if count_stories:
        aggs["stories"] = {"cardinality": {"field": "story_id", "precision_threshold": STORY_COUNT_PRECISION}}
    return aggs


def parse_facets(aggs: dict[str, Any], interval: Interval) -> Facets:
    def buckets(name: str) -> list[FacetBucket]:
        return [FacetBucket(value=str(b["key"]), count=int(b["doc_count"])) for b in aggs[name]["buckets"]]

    entities = {label: entity_buckets(aggs[f"entity_{label}"]["buckets"]) for label in ENTITY_FIELDS}
    dates = [DateBucket(start=datetime.fromtimestamp(b["key"] / 1000, tz=UTC).date(), count=int(b["doc_count"]))
             for b in aggs["dates"]["buckets"]]
    return Facets(language=buckets("language"), source=buckets("source"), entities=entities, dates=dates,
                  interval=interval)


def entity_buckets(buckets: list[dict[str, Any]]) -> list[EntityFacetBucket]:
    """Buckets of "<id>\x1f<name>" keys as one bucket per id, ordered as a terms aggregation orders.

    An article holds one name per id, so the counts of one id's names add up; a document indexed
    before ids (no key field) is not counted here until it is indexed again.
    """
    merged: dict[str, EntityFacetBucket] = {}
    for bucket in buckets:
        entity_id, name = split_entity_key(str(bucket["key"]))
        found = merged.get(entity_id)
        count = int(bucket["doc_count"]) + (found.count if found else 0)
        merged[entity_id] = EntityFacetBucket(value=found.value if found else name, count=count, id=entity_id)
    return sorted(merged.values(), key=lambda bucket: (-bucket.count, bucket.id))
