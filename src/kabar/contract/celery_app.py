"""The Celery application, its queues, and the one wrapper every stage task goes through.

Workers do not know their place in the pipeline: a stage's handler turns one message
into its output, and ``forward`` looks the next stage up in ``NEXT_STAGE``. Changing the
topology means changing this table, not a service.

Failure policy (shared by every stage):
- ``PermanentError`` or an invalid message → dead-lettered at once (retrying cannot help);
- anything else → retried with exponential backoff and jitter, dead-lettered after
  ``task_max_retries`` attempts. Either way the message is kept with its reason.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final, Protocol

from celery import Celery, Task
from kombu import Queue  # type: ignore[attr-defined]
from pydantic import BaseModel, ValidationError

from kabar.contract import metrics
from kabar.contract.deadletter import DeadLetterStore, open_dead_letter_store
from kabar.contract.settings import KabarSettings, get_settings

log = logging.getLogger(__name__)

STAGES: Final = ("ingest", "enrich", "index")
NEXT_STAGE: Final[dict[str, str]] = {"ingest": "enrich", "enrich": "index"}

Payload = dict[str, Any]


class StageHandler(Protocol):
    """What a service plugs into the pipeline for its stage.

    ``handle`` turns one message into the stage's output (``None``: nothing to pass on).
    ``after_forward`` runs once the output has been handed on, so a stage can record
    that it has seen something only when that can no longer be lost.
    """

    def handle(self, payload: Payload) -> BaseModel | None: ...

    def after_forward(self, result: BaseModel) -> None: ...


class PermanentError(Exception):
    """The message can never be processed as it is: dead-letter it, do not retry."""


def task_name(stage: str) -> str:
    return f"kabar.{stage}"


def create_celery_app(settings: KabarSettings) -> Celery:
    app = Celery("kabar", broker=settings.redis_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=settings.worker_prefetch_multiplier,
        task_queues=[Queue(stage, routing_key=stage) for stage in STAGES],  # type: ignore[no-untyped-call]
        task_routes={task_name(stage): {"queue": stage, "routing_key": stage} for stage in STAGES},
        task_default_queue="ingest",
        broker_connection_retry_on_startup=True,
        # A message unacked for this long is handed to another worker; longer than any task.
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


app = create_celery_app(get_settings())


def forward(stage: str, message: BaseModel) -> None:
    """Send a stage's output to the next stage's queue, if there is a next stage."""
    next_stage = NEXT_STAGE.get(stage)
    if next_stage is not None:
        app.send_task(task_name(next_stage), args=[message.model_dump(mode="json")], queue=next_stage)


def enqueue(stage: str, message: BaseModel) -> None:
    """Put a message on a stage's own queue (used by the CLI, the API and replays)."""
    app.send_task(task_name(stage), args=[message.model_dump(mode="json")], queue=stage)


def enqueue_payload(stage: str, payload: Payload) -> None:
    app.send_task(task_name(stage), args=[payload], queue=stage)


@lru_cache(maxsize=1)
def dead_letters() -> DeadLetterStore:
    settings = get_settings()
    return open_dead_letter_store(
        settings.state_backend_name, settings.redis_url, settings.key_prefix,
        settings.data_dir / "deadletters.sqlite3",
    )


def retry_delay(attempt: int, cap: int) -> float:
    """Exponential backoff with full jitter: spreads retries after a shared outage."""
    return random.uniform(0, min(cap, 2 ** attempt))  # noqa: S311 - jitter, not crypto


def register_stage(stage: str, handler_factory: Callable[[], StageHandler]) -> Task:
    """Register the Celery task for ``stage``; the handler is built once per worker process."""
    settings = get_settings()
    handler_cache: list[StageHandler] = []

    def handler() -> StageHandler:
        if not handler_cache:
            handler_cache.append(handler_factory())
        return handler_cache[0]

    @app.task(name=task_name(stage), bind=True, max_retries=settings.task_max_retries)  # type: ignore[untyped-decorator]
    def run(self: Task, payload: Payload) -> None:
        attempt = self.request.retries + 1
        with metrics.observe_stage(stage):
            try:
                result = handler().handle(payload)
                if result is not None:
                    forward(stage, result)
                    handler().after_forward(result)
            except (PermanentError, ValidationError) as exc:
                _give_up(stage, payload, exc, attempt, kind="permanent")
                return
            except Exception as exc:
                metrics.STAGE_FAILED.labels(stage, "transient").inc()
                if self.request.retries >= self.max_retries:
                    _give_up(stage, payload, exc, attempt, kind="exhausted")
                    return
                log.warning("stage %s attempt %d failed, retrying: %s", stage, attempt, exc)
                raise self.retry(exc=exc, countdown=retry_delay(attempt, settings.task_retry_backoff_max)) from exc
        metrics.STAGE_PROCESSED.labels(stage).inc()

    return run


def _give_up(stage: str, payload: Payload, exc: BaseException, attempts: int, kind: str) -> None:
    if kind == "permanent":
        metrics.STAGE_FAILED.labels(stage, kind).inc()
    letter = dead_letters().put(stage, payload, exc, attempts)
    metrics.STAGE_DEAD_LETTERED.labels(stage).inc()
    log.error("stage %s dead-lettered %s after %d attempt(s): %s", stage, letter.id, attempts, letter.reason)
