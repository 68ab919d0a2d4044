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

Nothing is lost when Redis (the broker *and* the dead-letter store) goes away or a
worker is killed:

- A message is acknowledged only once its outcome is safe in Redis: the output
  forwarded, the retry scheduled or the dead letter written. Each hand-off is retried in
  the worker for up to ``KABAR_HANDOFF_TIMEOUT`` seconds; after that the message is given
  back (``Reject(requeue=True)``), and if even that cannot reach Redis it stays in Redis'
  list of unacknowledged messages and is delivered again after
  ``KABAR_BROKER_VISIBILITY_TIMEOUT``. Celery's own retry would *drop* it: when
  ``Task.retry`` cannot publish the retry it raises ``Reject(requeue=False)``, and on the
  Redis transport a reject without requeue deletes the message. For the same reason
  ``task_acks_on_failure_or_timeout=False`` would not keep a failed message on Redis, so
  tasks never end in a failure state: every path ends acknowledged after its hand-off,
  or requeued.
- The in-flight ledger closes the gap the Redis transport leaves: kombu takes a message
  off its queue with ``BRPOP`` and only then records it as unacknowledged, so a message
  whose worker dies, or whose Redis crashes, between the two is gone from both (celery
  #7950, kombu #305). Every message sent through this module (``enqueue``, ``forward``,
  replays) is first recorded under its task id in ``{prefix}:inflight``, and the task
  removes the record once its outcome is safe. Each worker's parent process looks every
  ``KABAR_INFLIGHT_CHECK_INTERVAL`` seconds for records older than
  ``KABAR_INFLIGHT_TIMEOUT`` whose queue is empty and which no worker holds, and sends
  those again under the same task id. Stages are idempotent, so the rare needless resend
  costs a repeat, never a duplicate.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Final, Protocol, TypeVar

import redis
from celery import Celery, Task
from celery.exceptions import Reject, Retry
from celery.signals import worker_ready, worker_shutdown
from elastic_transport import TransportError
from kombu import Queue  # type: ignore[attr-defined]
from pydantic import BaseModel, ValidationError

from kabar.contract import batch, metrics
from kabar.contract.deadletter import DeadLetterStore, describe, open_dead_letter_store
from kabar.contract.settings import KabarSettings, get_settings

log = logging.getLogger(__name__)

STAGES: Final = ("feeds", "ingest", "enrich", "index")
# feeds: fetch a page a feed announced; its RawDocument then goes through ingest like a file's.
NEXT_STAGE: Final[dict[str, str]] = {"feeds": "ingest", "ingest": "enrich", "enrich": "index"}
# Dead-letter stages whose queue has another name: watchlist alerts ("kabar.alert") run on "alerts".
QUEUE_OF_STAGE: Final[dict[str, str]] = {"alert": "alerts"}

Payload = dict[str, Any]
T = TypeVar("T")

# Errors that say the code cannot handle this message: a retry would fail the same way.
DETERMINISTIC_ERRORS: Final = (TypeError, ValueError, LookupError, AttributeError, RecursionError,
                               ArithmeticError, AssertionError, NotImplementedError, MemoryError)
# ...unless they come from talking to a server (redis.LockError is a ValueError, for one).
_IO_ERRORS: Final = (redis.RedisError, TransportError, OSError)


# What a stage made of one message: its output, None (nothing to pass on) or the error it raised.
ItemResult = BaseModel | Exception | None


