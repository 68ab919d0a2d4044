"""Which worker holds which delivery, so that what a dead worker held comes back at once.

kombu's Redis transport records every message a worker takes in the ``unacked`` hash and gives it
back only after ``KABAR_BROKER_VISIBILITY_TIMEOUT`` (an hour by default): it cannot tell a worker
that holds a message for a long retry countdown from one that was killed (``kill -9`` of a whole
worker, an OOM kill, a lost node). This module makes the difference observable:

- every worker's parent process (the one that talks to the broker) keeps a key
  ``{prefix}:worker:ID:alive`` with a TTL of ``KABAR_WORKER_HEARTBEAT_TTL`` seconds, renewed
  every ``KABAR_WORKER_HEARTBEAT_INTERVAL``, and the set ``{prefix}:worker:ID:holds`` of the
  delivery tags it has taken (recorded when a message is received: Celery's ``task_received``
  signal, and again at each beat from the worker's own request table);
- every beat, one worker looks for entries of ``unacked`` whose holder's key has expired (or that
  no worker has claimed for ``2 x TTL``) and gives them back to their queue with kombu's own
  ``QoS.restore_by_tag``, exactly as kombu does when the visibility timeout runs out.

A worker that is alive but late to beat (a paused process) loses nothing either: its message is
delivered a second time, and stages are idempotent (a repeat, never a duplicate).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import redis
from celery.signals import task_received, worker_ready, worker_shutdown

from kabar.contract.celery_app import app
from kabar.contract.deadletter import describe
from kabar.contract.settings import KabarSettings, get_settings

log = logging.getLogger(__name__)

UNACKED: Final = "unacked"  # kombu's Redis transport: delivery tag -> [message, exchange, routing key]
UNACKED_INDEX: Final = "unacked_index"  # delivery tag -> when it was taken


class Liveness:
    """One worker's heartbeat and holdings in Redis, and the sweep that gives back a dead worker's."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, worker_id: str, ttl: float) -> None:
        self._redis = client
        self._prefix = key_prefix
        self.worker_id = worker_id
        self._ttl = ttl
        self._workers = f"{key_prefix}:workers"
        self._sweep_lock = f"{key_prefix}:workers:sweep"

    def _alive(self, worker_id: str) -> str:
        return f"{self._prefix}:worker:{worker_id}:alive"

    def _holds(self, worker_id: str) -> str:
        return f"{self._prefix}:worker:{worker_id}:holds"

    def received(self, tag: str) -> None:
        """Claim a delivery as soon as it arrives (before the next beat)."""
        pipe = self._redis.pipeline()
        pipe.sadd(self._holds(self.worker_id), tag)
        pipe.set(self._alive(self.worker_id), repr(time.time()), ex=max(1, round(self._ttl)))
        pipe.sadd(self._workers, self.worker_id)
        pipe.execute()

    def beat(self, held: Iterable[str]) -> None:
        """Say this worker is alive and holds ``held`` (and what it claimed that is still unacknowledged)."""
        holds = self._holds(self.worker_id)
        current = set(held)
        claimed = {raw.decode() for raw in self._redis.smembers(holds)}
        acknowledged = [tag for tag, present in zip(claimed, self._still_unacked(claimed), strict=True)
                        if not present and tag not in current]
        pipe = self._redis.pipeline()
        pipe.set(self._alive(self.worker_id), repr(time.time()), ex=max(1, round(self._ttl)))
        pipe.sadd(self._workers, self.worker_id)
        if current:
            pipe.sadd(holds, *current)
        if acknowledged:
            pipe.srem(holds, *acknowledged)
        pipe.execute()

    def orphans(self, now: float | None = None) -> list[str]:
        """Unacknowledged deliveries no living worker holds: a dead worker's, or unclaimed for ``2 x TTL``."""
        now = time.time() if now is None else now
        workers = [raw.decode() for raw in self._redis.smembers(self._workers)]
        pipe = self._redis.pipeline()
        for worker in workers:
            pipe.exists(self._alive(worker))
            pipe.smembers(self._holds(worker))
        answers = pipe.execute()
        living: set[str] = set()
        dead: dict[str, set[str]] = {}
        for worker, alive, tags in zip(workers, answers[::2], answers[1::2], strict=True):
            decoded = {raw.decode() for raw in tags}
            if alive:
                living |= decoded
            else:
                dead[worker] = decoded
        taken = {raw.decode(): float(score)
                 for raw, score in self._redis.zrange(UNACKED_INDEX, 0, -1, withscores=True)}
        found = [tag for tags in dead.values() for tag in tags if tag in taken and tag not in living]
        unclaimed = [tag for tag, since in taken.items() if tag not in living and now - since > 2 * self._ttl]
        self._forget(dead)
        return list(dict.fromkeys([*found, *unclaimed]))

    def sweep(self, restore: Callable[[str], None], lock_for: float) -> int:
        """Give back every orphan (one worker at a time, under a Redis lock); returns how many."""
        if not self._redis.set(self._sweep_lock, self.worker_id, nx=True, ex=max(1, round(lock_for))):
            return 0
        restored = 0
        for tag in self.orphans():
            restore(tag)
            restored += 1
        if restored:
            log.warning("gave back %d message(s) held by a worker that died, or dropped by one that lost its broker "
                        "connection (see kabar.contract.liveness)", restored)
        return restored

    def leave(self) -> None:
        """A clean shutdown: this worker's holdings are acknowledged or given back by Celery itself."""
        pipe = self._redis.pipeline()
        pipe.delete(self._alive(self.worker_id), self._holds(self.worker_id))
        pipe.srem(self._workers, self.worker_id)
        pipe.execute()

    def _still_unacked(self, tags: Iterable[str]) -> list[bool]:
        pipe = self._redis.pipeline()
        for tag in tags:
            pipe.hexists(UNACKED, tag)
        return [bool(answer) for answer in pipe.execute()]

    def _forget(self, dead: dict[str, set[str]]) -> None:
        if not dead:
            return
        pipe = self._redis.pipeline()
        for worker in dead:
            pipe.delete(self._holds(worker))
            pipe.srem(self._workers, worker)
        pipe.execute()


