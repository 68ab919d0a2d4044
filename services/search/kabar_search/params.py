"""The query string of a search (``GET /search`` and the search page), validated.

FastAPI checks types and ranges (a 422 problem detail); ``parsed`` checks the rest and
raises ``QueryError`` (a 400) with a message meant for the person who typed it.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Query, Request

from kabar_search.backend import MAX_PAGE_SIZE
from kabar_search.models import Interval
from kabar_search.query import MAX_QUERY_CHARS, QueryError, SimpleQuery, parse_query
from kabar_search.request import (
    Filters,
    SearchOptions,
    SortOrder,
    check_date_range,
    check_filter_values,
    decode_token,
    parse_date_bound,
)

SEARCH_PARAMETERS: Final = frozenset({"q", "language", "source", "entity", "entity_id", "story_id", "from", "to",
                                      "sort", "collapse", "facets", "interval", "limit", "search_after"})


class SearchParameters:
    """The query string of ``GET /search`` (and of the search page), validated."""

    def __init__(
        self, *,
        q: Annotated[str, Query(min_length=1, description='Words (ANDed), "quoted phrases" and -excluded words. '
                                                          f"At most {MAX_QUERY_CHARS} characters; no other syntax.")],
        language: Annotated[list[str] | None, Query(description="Language code(s), e.g. id, en; ORed.")] = None,
        source: Annotated[list[str] | None, Query(description="Source domain(s); ORed.")] = None,
        entity: Annotated[list[str] | None, Query(description="Canonical entity name(s), any type; all must "
                                                              "appear.")] = None,
        entity_id: Annotated[list[str] | None, Query(description="Entity id(s), e.g. loc:north-korea (the id of a "
                                                                 "facet bucket or of an entity); all must appear.")]
        = None,
        story_id: Annotated[list[str] | None, Query(description="Story id(s); ORed.")] = None,
        date_from: Annotated[str | None, Query(alias="from", description="From this date (YYYY-MM-DD or ISO "
                                                                         "8601), inclusive.")] = None,
        date_to: Annotated[str | None, Query(alias="to", description="Up to this date, inclusive (a bare date "
                                                                     "includes the whole day).")] = None,
        sort: Annotated[SortOrder, Query(description="relevance, or date (newest first).")] = "relevance",
        collapse: Annotated[bool, Query(description="One hit per story, with its article count.")] = False,
        facets: Annotated[bool, Query(description="Add facet counts over every matching article.")] = False,
        interval: Annotated[Interval, Query(description="Bucket size of the date facet.")] = "month",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Hits per page.")] = 10,
        search_after: Annotated[str | None, Query(description="next_search_after of the previous page.")] = None,
    ) -> None:
        self.raw_query = q
        self.limit = limit
        self._search_after = search_after
        self._filters = (language or [], source or [], entity or [], story_id or [], date_from, date_to)
        self._entity_ids = entity_id or []
        self._shape = (sort, collapse, facets, interval)

    def parsed(self) -> tuple[SimpleQuery, SearchOptions]:
        """The query and options; raises ``QueryError`` with a message for the user."""
        query = parse_query(self.raw_query)
        languages, sources, entities, stories, date_from, date_to = self._filters
        since, until = parse_date_bound("from", date_from, end=False), parse_date_bound("to", date_to, end=True)
        check_date_range(since, until)
        filters = Filters(languages=check_filter_values("language", languages),
                          sources=check_filter_values("source", sources),
                          entities=check_filter_values("entity", entities),
                          entity_ids=check_filter_values("entity_id", self._entity_ids),
                          story_ids=check_filter_values("story_id", stories), since_ms=since, until_ms=until)
        sort, collapse, facets, interval = self._shape
        options = SearchOptions(filters=filters, sort=sort, collapse=collapse, facets=facets, interval=interval)
        if self._search_after:
            options = SearchOptions(filters=filters, sort=sort, collapse=collapse, facets=facets, interval=interval,
                                    after=decode_token(self._search_after, query, options))
        return query, options


def reject_unknown_parameters(request: Request) -> None:
    unknown = sorted(set(request.query_params) - SEARCH_PARAMETERS)
    if unknown:
        raise QueryError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(SEARCH_PARAMETERS))}")