class StageHandler(Protocol):
    """What a service plugs into the pipeline for its stage.

    ``handle`` turns one message into the stage's output (``None``: nothing to pass on).
    ``after_forward`` runs once the output has been handed on, so a stage can record
    that it has seen something only when that can no longer be lost.

    A handler may also have ``handle_batch(payloads) -> list[ItemResult]``: the messages of a
    batch (see ``kabar.contract.batch``) at once, each with its own result or error, for a
    stage that does better with several (the index stage writes them in one bulk request).
    Without it, the runner calls ``handle`` for each message.
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


def task_name(stage: str) -> str:
    return f"kabar.{stage}"


def create_celery_app(settings: KabarSettings) -> Celery:
    longest_countdown = min(settings.task_retry_backoff_max,
                            settings.task_retry_backoff_base * 2 ** max(0, settings.task_max_retries - 1))
    longest_hold = max(longest_countdown, settings.handoff_timeout)
    if settings.broker_visibility_timeout <= longest_hold:
        raise ValueError(
            f"KABAR_BROKER_VISIBILITY_TIMEOUT ({settings.broker_visibility_timeout} s) must be longer than the longest "
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
            "visibility_timeout": settings.broker_visibility_timeout,
            "unacked_restore_interval": settings.broker_restore_interval,
            "unacked_restore_throttle": 1,  # look every interval (kombu's default: every 10th)
            # The lock of that look outlives a worker or a Redis that dies holding it (it is in the AOF):
            # kombu's 300 s would hold every restore up that long; a third of the visibility timeout will not.
            "unacked_mutex_expire": max(5, min(300, settings.broker_visibility_timeout // 3)),
        },
        # A task running when the broker connection drops carries on: its hand-offs wait for Redis.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


app = create_celery_app(get_settings())


class InflightLedger:
    """Every message sent and not yet finished, by task id: what ``reconcile`` sends again if it is lost.

    ``{prefix}:inflight`` maps a task id to its stage and payload; ``{prefix}:inflight:STAGE``
    orders that stage's task ids by when they are due (sent, or a retry's countdown over).
    ``{prefix}:deliveries`` counts the deliveries of each attempt (see ``PoisonMessage``).
    """

    def __init__(self, client: redis.Redis[bytes] | None, key_prefix: str) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._records = f"{key_prefix}:inflight"
        self._deliveries = f"{key_prefix}:deliveries"
        self._lock = f"{key_prefix}:inflight:lock"

    def _due(self, stage: str) -> str:
        return f"{self._records}:{stage}"

    def sent(self, task_id: str, stage: str, payload: Any, due: float | None = None) -> None:
        if self._redis is None:
            return
        pipe = self._redis.pipeline()
        pipe.hset(self._records, task_id, json.dumps({"stage": stage, "payload": payload}, ensure_ascii=False))
        pipe.zadd(self._due(stage), {task_id: due or time.time()})
        pipe.execute()

    def started(self, delivery: str) -> int:
        """Count a delivery of one attempt; the count is what ``finished`` clears."""
        if self._redis is None:
            return 1
        try:
            return int(self._redis.hincrby(self._deliveries, delivery, 1))
        except redis.RedisError:
            return 1  # cannot count now: run it (a lost count only delays poison detection)

    def finished(self, delivery: str, task_id: str, stage: str, *, done: bool, retry_due: float | None = None) -> None:
        """The attempt is over: ``done`` (the record goes), or a retry is due at ``retry_due``."""
        if self._redis is None:
            return
        pipe = self._redis.pipeline()
        pipe.hdel(self._deliveries, delivery)
        if done:
            pipe.hdel(self._records, task_id)
            pipe.zrem(self._due(stage), task_id)
        elif retry_due is not None:
            pipe.zadd(self._due(stage), {task_id: retry_due}, xx=True)
        try:
            pipe.execute()
        except redis.RedisError as exc:  # a record left behind costs one needless resend, later
            log.warning("could not update the in-flight record of %s: %s", task_id, describe(exc))

    def reconcile(self, older_than: float, send: Callable[[str, Any, str], None], lock_for: float,
                  batch: int = 500) -> int:
        """Send again what was lost in transit; returns how many. One worker at a time (a Redis lock)."""
        if self._redis is None or not self._redis.set(self._lock, "1", nx=True, ex=max(1, int(lock_for))):
            return 0
        held = self._held_task_ids()
        now = time.time()
        resent = 0
        for stage in STAGES:
            if self._redis.llen(stage):
                continue  # what waits may be queued: only an empty queue proves a record is lost
            stale = [raw.decode() for raw in self._redis.zrangebyscore(self._due(stage), "-inf", now - older_than,
                                                                       start=0, num=batch)]
            lost = [task_id for task_id in stale if task_id not in held]
            records = self._redis.hmget(self._records, lost) if lost else []
            for task_id, raw in zip(lost, records, strict=True):
                if raw is None:
                    self._redis.zrem(self._due(stage), task_id)
                    continue
                record = json.loads(raw)
                self._redis.zadd(self._due(stage), {task_id: now})
                send(stage, record["payload"], task_id)
                resent += 1
        if resent:
            log.warning("re-sent %d message(s) lost in transit (see kabar.contract.celery_app)", resent)
        return resent

    def _held_task_ids(self) -> set[str]:
        """Task ids of the messages workers hold now (kombu's unacknowledged messages)."""
        assert self._redis is not None
        held = set()
        for raw in self._redis.hvals("unacked"):
            try:
                held.add(str(json.loads(raw)[0]["headers"]["id"]))
            except (ValueError, KeyError, IndexError, TypeError):
                continue
        return held


@lru_cache(maxsize=1)
def ledger() -> InflightLedger:
    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url) if settings.state_backend_name == "redis" else None
    return InflightLedger(client, settings.key_prefix)


