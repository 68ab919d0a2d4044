"""The stage runner: what a stage's Celery task does with each delivery of a message.

``register_stage(stage, factory)`` registers the task ``kabar.STAGE``; its handler (a
``kabar.contract.stages.StageHandler``) is built once per worker process. For each delivery the
runner admits the message's items (size, shape), has the handler work on them (alone, or as a
batch: ``kabar.contract.batch``), forwards the outputs to the next stage, retries what may pass
and dead-letters what cannot (``kabar.contract.failures``), and clears the message's in-flight
record (``kabar.contract.inflight``) once all of that is safe in Redis.

Nothing is lost when Redis (the broker *and* the dead-letter store) goes away or a worker is
killed: a message is acknowledged only once its outcome is safe in Redis. Each hand-off is
retried in the worker for up to ``KABAR_HANDOFF_TIMEOUT`` seconds; after that the message is
given back (``Reject(requeue=True)``), and if even that cannot reach Redis it stays in Redis'
list of unacknowledged messages and is delivered again after ``KABAR_BROKER_VISIBILITY_TIMEOUT``.
Celery's own retry would *drop* it: when ``Task.retry`` cannot publish the retry it raises
``Reject(requeue=False)``, and on the Redis transport a reject without requeue deletes the
message. For the same reason ``task_acks_on_failure_or_timeout=False`` would not keep a failed
message on Redis, so tasks never end in a failure state: every path ends acknowledged after its
hand-off, or requeued.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.exceptions import Reject, Retry
from pydantic import BaseModel, ValidationError

from kabar.contract import batch, metrics
from kabar.contract.celery_app import app
from kabar.contract.deadletter import dead_letters, describe
from kabar.contract.failures import (
    HandoffFailed,
    MessageTooLarge,
    PermanentError,
    PoisonMessage,
    hand_off,
    is_deterministic,
    retry_delay,
)
from kabar.contract.inflight import ledger
from kabar.contract.queues import forward, send
from kabar.contract.settings import KabarSettings, get_settings
from kabar.contract.stages import ItemResult, StageHandler, task_name
from kabar.contract.surrogates import lone_surrogate_reason

log = logging.getLogger(__name__)


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
                processed = self._guarded(task, items, deliveries, outcome)
            except HandoffFailed as exc:
                log.error("stage %s: %s; the message goes back to its queue", self.stage, exc)  # noqa: TRY400
                raise Reject(str(exc), requeue=True) from exc
            finally:
                ledger().finished(delivery, task_id, self.stage, done=outcome.done, retry_due=outcome.retry_due)
        if processed:
            metrics.STAGE_PROCESSED.labels(self.stage).inc(processed)

    def _guarded(self, task: Task, items: list[Any], deliveries: int, outcome: _Outcome) -> int:
        """``_process``, with the guard: an error nothing else caught dead-letters the message's items,
        each with the reason, instead of escaping to Celery (which would acknowledge, and so lose, them)."""
        try:
            return self._process(task, items, deliveries, outcome)
        except (Retry, Reject, HandoffFailed):
            raise
        except Exception as exc:
            log.exception("stage %s: unexpected error; dead-lettering the message's %d item(s)", self.stage,
                          len(items))
            for item in items:
                self._give_up(item, exc, task.request.retries + 1, "permanent")
            outcome.done = True
            return 0

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
            hand_off("split the batch", lambda: [send(self.stage, item, f"{task.request.id}:{position}")
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
        results = [self._sendable(result) for result in self._handle(items)]
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
            try:
                for position, result in zip(admitted, handle_batch([items[p] for p in admitted]), strict=True):
                    results[position] = result
            except Exception as exc:  # one item must not cost the others: each is tried on its own
                log.warning("stage %s: the batch failed (%s); trying its items one by one", self.stage, describe(exc))
            else:
                return results
        for position in admitted:
            try:
                results[position] = handler.handle(items[position])
            except Exception as exc:  # each item fails on its own; the rest of the batch carries on
                results[position] = exc
        return results

    def _sendable(self, result: ItemResult) -> ItemResult:
        """An output that cannot be written as JSON (a lone surrogate) fails alone, not the batch it would join."""
        if not isinstance(result, BaseModel):
            return result
        reason = lone_surrogate_reason(result.model_dump(mode="json"))
        return result if reason is None else PermanentError(f"the {self.stage} output cannot be sent on: {reason}")

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
        reason = lone_surrogate_reason(payload)
        if reason is not None:
            raise PermanentError(reason)

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

