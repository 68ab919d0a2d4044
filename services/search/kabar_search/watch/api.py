"""Watchlists over HTTP.

    POST   /watchlists          create (201, Location); the body is a ``WatchlistSpec``
    GET    /watchlists          all watchlists, oldest first, with their alert counts
    GET    /watchlists/{id}     one watchlist and its alerts (one per story), newest first
    DELETE /watchlists/{id}     remove it with its alerts (204); alerts still queued are dropped

Writes need the API key (``kabar.service_api``); reads follow ``KABAR_API_READ_REQUIRES_KEY``.
Responses show a webhook's scheme, host and port only: its path and query are often a
secret (chat webhooks), and ``kabar watchlists list`` shows them to whoever runs kabar.
A body that is not a valid watchlist is a 422 problem detail saying which field and why;
more than ``KABAR_MAX_WATCHLISTS`` is a 409; a store that does not answer is a 503.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final

import redis
from fastapi import APIRouter, Depends, Path, Query, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.contract.settings import KabarSettings, get_settings
from kabar.service_api import ApiSecurity, problem_responses
from kabar_search.watch.models import Watchlist, WatchlistDetail, WatchlistSpec, WatchlistView
from kabar_search.watch.store import TooManyWatchlists, WatchlistStore, open_watchlist_store

MAX_ALERTS_SHOWN: Final = 1000
WatchlistId = Annotated[str, Path(max_length=64, description="The id POST /watchlists answered with.")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    titles = {400: "Body is not JSON, or a malformed request", 401: "API key missing or wrong",
              403: "API key not configured", 404: "No such watchlist", 409: "Too many watchlists",
              422: "Invalid watchlist or parameter", 503: "Watchlist store unavailable"}
    return problem_responses(titles, *statuses)


def watchlist_router(settings: KabarSettings | None = None, security: ApiSecurity | None = None, *,
                     store: WatchlistStore | None = None) -> APIRouter:
    """The routes; ``store`` defaults to the configured one (Redis or SQLite), opened on first use."""
    config = settings or get_settings()
    guard = security or ApiSecurity()
    opened: list[WatchlistStore] = [store] if store is not None else []

    def watchlists() -> WatchlistStore:
        if not opened:
            opened.append(open_watchlist_store(config))
        return opened[0]

    router = APIRouter(prefix="/watchlists", tags=["watchlists"])
    reads = [Depends(guard.require_read)]
    writes = [Depends(guard.require_write)]

    @router.post("", status_code=201, response_model=WatchlistView, dependencies=writes,
                 summary="Create a watchlist", responses=_problems(400, 401, 403, 409, 422, 503))
    def create(spec: WatchlistSpec, response: Response) -> WatchlistView:
        watchlist = Watchlist.create(spec)
        with _store_errors():
            try:
                watchlists().add(watchlist, get_settings().max_watchlists)
            except TooManyWatchlists as exc:
                raise StarletteHTTPException(409, str(exc)) from None
        response.headers["Location"] = f"/watchlists/{watchlist.id}"
        return WatchlistView.of(watchlist, 0)

    @router.get("", response_model=list[WatchlistView], dependencies=reads, summary="All watchlists",
                responses=_problems(401, 403, 503))
    def list_all() -> list[WatchlistView]:
        with _store_errors():
            found = watchlists().list()
            counts = watchlists().alert_counts(watchlist.id for watchlist in found)
        return [WatchlistView.of(watchlist, counts[watchlist.id]) for watchlist in found]

    @router.get("/{watchlist_id}", response_model=WatchlistDetail, dependencies=reads,
                summary="One watchlist and its alerts", responses=_problems(401, 403, 404, 422, 503))
    def show(watchlist_id: WatchlistId,
             limit: Annotated[int, Query(ge=1, le=MAX_ALERTS_SHOWN, description="Alerts to list.")] = 100,
             ) -> WatchlistDetail:
        with _store_errors():
            watchlist = watchlists().get(watchlist_id)
            if watchlist is None:
                raise StarletteHTTPException(404, f"no watchlist {watchlist_id!r}")
            count = watchlists().alert_counts([watchlist_id])[watchlist_id]
            alerts = watchlists().alerts(watchlist_id, limit)
        return WatchlistDetail(**WatchlistView.of(watchlist, count).model_dump(), alerts=alerts)

    @router.delete("/{watchlist_id}", status_code=204, dependencies=writes, summary="Remove a watchlist",
                   responses=_problems(401, 403, 404, 422, 503))
    def remove(watchlist_id: WatchlistId) -> Response:
        with _store_errors():
            if not watchlists().remove(watchlist_id):
                raise StarletteHTTPException(404, f"no watchlist {watchlist_id!r}")
        return Response(status_code=204)

    return router


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except (redis.RedisError, sqlite3.OperationalError) as exc:
        raise StarletteHTTPException(503, "the watchlist store did not answer; try again shortly") from exc