def held_delivery_tags() -> list[str]:
    """The delivery tags of every request this worker has taken and not finished (Celery's own table)."""
    from celery.worker import state  # noqa: PLC0415 - only inside a worker

    tags = []
    for request in list(state.requests.values()):
        tag = _tag_of(request)
        if tag:
            tags.append(tag)
    return tags


def _tag_of(request: Any) -> str | None:
    message = getattr(request, "message", None)
    tag = getattr(message, "delivery_tag", None)
    return str(tag) if tag else None


def restore_delivery(tag: str) -> None:
    """Put an unacknowledged message back on its queue, as kombu does when its visibility timeout runs out."""
    with app.connection_for_write() as connection:
        connection.default_channel.qos.restore_by_tag(tag, leftmost=True)


class _Heartbeat:
    """In every worker's parent process: beat, and give back what dead workers held."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.liveness: Liveness | None = None
        # Beats in a row that reached Redis. After an outage every worker's key may have expired at once;
        # sweeping only after two beats leaves the living an interval to say so first.
        self._good_beats = 0

    def start(self, settings: KabarSettings) -> None:
        if settings.state_backend_name != "redis" or self._thread is not None:
            return
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        client: redis.Redis[bytes] = redis.Redis.from_url(settings.redis_url, socket_timeout=10)
        self.liveness = Liveness(client, settings.key_prefix, worker_id, settings.worker_heartbeat_ttl)
        self._beat(settings)
        self._thread = threading.Thread(target=self._loop, args=(settings,), name="kabar-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.liveness is not None:
            try:
                self.liveness.leave()
            except redis.RedisError as exc:
                log.warning("could not unregister this worker: %s", describe(exc))

    def received(self, request: Any) -> None:
        tag = _tag_of(request)
        if self.liveness is None or tag is None:
            return
        try:
            self.liveness.received(tag)
        except redis.RedisError as exc:  # the next beat claims it from the request table
            log.warning("could not record delivery %s: %s", tag, describe(exc))

    def _loop(self, settings: KabarSettings) -> None:
        while not self._stop.wait(settings.worker_heartbeat_interval):
            self._beat(settings)

    def _beat(self, settings: KabarSettings) -> None:
        assert self.liveness is not None
        try:
            self.liveness.beat(held_delivery_tags())
            self._good_beats += 1
            if self._good_beats >= 2:
                self.liveness.sweep(restore_delivery, lock_for=settings.worker_heartbeat_interval * 0.8)
        except Exception as exc:  # Redis away: the next beat tries again
            self._good_beats = 0
            log.warning("worker heartbeat failed: %s", describe(exc))


_heartbeat = _Heartbeat()


@worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
def _start_heartbeat(**_: Any) -> None:
    _heartbeat.start(get_settings())


@task_received.connect(weak=False)  # type: ignore[untyped-decorator]
def _record_delivery(request: Any = None, **_: Any) -> None:
    _heartbeat.received(request)


@worker_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
def _stop_heartbeat(**_: Any) -> None:
    _heartbeat.stop()
