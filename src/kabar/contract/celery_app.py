"""The Celery application, its queues, and the one wrapper every stage task goes through.

Workers do not know their place in the pipeline: a stage's handler turns one message
into its output, and ``forward`` looks the next stage up in ``NEXT_STAGE``. Changing the
topology means changing this table, not a service.

Failure policy (shared by every stage):
- ``PermanentError``, an invalid message, a message over ``KABAR_MAX_DOCUMENT_BYTES`` or a
  deterministic error (``TypeError``, ``ValueError``, ``KeyError`` …: a retry would fail
  the same way) → dead-lettered at once;
- anything else → retried with exponential backoff and jitter, dead-lettered after
  ``task_max_retries`` retries. Either way the message is kept with its reason;
- a message whose worker process died under it ``KABAR_TASK_MAX_DELIVERIES`` times
  (killed, out of memory, crashed in C code) is dead-lettered instead of run again, so
  one poisonous message cannot keep a worker in a crash loop.

Nothing is lost when Redis goes away (the broker *and* the dead-letter store):
a message is acknowledged only once its outcome is safe in Redis: the output forwarded,
the retry scheduled or the dead letter written. Each of those hand-offs is retried in
the worker for up to ``KABAR_HANDOFF_TIMEOUT`` seconds; after that the message is given
back (``Reject(requeue=True)``), and if even that cannot reach Redis it stays in Redis'
list of unacknowledged messages and is delivered again after
``KABAR_BROKER_VISIBILITY_TIMEOUT``. Celery's own retry would have *dropped* it: when
``Task.retry`` cannot publish the retry it raises ``Reject(requeue=False)``, and on the
Redis transport rejecting without requeue deletes the message. For the same reason
``task_acks_on_failure_or_timeout=False`` would not keep a failed message on Redis (it
rejects without requeue, which is a delete), so the tasks never end in a failure state:
every path ends acknowledged-after-hand-off or requeued.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final, Protocol, TypeVar

import redis
from celery import Celery, Task
from celery.exceptions import Reject, Retry
from elastic_transport import TransportError
from kombu import Queue  # type: ignore[attr-defined]
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from kabar.contract import metrics
from kabar.contract.deadletter import DeadLetterStore, describe, open_dead_letter_store
from kabar.contract.settings import KabarSettings, get_settings

log = logging.getLogger(__name__)

STAGES: Final = ("feeds", "ingest", "enrich", "index")
# feeds: fetch a page a feed announced; its RawDocument then goes through ingest like a file's.
NEXT_STAGE: Final[dict[str, str]] = {"feeds": "ingest", "ingest": "enrich", "enrich": "index"}

Payload = dict[str, Any]
T = TypeVar("T")

# Errors that say the code cannot handle this message: a retry would fail the same way.
DETERMINISTIC_ERRORS: Final = (TypeError, ValueError, LookupError, AttributeError, RecursionError,
                               ArithmeticError, AssertionError, NotImplementedError, MemoryError)
# ...unless they come from talking to a server (redis.LockError is a ValueError, for one).
_IO_ERRORS: Final = (redis.RedisError, TransportError, OSError)


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


class MessageTooLarge(PermanentError):
    """A message over ``KABAR_MAX_DOCUMENT_BYTES``: refused before any stage works on it."""


class PoisonMessage(PermanentError):
    """The worker process died under this message too many times."""


class HandoffFailed(Exception):
    """Redis would not take a message's outcome within ``KABAR_HANDOFF_TIMEOUT``."""


class ReliabilityTuning(BaseSettings):
    """``KABAR_BROKER_VISIBILITY_TIMEOUT``, ``KABAR_BROKER_RESTORE_INTERVAL``, ``KABAR_HANDOFF_TIMEOUT``,
    ``KABAR_TASK_RETRY_BACKOFF_BASE`` and ``KABAR_TASK_MAX_DELIVERIES``.

    Kept here until they join ``KabarSettings`` in the contract.
    """

    model_config = SettingsConfigDict(env_prefix="KABAR_", extra="ignore")

    # A message a worker took and never acknowledged (the worker was killed, or Redis restarted
    # before the acknowledgement arrived) is delivered again after this many seconds. Must be
    # longer than any task and than any retry's countdown: those are held unacknowledged too.
    broker_visibility_timeout: int = 3600
    # How often each worker looks for such messages (seconds).
    broker_restore_interval: float = 10.0
    # How long a worker keeps trying to hand a message's outcome to Redis (forward, retry,
    # dead letter) before it gives the message back to the queue.
    handoff_timeout: float = 120.0
    # Retry n waits between half and all of min(KABAR_TASK_RETRY_BACKOFF_MAX, base * 2**(n-1)) s:
    # with the defaults, 5 retries span 62-124 s, so a search server or Redis restart is ridden out.
    task_retry_backoff_base: float = 4.0
    # Deliveries of one attempt at a message before it counts as poisonous (see PoisonMessage).
    task_max_deliveries: int = 5


