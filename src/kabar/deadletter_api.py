"""The dead-letter store over HTTP: list, show and replay, for whoever runs the pipeline.

    GET  /deadletters                 ?limit=&offset=&stage=   oldest first, without the messages
    GET  /deadletters/{id}            one dead letter with its message
    POST /deadletters/{id}/replay     send the message to its stage again (idempotent)

Every route needs the API key (``kabar.service_api``), reads included: a dead letter holds
the raw message, which may carry what should not be public (a URL with credentials, for
one). Replay answers 200 with ``status`` ``replayed`` or, for a letter replayed already,
``already-replayed`` (nothing is sent twice); 409 while another replay of it runs; 404
for an id the store never had. In services mode a replay puts the message on its stage's
queue; in embedded mode it runs the pipeline in the API process.

Mounted by ``kabar.api.create_app``: ``app.include_router(deadletter_router(config, security))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import redis
from fastapi import APIRouter, Depends, Path, Query
from kombu.exceptions import OperationalError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.contract.deadletter import DeadLetterStore, ReplayStatus, open_dead_letter_store, replay
from kabar.contract.messages import DeadLetter, DeadLetterSummary
from kabar.contract.settings import KabarSettings, get_settings
from kabar.service_api import ApiSecurity, problem_responses

Stage = Literal["ingest", "enrich", "index", "alert"]
Sender = Callable[[str, Any], "str | None"]
LETTER_ID: Final = r"^[0-9a-f]{24}$"
MAX_PAGE: Final = 500


class DeadLetterPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[DeadLetterSummary]


class ReplayResponse(BaseModel):
    id: str
    status: ReplayStatus
    stage: str | None = None
    replayed_at: datetime | None = None
    outcome: str | None = None


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    titles = {401: "API key missing or wrong", 403: "API key not configured", 404: "No such dead letter",
              409: "A replay of this dead letter is in progress", 422: "Invalid parameter",
              503: "Dead-letter store unavailable"}
    return problem_responses(titles, *statuses)


def deadletter_router(settings: KabarSettings | None = None, security: ApiSecurity | None = None, *,
                      store: DeadLetterStore | None = None, send: Sender | None = None) -> APIRouter:
    """The routes; ``store`` and ``send`` default to the configured dead-letter store and stage hand-off."""
    config = settings or get_settings()
    guard = security or ApiSecurity()
    chosen: dict[str, Any] = {"store": store, "send": send}

    def letters() -> DeadLetterStore:
        if chosen["store"] is None:
            chosen["store"] = open_dead_letter_store(config)
        found: DeadLetterStore = chosen["store"]
        return found

    def sender() -> Sender:
        if chosen["send"] is None:
            chosen["send"] = replay_sender(config)
        found: Sender = chosen["send"]
        return found

    router = APIRouter(prefix="/deadletters", tags=["dead letters"], dependencies=[Depends(guard.require_write)])
    common = _problems(401, 403, 422, 503)

    @router.get("", response_model=DeadLetterPage, summary="Dead letters, oldest first", responses=common)
    def list_letters(limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                     stage: Stage | None = None) -> DeadLetterPage:
        with _unavailable_is_503():
            store = letters()
            items = [DeadLetterSummary(**letter.model_dump(exclude={"message"}))
                     for letter in store.list(limit, offset, stage)]
            return DeadLetterPage(total=store.count(stage), offset=offset, limit=limit, items=items)

    @router.get("/{letter_id}", response_model=DeadLetter, summary="One dead letter with its message",
                responses={**common, **_problems(404)})
    def show_letter(letter_id: Annotated[str, Path(pattern=LETTER_ID)]) -> DeadLetter:
        with _unavailable_is_503():
            letter = letters().get(letter_id)
        if letter is None:
            raise StarletteHTTPException(404, f"no dead letter {letter_id!r}")
        return letter

    @router.post("/{letter_id}/replay", response_model=ReplayResponse, summary="Send the message to its stage again",
                 responses={**common, **_problems(404, 409)})
    def replay_letter(letter_id: Annotated[str, Path(pattern=LETTER_ID)]) -> ReplayResponse:
        with _unavailable_is_503():
            result = replay(letters(), letter_id, sender())
        if result.status == "not-found":
            raise StarletteHTTPException(404, f"no dead letter {letter_id!r}")
        if result.status == "in-progress":
            raise StarletteHTTPException(409, f"dead letter {letter_id!r} is being replayed; try again later")
        return ReplayResponse(id=result.id, status=result.status, stage=result.stage, replayed_at=result.replayed_at,
                              outcome=result.outcome)

    return router


@contextmanager
def _unavailable_is_503() -> Iterator[None]:
    """Redis (the store, or the broker a replay hands the message to) not answering is a 503."""
    try:
        yield
    except (redis.RedisError, OperationalError, ConnectionError) as exc:
        raise StarletteHTTPException(503, "the dead-letter store or the queue did not answer; try again shortly") \
            from exc


def replay_sender(settings: KabarSettings) -> Sender:
    """How a replay hands a message to its stage: the stage's queue, or the in-process pipeline."""
    if settings.mode == "services":
        from kabar.contract.queues import enqueue_payload  # noqa: PLC0415

        def queue(stage: str, payload: Any) -> str | None:
            enqueue_payload(stage, payload)
            return "queued"

        return queue
    from kabar.embedded import InlinePipeline, build_handlers  # noqa: PLC0415

    pipeline: list[InlinePipeline] = []

    def inline(stage: str, payload: Any) -> str | None:
        if not pipeline:
            pipeline.append(InlinePipeline(build_handlers(settings)))
        outcome = pipeline[0].run(payload, stage)
        return outcome.status + (f" at {outcome.stage} ({outcome.reason})" if outcome.reason else "")

    return inline