def _send(stage: str, payload: Any, task_id: str | None = None) -> str:
    """Record the message in the in-flight ledger, then put it on ``stage``'s queue.

    Only pipeline stages (``register_stage`` tasks, which clear their record when done) are recorded.
    """
    task_id = task_id or str(uuid.uuid4())
    if stage in STAGES:
        ledger().sent(task_id, stage, payload)
    app.send_task(task_name(stage), args=[payload], queue=QUEUE_OF_STAGE.get(stage, stage), task_id=task_id)
    return task_id


def forward(stage: str, messages: Sequence[BaseModel], task_id: str | None = None) -> None:
    """Send a stage's output (one message, or a batch of them) to the next stage's queue, if there is one."""
    next_stage = NEXT_STAGE.get(stage)
    if next_stage is not None and messages:
        _send(next_stage, batch.wrap([message.model_dump(mode="json") for message in messages]), task_id)


def enqueue(stage: str, message: BaseModel) -> None:
    """Put a message on a stage's own queue (used by the CLI, the API and replays)."""
    _send(stage, message.model_dump(mode="json"))


def enqueue_many(stage: str, messages: Sequence[BaseModel], batch_size: int | None = None) -> list[str]:
    """Put messages on a stage's queue ``batch_size`` (default ``KABAR_BATCH_SIZE``) at a time; the task ids."""
    size = batch_size or get_settings().batch_size
    payloads = [message.model_dump(mode="json") for message in messages]
    return [_send(stage, batch.wrap(chunk)) for chunk in batch.chunked(payloads, size)]


def enqueue_payload(stage: str, payload: Any) -> None:
    _send(stage, payload)


@lru_cache(maxsize=1)
def dead_letters() -> DeadLetterStore:
    settings = get_settings()
    return open_dead_letter_store(
        settings.state_backend_name, settings.redis_url, settings.key_prefix,
        settings.data_dir / "deadletters.sqlite3",
    )


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


def register_stage(stage: str, handler_factory: Callable[[], StageHandler]) -> Task:
    """Register the Celery task for ``stage``; the handler is built once per worker process."""
    settings = get_settings()
    runner = _StageRunner(stage, handler_factory, settings)

    @app.task(name=task_name(stage), bind=True, max_retries=settings.task_max_retries)  # type: ignore[untyped-decorator]
    def run(self: Task, payload: Any) -> None:
        runner.run(self, payload)

    return run


class _Outcome:
    """How an attempt ended, for the ledger: finished (``done``) or a retry due at ``retry_due``."""

    def __init__(self) -> None:
        self.done = False
        self.retry_due: float | None = None


