"""Batching for the index worker: one Celery task per article, one bulk request per batch.

Design (group commit). The contract's ``register_stage`` runs one task per message and
acknowledges it when the task returns (``acks_late``). Rather than changing that, the
index worker's handler hands each article to an ``IndexBuffer`` shared by the threads
of the worker process and *blocks* until the batch holding it has been written:

- the batch is written when it holds ``max_batch`` articles, or when every thread that
  could add to it is already waiting in it, or when its oldest article has waited
  ``max_wait`` seconds; whichever comes first. The thread that finds the batch ready
  writes it (no extra flusher thread), the others wait for their outcome;
- each task then returns (acknowledging its message) or raises with its own article's
  outcome: a document the server refused is a permanent error (dead-lettered with the
  server's reason), a failure that outlasted the bulk writer's retries is transient
  (Celery retries it later). So a message is acknowledged only after its article is
  written, and a crash before that leaves it unacknowledged, to be redelivered;
- a redelivered or repeated article is harmless: the writer skips content it already
  stored and versions changed content exactly once (see ``es_bulk``).

Batches only form when several tasks run at once in one process, i.e. with Celery's
``threads`` pool (index work is network-bound, so threads are what it wants): with
``--pool threads --concurrency 64`` and the contract's prefetch multiplier of 1, up to
64 articles are in flight per process and are written together. Under the prefork pool
each process runs one task at a time; the buffer sees a single thread and writes each
article at once instead of waiting for company that cannot come. The alternatives were
celery-batches (acknowledges whole batches, needs an unbounded prefetch, which the
contract's at-most-one-unacked-message rule forbids) and tasks that carry lists (the
enrich stage would have to batch for the index stage, coupling the two).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kabar.contract.messages import EnrichedArticle
from kabar_search.models import IndexOutcome

log = logging.getLogger(__name__)

Writer = Callable[[Sequence[EnrichedArticle]], list[IndexOutcome]]


@dataclass(slots=True)
class _Waiter:
    article: EnrichedArticle
    thread: int
    since: float = field(default_factory=time.monotonic)
    outcome: IndexOutcome | None = None
    error: Exception | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None or self.error is not None


@dataclass(slots=True)
class BufferStats:
    batches: int = 0
    articles: int = 0
    largest_batch: int = 0


class IndexBuffer:
    def __init__(self, write: Writer, max_batch: int = 200, max_wait: float = 0.1, timeout: float = 120.0) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be at least 1 and max_wait not negative")
        self._write = write
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._timeout = timeout
        self._lock = threading.Condition()
        self._pending: list[_Waiter] = []
        self._writing = False
        self._threads: set[int] = set()  # every thread that has submitted: who could still join a batch
        self.stats = BufferStats()

    def submit(self, article: EnrichedArticle) -> IndexOutcome:
        """Write ``article`` with the next batch; returns its outcome once the batch is written."""
        result = self.submit_many([article])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def submit_many(self, articles: Sequence[EnrichedArticle]) -> list[IndexOutcome | Exception]:
        """Write ``articles`` (a batch message's) with the next batch(es); each one's outcome, or the
        error its batch failed with, once all are written."""
        thread = threading.get_ident()
        waiters = [_Waiter(article, thread) for article in articles]
        deadline = time.monotonic() + self._timeout
        with self._lock:
            self._threads.add(thread)
            self._pending.extend(waiters)
            self._lock.notify_all()
            while not all(waiter.done for waiter in waiters):
                if self._ready():
                    self._write_batch()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [self._result(waiter) if waiter.done else self._give_up(waiter) for waiter in waiters]
                self._lock.wait(min(remaining, self._until_due()))
        return [self._result(waiter) for waiter in waiters]

    @staticmethod
    def _result(waiter: _Waiter) -> IndexOutcome | Exception:
        if waiter.error is not None:
            return waiter.error
        assert waiter.outcome is not None
        return waiter.outcome

    def _ready(self) -> bool:
        if self._writing or not self._pending:
            return False
        waiting_threads = {waiter.thread for waiter in self._pending}
        return (len(self._pending) >= self._max_batch or waiting_threads >= self._threads
                or time.monotonic() - self._pending[0].since >= self._max_wait)

    def _until_due(self) -> float:
        if self._writing or not self._pending:
            return self._timeout  # woken by notify_all when the write in progress ends
        return max(0.0, self._pending[0].since + self._max_wait - time.monotonic())

    def _write_batch(self) -> None:
        """Called holding the lock; releases it while the batch is written."""
        batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
        self._writing = True
        self._lock.release()
        started = time.perf_counter()
        try:
            outcomes = self._write([waiter.article for waiter in batch])
            error: Exception | None = None
        except Exception as exc:  # the whole batch failed: each task reports it and Celery retries
            outcomes, error = [], exc
        finally:
            self._lock.acquire()
            self._writing = False
        log.info("index batch of %d article(s) written in %.0f ms%s", len(batch),
                 (time.perf_counter() - started) * 1000, f" (failed: {error})" if error else "")
        for position, waiter in enumerate(batch):
            waiter.outcome, waiter.error = (outcomes[position], None) if error is None else (None, error)
        self.stats.batches += 1
        self.stats.articles += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        self._lock.notify_all()

    def _give_up(self, waiter: _Waiter) -> IndexOutcome:
        """Out of time before the batch was written: leave it out if it has not been taken yet."""
        if waiter in self._pending:
            self._pending.remove(waiter)
        return IndexOutcome(waiter.article.id, "failed", reason=f"not written within {self._timeout:.0f} s")
