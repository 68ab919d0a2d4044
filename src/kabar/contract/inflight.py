"""The in-flight ledger and its reconciler: nothing is lost between Redis' queue and a worker.

The Redis transport leaves a gap: kombu takes a message off its queue with ``BRPOP`` and only
then records it as unacknowledged, so a message whose worker dies, or whose Redis crashes,
between the two is gone from both (celery #7950, kombu #305). Every message sent through
``kabar.contract.queues`` (``enqueue``, ``forward``, replays) is first recorded under its task
id in ``{prefix}:inflight``, and the stage runner removes the record once the message's outcome
is safe. Each worker's parent process looks every ``KABAR_INFLIGHT_CHECK_INTERVAL`` seconds for
records older than ``KABAR_INFLIGHT_TIMEOUT`` whose queue is empty and which no worker holds,
and sends those again under the same task id. Stages are idempotent, so the rare needless
resend costs a repeat, never a duplicate.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown

from kabar.contract.celery_app import app
from kabar.contract.deadletter import describe
from kabar.contract.settings import get_settings
from kabar.contract.stages import STAGES, task_name
from kabar.contract.state import state_store

log = logging.getLogger(__name__)


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
            log.warning("re-sent %d message(s) lost in transit (see kabar.contract.inflight)", resent)
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
    return state_store(settings, InflightLedger, lambda _: InflightLedger(None, settings.key_prefix))



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


# Every worker runs the reconciler in its parent process: the stage runner and ``kabar.contract.worker``
# import this module.
@worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
def _start_reconciler(**_: Any) -> None:
    _reconciler.start()


@worker_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
def _stop_reconciler(**_: Any) -> None:
    _reconciler.stop()
