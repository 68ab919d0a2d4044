"""The HTTP API, composed at the top like the CLI: one FastAPI app from the routers each service exports.

- search (``kabar_search.api``): ``/search``, ``/articles/{id}``, ``/stories/{id}``; the search page
  at ``/`` (``kabar_search.web``); watchlists (``kabar_search.watch.api``);
- ingest (``kabar_ingest.push_api``): ``POST /articles`` (push), ``/feeds``, ``/articles/{id}/versions``;
- dead letters (``kabar.deadletter_api``);
- here: health, metrics, the request-metrics middleware and the problem-detail error handlers.

Every read (search, articles, stories, the search page, feeds, versions, watchlists) needs the API
key when ``KABAR_API_READ_REQUIRES_KEY`` is set (``kabar.service_api``); health, metrics and the
OpenAPI description stay open, for probes, Prometheus and client authors. OpenAPI at ``/docs`` and
``/openapi.json``. Run with ``kabar api`` (``uvicorn kabar.api:create_app --factory``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import redis
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.contract import metrics
from kabar.contract.deadletter import describe
from kabar.contract.settings import KabarSettings, get_settings
from kabar.deadletter_api import deadletter_router
from kabar.embedded import inline_pipeline
from kabar.service_api import ApiSecurity, install_security, problem
from kabar_ingest.push_api import ingest_routers
from kabar_ingest.sinks import document_sink
from kabar_search import web
from kabar_search.api import install_search_errors, search_router
from kabar_search.backend import SearchBackend, open_backend
from kabar_search.watch.api import watchlist_router

log = logging.getLogger(__name__)

KNOWN_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def create_app(settings: KabarSettings | None = None, *, dead_letter_routes: bool = True) -> FastAPI:
    """The API process: search, ingest push/feeds/versions, watchlists and dead letters.

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
    install_search_errors(app)
    _install_metrics(app)
    security = ApiSecurity(config)
    # The push has a limit of its own (KABAR_PUSH_MAX_BYTES), which the general one must not cut short.
    install_security(app, security, {("POST", "/articles"): max(config.push_max_bytes, config.api_max_request_bytes)})
    # The ingest routes go first: the search router's /articles/{id:path} would take .../versions.
    for router in ingest_routers(config, security, lambda: document_sink(config, inline_pipeline(config))):
        app.include_router(router)
    if dead_letter_routes:
        app.include_router(deadletter_router(config, security))
    if config.mode == "services":  # the queues exist only there
        metrics.register_queue_collector(config.redis_url, config.key_prefix)
    app.include_router(search_router(backend, security))

    @app.get("/healthz", summary="Liveness and the number of indexed articles")
    def health() -> dict[str, Any]:
        return {"status": "ok", "articles": backend().count()}

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.render_latest(), media_type="text/plain; version=0.0.4")

    app.include_router(web.router(backend, security))
    app.include_router(web.script_router())
    app.include_router(watchlist_router(config, security))  # POST/GET/DELETE /watchlists
    return app


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

    @app.exception_handler(Exception)
    async def unexpected_problem(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError | OperationalError):
            # Redis down (the queues, the state stores): one line in the log, a 503 to the client. The search
            # server's errors have their handler in kabar_search.api.
            log.error("answering a request: Redis is unreachable: %s", describe(exc))
            return problem(503, "Service unavailable", "Redis is unreachable; try again later", {"Retry-After": "30"})
        log.error("unexpected error answering a request", exc_info=exc)
        return problem(500, "Internal error", "the API failed on this request; the error is logged")


def _install_metrics(app: FastAPI) -> None:
    @app.middleware("http")
    async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route's template, never the raw path: ids in paths would make unbounded labels.
        name = getattr(route, "path", "unmatched")
        method = request.method if request.method in KNOWN_METHODS else "other"  # any string is a method to HTTP
        metrics.API_REQUESTS.labels(name, method, str(response.status_code)).inc()
        metrics.API_DURATION.labels(name).observe(time.perf_counter() - started)
        return response
