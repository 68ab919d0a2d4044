"""The search API (FastAPI): ``GET /search``, ``GET /articles/{id}``, health and metrics.

Errors are RFC 9457 problem details (``application/problem+json``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.contract import metrics
from kabar.contract.settings import KabarSettings, get_settings
from kabar_search.backend import MAX_PAGE_SIZE, SearchBackend, open_backend
from kabar_search.models import SearchResult
from kabar_search.query import QueryError, parse_query

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM)


def create_app(settings: KabarSettings | None = None) -> FastAPI:
    config = settings or get_settings()
    state: dict[str, SearchBackend] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["backend"] = open_backend(config)
        yield
        state.pop("backend").close()

    app = FastAPI(title="kabar search API", version="0.1.0", lifespan=lifespan)

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

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "Request failed", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_problem(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return problem(422, "Invalid request", f"{where}: {first['msg']}")

    @app.exception_handler(QueryError)
    async def query_problem(_: Request, exc: QueryError) -> JSONResponse:
        return problem(400, "Invalid query", str(exc))

    @app.get("/search", response_model=SearchResult, summary="Search articles")
    def search(
        q: Annotated[str, Query(min_length=1, description="Words, \"phrases\" and -excluded words.")],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    ) -> SearchResult:
        return state["backend"].search(parse_query(q), q, limit)

    @app.get("/articles/{article_id}", summary="One article, as indexed", responses={404: {}})
    def article(article_id: str) -> dict[str, Any]:
        found = state["backend"].get(article_id)
        if found is None:
            raise StarletteHTTPException(404, f"no article with id {article_id!r}")
        return found

    @app.get("/healthz", summary="Liveness and the number of indexed articles")
    def health() -> dict[str, Any]:
        return {"status": "ok", "articles": state["backend"].count()}

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.render_latest(), media_type="text/plain; version=0.0.4")

    return app
