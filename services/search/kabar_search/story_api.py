"""``GET /stories`` (stories ranked by recency or growth, filtered) and ``GET /stories/{id}`` (one story).

A story is what the enrich stage grouped under one ``story_id``; its summary (headline,
first seen, last updated, articles, outlets, languages, top entities) is aggregated from
the indexed articles when asked, so it is never out of step with them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.service_api import ApiSecurity
from kabar_search.backend import MAX_STORY_ARTICLES, SearchBackend
from kabar_search.models import StoryList, StoryResult
from kabar_search.query import QueryError
from kabar_search.request import Filters, check_date_range, check_filter_values, epoch_millis, parse_date_bound
from kabar_search.story_query import MAX_STORY_OFFSET, MAX_STORY_PAGE, StoryQuery, StorySort

LIST_PARAMETERS: Final = frozenset({"sort", "language", "source", "entity", "entity_id", "from", "to", "growth_hours",
                                    "limit", "offset"})
MAX_GROWTH_HOURS: Final = 24 * 31


class StoryListParameters:
    """The query string of ``GET /stories`` (and of the stories page), validated."""

    def __init__(
        self, *,
        sort: Annotated[StorySort, Query(description="recent: latest article first. growth: most articles in the "
                                                     "last growth_hours (before `to`, else now) first.")] = "recent",
        language: Annotated[list[str] | None, Query(description="Stories with an article in this language; "
                                                                "ORed.")] = None,
        source: Annotated[list[str] | None, Query(description="Stories with an article from this source "
                                                              "domain; ORed.")] = None,
        entity: Annotated[list[str] | None, Query(description="Stories with an article naming every one of these "
                                                              "canonical entities.")] = None,
        entity_id: Annotated[list[str] | None, Query(description="Stories with an article naming every one of these "
                                                                 "entity ids, e.g. loc:north-korea.")] = None,
        date_from: Annotated[str | None, Query(alias="from", description="Stories with an article from this date "
                                                                         "(YYYY-MM-DD or ISO 8601).")] = None,
        date_to: Annotated[str | None, Query(alias="to", description="... up to this date, inclusive.")] = None,
        growth_hours: Annotated[int, Query(ge=1, le=MAX_GROWTH_HOURS, description="The growth window.")] = 24,
        limit: Annotated[int, Query(ge=1, le=MAX_STORY_PAGE, description="Stories per page.")] = 20,
        offset: Annotated[int, Query(ge=0, le=MAX_STORY_OFFSET, description="next_offset of the previous "
                                                                             "page.")] = 0,
    ) -> None:
        self.sort = sort
        self.growth_hours = growth_hours
        self.limit, self.offset = limit, offset
        self._filters = (language or [], source or [], entity or [], date_from, date_to)
        self._entity_ids = entity_id or []

    def parsed(self, now: datetime | None = None) -> StoryQuery:
        """The query; raises ``QueryError`` (a 400) with a message for the user."""
        languages, sources, entities, date_from, date_to = self._filters
        since, until = parse_date_bound("from", date_from, end=False), parse_date_bound("to", date_to, end=True)
        check_date_range(since, until)
        filters = Filters(languages=check_filter_values("language", languages),
                          sources=check_filter_values("source", sources),
                          entities=check_filter_values("entity", entities),
                          entity_ids=check_filter_values("entity_id", self._entity_ids), since_ms=since, until_ms=until)
        end = until if until is not None else epoch_millis(now or datetime.now(UTC))
        growth_since = end - int(timedelta(hours=self.growth_hours).total_seconds() * 1000)
        return StoryQuery(filters=filters, sort=self.sort, limit=self.limit, offset=self.offset,
                          growth_since_ms=growth_since if self.sort == "growth" else None)


def reject_unknown_list_parameters(request: Request) -> None:
    unknown = sorted(set(request.query_params) - LIST_PARAMETERS)
    if unknown:
        raise QueryError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(LIST_PARAMETERS))}")


def story_router(backend: Callable[[], SearchBackend], security: ApiSecurity,
                 responses: dict[int | str, dict[str, Any]]) -> APIRouter:
    """The story routes, guarded like every read."""
    routes = APIRouter(dependencies=[Depends(security.require_read)], responses=responses, tags=["stories"])

    @routes.get("/stories", response_model=StoryList, summary="Stories, by recency or growth",
                dependencies=[Depends(reject_unknown_list_parameters)])
    def list_stories(params: Annotated[StoryListParameters, Depends()]) -> StoryList:
        return backend().stories(params.parsed())

    @routes.get("/stories/{story_id:path}", response_model=StoryResult,
                summary="One story: its summary, articles per day, and its articles (near-copies marked)")
    def story(story_id: str, limit: Annotated[int, Query(ge=1, le=MAX_STORY_ARTICLES)] = 100) -> StoryResult:
        found = backend().story(story_id, limit)
        if found is None:
            raise StarletteHTTPException(404, f"no story with id {story_id!r}")
        return found

    return routes
