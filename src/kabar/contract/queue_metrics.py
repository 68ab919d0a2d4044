"""Queue and dead-letter depths, read from Redis when Prometheus scrapes.

Depths are state, not events: counting them per task in the workers would drift (a
message deleted by hand, a crashed worker) and would need a worker to be running. The
process that serves ``/metrics`` (the API) asks Redis instead, in one round trip per scrape.

Where Celery keeps things (kombu's Redis transport): each queue is a Redis list named after
it, plus one list per non-zero priority step (``<queue>\\x06\\x16<step>``); messages handed
to a worker and not yet acknowledged (``acks_late``) sit in the ``unacked`` hash until acked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Final

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# A scrape must answer even when Redis does not: a hung Redis should show as collector_up 0,
# not as a scrape timeout that hides every other metric of the API.
REDIS_TIMEOUT_SECONDS: Final = 1.0


def priority_keys(queue: str) -> list[str]:
    """Every Redis list that holds messages of ``queue`` (kombu's ``Channel._q_for_pri``)."""
    return [queue if step == 0 else f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS]


class QueueDepthCollector(Collector):
    def __init__(self, client: redis.Redis[bytes], key_prefix: str, queues: Sequence[str]) -> None:
        self._redis = client
        self._queues = tuple(queues)
        self._dead_letters = f"{key_prefix}:deadletters"

    @classmethod
    def from_url(cls, redis_url: str, key_prefix: str, queues: Sequence[str]) -> QueueDepthCollector:
        client = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        return cls(client, key_prefix, queues)

    def read(self) -> tuple[dict[str, int], int, int]:
        """Messages waiting per queue, unacknowledged messages, dead letters."""
        pipe = self._redis.pipeline(transaction=False)
        for queue in self._queues:
            for key in priority_keys(queue):
                pipe.llen(key)
        pipe.hlen(Channel.unacked_key)
        pipe.hlen(self._dead_letters)
        *lengths, unacked, dead = (int(value) for value in pipe.execute())
        per_queue = len(PRIORITY_STEPS)
        depths = {queue: sum(lengths[i * per_queue:(i + 1) * per_queue]) for i, queue in enumerate(self._queues)}
        return depths, unacked, dead

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("kabar_queue_collector_up", "1 if Redis answered the queue-depth read at this scrape.")
        try:
            depths, unacked, dead = self.read()
        except redis.RedisError as exc:
            log.warning("cannot read queue depths from Redis: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _depth_families(depths, unacked, dead)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering calls collect() once, i.e. reads Redis at API start.
        return iter(())


def _depth_families(depths: dict[str, int], unacked: int, dead: int) -> Iterator[GaugeMetricFamily]:
    waiting = GaugeMetricFamily("kabar_queue_depth_messages", "Messages waiting in a stage's queue (all priorities).",
                                labels=["queue"])
    for queue, depth in depths.items():
        waiting.add_metric([queue], depth)
    yield waiting
    yield GaugeMetricFamily("kabar_queue_unacked_messages",
                            "Messages handed to a worker and not yet acknowledged (all queues).", value=unacked)
    yield GaugeMetricFamily("kabar_dead_letter_messages", "Messages in the dead-letter store.", value=dead)
