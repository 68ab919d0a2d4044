"""The search API (FastAPI): ``GET /search``, ``/articles/{id}``, ``/stories/{id}``, the search
page at ``/``, health and metrics. OpenAPI at ``/docs`` and ``/openapi.json``.

Every read (search, articles, stories, the search page, feeds, versions, watchlists) needs
the API key when ``KABAR_API_READ_REQUIRES_KEY`` is set (``kabar.security``); health,
metrics and the OpenAPI description stay open, for probes, Prometheus and client authors.

Every error is an RFC 9457 problem detail (``application/problem+json``), a 4xx for
anything a client sent: words the query syntax cannot search, unknown parameters,
dates that do not parse, page sizes over the limit, a ``search_after`` token from
another query. A failing search server is a 503, never a 500 with a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

from elasticsearch import ApiError, TransportError
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.contract import metrics
from kabar.contract.settings import KabarSettings, get_settings
from kabar.deadletter_api import deadletter_router
from kabar.security import ApiSecurity, install_security, problem_responses
from kabar_search import web
from kabar_search.backend import MAX_STORY_ARTICLES, SearchBackend, open_backend
from kabar_search.models import SearchResult, StoryResult
from kabar_search.params import SearchParameters, reject_unknown_parameters
from kabar_search.query import QueryError
from kabar_search.request import PageTokenError
from kabar_search.watch.api import watchlist_router

log = logging.getLogger(__name__)

PROBLEM: Final = "application/problem+json"


def problem(status: int, title: str, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM, headers=headers)


def create_app(settings: KabarSettings | None = None, *, dead_letter_routes: bool = True) -> FastAPI:
    """The API process: search, plus ingest push/feeds, watchlists and dead letters.

    ``dead_letter_routes=False`` leaves ``/deadletters`` for the caller to mount on a store of its own.
    """
    config = settings or get_settings()
    state: dict[str, SearchBackend] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["backend"] = open_backend(config)
        yield
        state.pop("backend").close()

    def backend() -> SearchBackend:
        return state["backend"]

    app = FastAPI(title="kabar search API", version="0.2.0", lifespan=lifespan,
                  description="Search Indonesian, Malay and English news: full text, filters, facets, "
                              "stories. Errors are RFC 9457 problem details.")
    _install_error_handlers(app)
    _install_metrics(app)
    # The ingest service's HTTP front door (push, feeds, article versions) lives in this process too.
    from kabar_ingest.push_api import install_ingest_api  # noqa: PLC0415

    security = ApiSecurity(config)
    install_security(app, security)
    install_ingest_api(app, config, security=security)
    if dead_letter_routes:
        app.include_router(deadletter_router(config, security))
    if config.mode == "services":  # the queues exist only there
        metrics.register_queue_collector(config.redis_url, config.key_prefix)

    # Reads are open unless KABAR_API_READ_REQUIRES_KEY; the guard runs first, so a caller
    # without the key learns nothing from parameter errors either.
    reads = [Depends(security.require_read)]

    @app.get("/search", response_model=SearchResult, summary="Search articles",
             dependencies=[*reads, Depends(reject_unknown_parameters)], responses=_PROBLEMS)
    def search(params: Annotated[SearchParameters, Depends()]) -> SearchResult:
        query, options = params.parsed()
        return backend().search(query, params.raw_query, params.limit, options)

    @app.get("/articles/{article_id:path}", summary="One article, as indexed", dependencies=reads,
             responses=_PROBLEMS)
    def article(article_id: str) -> dict[str, Any]:
        found = backend().get(article_id)
        if found is None:
            raise StarletteHTTPException(404, f"no article with id {article_id!r}")
        return found

    @app.get("/stories/{story_id:path}", response_model=StoryResult, summary="All coverage of one story",
             dependencies=reads, responses=_PROBLEMS)
    def story(story_id: str, limit: Annotated[int, Query(ge=1, le=MAX_STORY_ARTICLES)] = 100) -> StoryResult:
        found = backend().story(story_id, limit)
        if found is None:
            raise StarletteHTTPException(404, f"no story with id {story_id!r}")
        return found

    @app.get("/healthz", summary="Liveness and the number of indexed articles")
    def health() -> dict[str, Any]:
        return {"status": "ok", "articles": backend().count()}

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.render_latest(), media_type="text/plain; version=0.0.4")

    app.include_router(web.router(backend, security))
    app.include_router(watchlist_router(config, security))  # POST/GET/DELETE /watchlists (kabar_search.watch.api)
    return app


_PROBLEMS: Final = problem_responses({400: "Bad request", 401: "API key missing or wrong",
                                      403: "API key not configured", 404: "Not found", 422: "Invalid parameter",
                                      503: "Search unavailable"})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_problem(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The exception's headers go out too: WWW-Authenticate on a 401, Allow on a 405.
        return problem(exc.status_code, "Request failed", str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_problem(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return problem(422, "Invalid request", f"{where}: {first['msg']}")

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

    @app.exception_handler(Exception)
    async def unexpected_problem(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error answering a request", exc_info=exc)
        return problem(500, "Internal error", "the search service failed; the error is logged")


def _install_metrics(app: FastAPI) -> None:
    @app.middleware("http")
    async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route's template, never the raw path: ids in paths would make unbounded labels.
        name = getattr(route, "path", "unmatched")
        metrics.API_REQUESTS.labels(name, request.method, str(response.status_code)).inc()
        metrics.API_DURATION.labels(name).observe(time.perf_counter() - started)
        return response