class _StageRunner:
    """What ``register_stage``'s task does with one delivery of a message (one, or a batch: see ``batch``)."""

    def __init__(self, stage: str, handler_factory: Callable[[], StageHandler], settings: KabarSettings) -> None:
        self.stage = stage
        self._handler_factory = handler_factory
        self._handler: StageHandler | None = None
        self._building = threading.Lock()  # a threads pool would otherwise build one handler per thread
        self.settings = settings

    def handler(self) -> StageHandler:
        if self._handler is None:
            with self._building:
                if self._handler is None:
                    self._handler = self._handler_factory()
        return self._handler

    def run(self, task: Task, payload: Any) -> None:
        task_id = str(task.request.id)
        delivery = f"{self.stage}:{task_id}:{task.request.retries}"
        items = batch.unpack(payload)
        outcome = _Outcome()
        with metrics.observe_stage(self.stage, len(items)):
            # Counted before, cleared after: a count left behind is a worker that died under the message.
            deliveries = ledger().started(delivery)
            try:
                processed = self._process(task, items, deliveries, outcome)
            except HandoffFailed as exc:
                log.error("stage %s: %s; the message goes back to its queue", self.stage, exc)  # noqa: TRY400
                raise Reject(str(exc), requeue=True) from exc
            finally:
                ledger().finished(delivery, task_id, self.stage, done=outcome.done, retry_due=outcome.retry_due)
        if processed:
            metrics.STAGE_PROCESSED.labels(self.stage).inc(processed)

    def _process(self, task: Task, items: list[Any], deliveries: int, outcome: _Outcome) -> int:
        """One attempt at a message's items; returns how many were processed (not dead-lettered).

        Raises ``Retry`` once a retry of the failed items is safely scheduled, ``HandoffFailed``
        when Redis is out of reach.
        """
        attempt = task.request.retries + 1
        if deliveries > 1 and len(items) > 1:
            # A worker died under this batch: send its items on alone, so that a poisonous one
            # is found (and dead-lettered) by itself and does not take the others down again.
            log.warning("stage %s: a worker died under a batch of %d message(s); sending them on one by one",
                        self.stage, len(items))
            hand_off("split the batch", lambda: [_send(self.stage, item, f"{task.request.id}:{position}")
                                                 for position, item in enumerate(items)],
                     self.settings.handoff_timeout)
            outcome.done = True
            return 0
        if deliveries > self.settings.task_max_deliveries:
            died = PoisonMessage(f"the worker died {deliveries - 1} times while processing this message "
                                 "(killed, out of memory or crashed)")
            self._give_up(items[0], died, attempt, "permanent")
            outcome.done = True
            return 0
        results = self._handle(items)
        outputs = [result for result in results if isinstance(result, BaseModel)]
        if outputs:
            self._forward(outputs)
        failed = [(item, result) for item, result in zip(items, results, strict=True) if isinstance(result, Exception)]
        retry = [(item, exc) for item, exc in failed if not self._give_up_at_once(item, exc, attempt)]
        if retry:
            metrics.STAGE_FAILED.labels(self.stage, "transient").inc(len(retry))
            if task.request.retries < task.max_retries:
                log.warning("stage %s attempt %d: %d message(s) failed, retrying: %s", self.stage, attempt,
                            len(retry), describe(retry[0][1]))
                raise self._schedule_retry(task, retry, attempt, outcome) from retry[0][1]
            for item, exc in retry:
                self._give_up(item, exc, attempt, "exhausted")
        outcome.done = True
        return len(items) - len(failed)

    def _handle(self, items: list[Any]) -> list[ItemResult]:
        """Each item's result or error; a stage that can work on several at once gets them together."""
        results: list[ItemResult] = [None] * len(items)
        admitted: list[int] = []
        for position, item in enumerate(items):
            try:
                self._admit(item)
                admitted.append(position)
            except PermanentError as exc:
                results[position] = exc
        try:
            handler = self.handler()
        except Exception as exc:  # e.g. the search server unreachable while the handler starts: retry them all
            log.warning("stage %s: could not start its handler: %s", self.stage, describe(exc))
            for position in admitted:
                results[position] = exc
            return results
        handle_batch = getattr(handler, "handle_batch", None)
        if handle_batch is not None and len(admitted) > 1:
            for position, result in zip(admitted, handle_batch([items[p] for p in admitted]), strict=True):
                results[position] = result
            return results
        for position in admitted:
            try:
                results[position] = handler.handle(items[position])
            except Exception as exc:  # each item fails on its own; the rest of the batch carries on
                results[position] = exc
        return results

    def _forward(self, outputs: list[BaseModel]) -> None:
        forwarded_id = str(uuid.uuid4())  # the same id for every try: a retried hand-off sends one message
        hand_off(f"forward the {self.stage} output", lambda: forward(self.stage, outputs, forwarded_id),
                 self.settings.handoff_timeout)
        for output in outputs:
            try:
                self.handler().after_forward(output)
            except Exception as exc:  # the output is on its way; missing this only means a repeat is not skipped
                log.warning("stage %s: after_forward failed (the output was forwarded): %s", self.stage,
                            describe(exc))

    def _give_up_at_once(self, item: Any, exc: Exception, attempt: int) -> bool:
        """Dead-letter ``item`` now if its error is permanent (a retry would fail the same way)."""
        if isinstance(exc, PermanentError | ValidationError):
            self._give_up(item, exc, attempt, "permanent")
            return True
        if is_deterministic(exc):
            log.error("stage %s cannot process a message", self.stage, exc_info=exc)
            self._give_up(item, exc, attempt, "permanent")
            return True
        return False

    def _admit(self, payload: Any) -> None:
        """Refuse what no stage should work on: a message that is too big, or not a JSON object."""
        size = payload_size(payload)
        limit = self.settings.max_document_bytes
        if size > limit:
            raise MessageTooLarge(f"message is {size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit "
                                  "(KABAR_MAX_DOCUMENT_BYTES)")
        if not isinstance(payload, dict):
            raise PermanentError(f"a message must be a JSON object, not {type(payload).__name__}")

    def _schedule_retry(self, task: Task, failed: list[tuple[Any, Exception]], attempt: int,
                        outcome: _Outcome) -> Retry:
        """Publish the retry of the failed items (with a countdown); the message is acknowledged after."""
        countdown = retry_delay(attempt, self.settings.task_retry_backoff_max, self.settings.task_retry_backoff_base)
        payload = batch.wrap([item for item, _ in failed])
        exc = failed[0][1]

        def publish() -> Retry:
            try:
                scheduled: Retry = task.retry(args=[payload], exc=exc, countdown=countdown, throw=False)
            except Reject as rejected:  # Celery could not publish the retry; it would drop the message
                raise ConnectionError(f"publishing the retry failed: {rejected.reason}") from exc
            return scheduled

        scheduled = hand_off("schedule a retry", publish, self.settings.handoff_timeout)
        outcome.retry_due = time.time() + countdown
        return scheduled

    def _give_up(self, payload: Any, exc: BaseException, attempts: int, kind: str) -> None:
        if kind == "permanent":
            metrics.STAGE_FAILED.labels(self.stage, kind).inc()
        letter = hand_off("write the dead letter", lambda: dead_letters().put(self.stage, payload, exc, attempts),
                          self.settings.handoff_timeout)
        metrics.STAGE_DEAD_LETTERED.labels(self.stage).inc()
        log.error("stage %s dead-lettered %s after %d attempt(s): %s", self.stage, letter.id, attempts,
                  letter.reason)


class _Reconciler:
    """The parent process of every worker: every interval, resend what the in-flight ledger says was lost."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if get_settings().state_backend_name != "redis" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="kabar-inflight", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        settings = get_settings()
        while not self._stop.wait(settings.inflight_check_interval):
            try:
                ledger().reconcile(settings.inflight_timeout, _resend, lock_for=settings.inflight_check_interval * 0.8)
            except Exception as exc:  # Redis away: the next round tries again
                log.warning("in-flight check failed: %s", describe(exc))


def _resend(stage: str, payload: Any, task_id: str) -> None:
    app.send_task(task_name(stage), args=[payload], queue=stage, task_id=task_id)


_reconciler = _Reconciler()


@worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
def _start_reconciler(**_: Any) -> None:
    _reconciler.start()


@worker_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
def _stop_reconciler(**_: Any) -> None:
    _reconciler.stop()
