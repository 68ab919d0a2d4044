"""The search service's HTTP routes: ``GET /search``, ``/articles/{id}``, ``/stories`` and ``/stories/{id}``
(``kabar_search.story_api``) and the
search page at ``/`` (``kabar_search.web``), with the problem details its errors become. ``kabar.api`` mounts them.

Every read needs the API key when ``KABAR_API_READ_REQUIRES_KEY`` is set (``kabar.service_api``).
Every error is an RFC 9457 problem detail (``application/problem+json``), a 4xx for anything a
client sent: words the query syntax cannot search, unknown parameters, dates that do not parse,
page sizes over the limit, a ``search_after`` token from another query. A failing search server
is a 503, never a 500 with a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Annotated, Any, Final

from elasticsearch import ApiError, TransportError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.service_api import ApiSecurity, problem, problem_responses
from kabar_search.models import SearchResult
from kabar_search.params import SearchParameters, reject_unknown_parameters
from kabar_search.query import QueryError
from kabar_search.request import PageTokenError
from kabar_search.story_api import story_router
from kabar_search.web import BackendGetter

log = logging.getLogger(__name__)

PROBLEMS: Final = problem_responses({400: "Bad request", 401: "API key missing or wrong",
                                     403: "API key not configured", 404: "Not found", 422: "Invalid parameter",
                                     503: "Search unavailable"})


def search_router(backend: BackendGetter, security: ApiSecurity) -> APIRouter:
    """``/search``, ``/articles/{id}``, ``/stories`` and ``/stories/{id}`` over the backend the API process opened."""
    # Reads are open unless KABAR_API_READ_REQUIRES_KEY; the guard runs first, so a caller
    # without the key learns nothing from parameter errors either.
    reads = [Depends(security.require_read)]
    router = APIRouter()

    @router.get("/search", response_model=SearchResult, summary="Search articles",
                dependencies=[*reads, Depends(reject_unknown_parameters)], responses=PROBLEMS)
    def search(params: Annotated[SearchParameters, Depends()]) -> SearchResult:
        query, options = params.parsed()
        return backend().search(query, params.raw_query, params.limit, options)

    @router.get("/articles/{article_id:path}", summary="One article, as indexed", dependencies=reads,
                responses=PROBLEMS)
    def article(article_id: str) -> dict[str, Any]:
        found = backend().get(article_id)
        if found is None:
            raise StarletteHTTPException(404, f"no article with id {article_id!r}")
        return found

    router.include_router(story_router(backend, security, PROBLEMS))  # GET /stories, /stories/{id}
    return router


def install_search_errors(app: FastAPI) -> None:
    """A query the syntax cannot search is a 400; a search server that does not answer, a 503."""

    @app.exception_handler(QueryError)
    async def query_problem(_: Request, exc: QueryError) -> JSONResponse:
        title = "Invalid search_after" if isinstance(exc, PageTokenError) else "Invalid query"
        return problem(400, title, str(exc))

    @app.exception_handler(TransportError)
    @app.exception_handler(ApiError)
    @app.exception_handler(sqlite3.OperationalError)
    async def backend_problem(_: Request, exc: Exception) -> JSONResponse:
        log.error("search backend failed: %s", exc)
        return problem(503, "Search unavailable", "the search backend did not answer; try again shortly")