def task_name(stage: str) -> str:
    return f"kabar.{stage}"


def create_celery_app(settings: KabarSettings, tuning: ReliabilityTuning | None = None) -> Celery:
    tuning = tuning or ReliabilityTuning()
    longest_countdown = min(settings.task_retry_backoff_max,
                            tuning.task_retry_backoff_base * 2 ** max(0, settings.task_max_retries - 1))
    longest_hold = max(longest_countdown, tuning.handoff_timeout)
    if tuning.broker_visibility_timeout <= longest_hold:
        raise ValueError(
            f"KABAR_BROKER_VISIBILITY_TIMEOUT ({tuning.broker_visibility_timeout} s) must be longer than the longest "
            f"retry countdown and KABAR_HANDOFF_TIMEOUT ({longest_hold:g} s): a worker holds a message that long, "
            "and Redis would hand it to a second worker meanwhile"
        )
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
        broker_transport_options={
            "visibility_timeout": tuning.broker_visibility_timeout,
            "unacked_restore_interval": tuning.broker_restore_interval,
            "unacked_restore_throttle": 1,  # look every interval (kombu's default: every 10th)
            # The lock of that look outlives a worker or a Redis that dies holding it (it is in the AOF):
            # kombu's 300 s would hold every restore up that long; a third of the visibility timeout will not.
            "unacked_mutex_expire": max(5, min(300, tuning.broker_visibility_timeout // 3)),
        },
        # A task running when the broker connection drops carries on: its hand-offs wait for Redis.
        worker_cancel_long_running_tasks_on_connection_loss=False,
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


def enqueue_payload(stage: str, payload: Any) -> None:
    app.send_task(task_name(stage), args=[payload], queue=stage)


@lru_cache(maxsize=1)
def dead_letters() -> DeadLetterStore:
    settings = get_settings()
    return open_dead_letter_store(
        settings.state_backend_name, settings.redis_url, settings.key_prefix,
        settings.data_dir / "deadletters.sqlite3",
    )


@lru_cache(maxsize=1)
def reliability() -> ReliabilityTuning:
    return ReliabilityTuning()


def retry_delay(attempt: int, cap: float, base: float = 4.0) -> float:
    """Exponential backoff with equal jitter: between half and all of ``min(cap, base * 2**(attempt-1))``.

    The jitter spreads the retries of messages that failed together (a shared outage);
    the lower half keeps the total wait of a retry budget predictable, so a budget
    always outlasts a restart of the server it waits for.
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


def hand_off(what: str, action: Callable[[], T], timeout: float) -> T:
    """Run a write to Redis until it succeeds, backing off with jitter; ``HandoffFailed`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            return action()
        except Exception as exc:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HandoffFailed(f"could not {what} for {timeout:g} s: {describe(exc)}") from exc
            log.warning("could not %s (try %d), trying again: %s", what, attempt, describe(exc))
            time.sleep(min(remaining, retry_delay(attempt, cap=5.0, base=0.25)))


def payload_size(payload: Any) -> int:
    """Bytes of the message's text fields (what makes a message big), without encoding all of it."""
    if not isinstance(payload, dict):
        return len(str(payload))
    total = 0
    for value in payload.values():
        if isinstance(value, str):
            # A character is 1 to 4 bytes in UTF-8: only encode when the answer could matter.
            total += len(value) if len(value) < 1024 else len(value.encode("utf-8", "replace"))
    return total


def is_deterministic(exc: BaseException) -> bool:
    return isinstance(exc, DETERMINISTIC_ERRORS) and not isinstance(exc, _IO_ERRORS)


class _Deliveries:
    """How many times each attempt at a message was delivered: counts deaths of the worker under it."""

    def __init__(self, settings: KabarSettings) -> None:
        self._redis: redis.Redis[bytes] | None = (
            redis.Redis.from_url(settings.redis_url) if settings.state_backend_name == "redis" else None
        )
        self._key = f"{settings.key_prefix}:deliveries"

    def start(self, key: str) -> int:
        if self._redis is None:
            return 1
        try:
            return int(self._redis.hincrby(self._key, key, 1))
        except redis.RedisError:
            return 1  # cannot count now: run it (a lost count only delays poison detection)

    def done(self, key: str) -> None:
        if self._redis is None:
            return
        try:
            self._redis.hdel(self._key, key)
        except redis.RedisError:
            log.warning("could not clear the delivery count of %s", key)


def register_stage(stage: str, handler_factory: Callable[[], StageHandler]) -> Task:
    """Register the Celery task for ``stage``; the handler is built once per worker process."""
    settings = get_settings()
    runner = _StageRunner(stage, handler_factory, settings, reliability())

    @app.task(name=task_name(stage), bind=True, max_retries=settings.task_max_retries)  # type: ignore[untyped-decorator]
    def run(self: Task, payload: Any) -> None:
        runner.run(self, payload)

    return run


class _StageRunner:
    """What ``register_stage``'s task does with one delivery of a message."""

    def __init__(self, stage: str, handler_factory: Callable[[], StageHandler], settings: KabarSettings,
                 tuning: ReliabilityTuning) -> None:
        self.stage = stage
        self._handler_factory = handler_factory
        self._handler: StageHandler | None = None
        self._deliveries: _Deliveries | None = None
        self.settings = settings
        self.tuning = tuning

    def handler(self) -> StageHandler:
        if self._handler is None:
            self._handler = self._handler_factory()
        return self._handler

    def deliveries(self) -> _Deliveries:
        if self._deliveries is None:
            self._deliveries = _Deliveries(self.settings)
        return self._deliveries

    def run(self, task: Task, payload: Any) -> None:
        delivery_key = f"{self.stage}:{task.request.id}:{task.request.retries}"
        with metrics.observe_stage(self.stage):
            # Counted before, cleared after: a count left behind is a worker that died under the message.
            delivery = self.deliveries().start(delivery_key)
            try:
                processed = self._process(task, payload, delivery)
            except HandoffFailed as exc:
                log.error("stage %s: %s; the message goes back to its queue", self.stage, exc)  # noqa: TRY400
                raise Reject(str(exc), requeue=True) from exc
            finally:
                self.deliveries().done(delivery_key)
        if processed:
            metrics.STAGE_PROCESSED.labels(self.stage).inc()

    def _process(self, task: Task, payload: Any, delivery: int) -> bool:
        """One attempt at a message; True when it was processed, False when it was dead-lettered.

        Raises ``Retry`` once a retry is safely scheduled, ``HandoffFailed`` when Redis is out of reach.
        """
        attempt = task.request.retries + 1
        if delivery > self.tuning.task_max_deliveries:
            died = PoisonMessage(f"the worker died {delivery - 1} times while processing this message "
                                 "(killed, out of memory or crashed)")
            self._give_up(payload, died, attempt, "permanent")
            return False
        try:
            self._admit(payload)
            result = self.handler().handle(payload)
        except (PermanentError, ValidationError) as exc:
            self._give_up(payload, exc, attempt, "permanent")
            return False
        except Exception as exc:
            if is_deterministic(exc):
                log.exception("stage %s cannot process a message", self.stage)
                self._give_up(payload, exc, attempt, "permanent")
                return False
            metrics.STAGE_FAILED.labels(self.stage, "transient").inc()
            if task.request.retries >= task.max_retries:
                self._give_up(payload, exc, attempt, "exhausted")
                return False
            log.warning("stage %s attempt %d failed, retrying: %s", self.stage, attempt, describe(exc))
            raise self._schedule_retry(task, exc, attempt) from exc
        if result is not None:
            hand_off(f"forward the {self.stage} output", lambda: forward(self.stage, result),
                     self.tuning.handoff_timeout)
            try:
                self.handler().after_forward(result)
            except Exception as exc:  # the output is on its way; missing this only means a repeat is not skipped
                log.warning("stage %s: after_forward failed (the output was forwarded): %s", self.stage,
                            describe(exc))
        return True

    def _admit(self, payload: Any) -> None:
        """Refuse what no stage should work on: a message that is too big, or not a JSON object."""
        size = payload_size(payload)
        limit = self.settings.max_document_bytes
        if size > limit:
            raise MessageTooLarge(f"message is {size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit "
                                  "(KABAR_MAX_DOCUMENT_BYTES)")
        if not isinstance(payload, dict):
            raise PermanentError(f"a message must be a JSON object, not {type(payload).__name__}")

    def _schedule_retry(self, task: Task, exc: Exception, attempt: int) -> Retry:
        """Publish the retry (a copy of the message with a countdown); the original is acknowledged after."""
        countdown = retry_delay(attempt, self.settings.task_retry_backoff_max, self.tuning.task_retry_backoff_base)

        def publish() -> Retry:
            try:
                scheduled: Retry = task.retry(exc=exc, countdown=countdown, throw=False)
            except Reject as failed:  # Celery could not publish the retry; it would drop the message
                raise ConnectionError(f"publishing the retry failed: {failed.reason}") from exc
            return scheduled

        return hand_off("schedule a retry", publish, self.tuning.handoff_timeout)

    def _give_up(self, payload: Any, exc: BaseException, attempts: int, kind: str) -> None:
        if kind == "permanent":
            metrics.STAGE_FAILED.labels(self.stage, kind).inc()
        letter = hand_off("write the dead letter", lambda: dead_letters().put(self.stage, payload, exc, attempts),
                          self.tuning.handoff_timeout)
        metrics.STAGE_DEAD_LETTERED.labels(self.stage).inc()
        log.error("stage %s dead-lettered %s after %d attempt(s): %s", self.stage, letter.id, attempts,
                  letter.reason)
