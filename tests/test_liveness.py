"""Worker liveness on a real Redis (issue #14): what a dead worker held is found, a live worker's is not.

The end-to-end trial (a whole worker killed with SIGKILL under the default settings, its batch back
within a minute) is ``kill-enrich-defaults`` in tests/test_faults.py and benchmarks/faults.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis

from conftest import TEST_REDIS_URL
from kabar.contract.liveness import UNACKED, UNACKED_INDEX, Liveness

PREFIX = "kabar-liveness-test"


@pytest.fixture
def client() -> Iterator[redis.Redis[bytes]]:
    connection: redis.Redis[bytes] = redis.Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


def take(client: redis.Redis[bytes], tag: str, when: float) -> None:
    """What kombu writes when a worker takes a message."""
    client.hset(UNACKED, tag, json.dumps([{"headers": {"id": tag}}, "ingest", "ingest"]))
    client.zadd(UNACKED_INDEX, {tag: when})


def test_a_dead_workers_deliveries_are_orphans_and_a_live_workers_are_not(client: redis.Redis[bytes]) -> None:
    now = time.time()
    live = Liveness(client, PREFIX, "live", ttl=20)
    dead = Liveness(client, PREFIX, "dead", ttl=1)
    take(client, "held-by-live", now - 3600)  # a long retry countdown: old, but its worker is alive
    take(client, "held-by-dead", now - 1)
    live.received("held-by-live")
    dead.received("held-by-dead")
    live.beat(["held-by-live"])
    client.delete(f"{PREFIX}:worker:dead:alive")  # its TTL ran out: the worker stopped beating
    assert live.orphans() == ["held-by-dead"]
    assert live.orphans() == []  # the dead worker is forgotten once its holdings are found


def test_a_delivery_no_worker_ever_claimed_is_an_orphan_after_two_ttls(client: redis.Redis[bytes]) -> None:
    live = Liveness(client, PREFIX, "live", ttl=20)
    live.beat([])
    take(client, "unclaimed-new", time.time() - 5)
    take(client, "unclaimed-old", time.time() - 41)
    assert live.orphans() == ["unclaimed-old"]


def test_a_beat_forgets_what_was_acknowledged(client: redis.Redis[bytes]) -> None:
    live = Liveness(client, PREFIX, "live", ttl=20)
    take(client, "done", time.time())
    live.received("done")
    client.hdel(UNACKED, "done")
    client.zrem(UNACKED_INDEX, "done")
    live.beat([])
    assert client.smembers(f"{PREFIX}:worker:live:holds") == set()


def test_the_sweep_restores_orphans_once_under_a_lock(client: redis.Redis[bytes]) -> None:
    first = Liveness(client, PREFIX, "a", ttl=20)
    second = Liveness(client, PREFIX, "b", ttl=20)
    take(client, "orphan", time.time() - 100)
    restored: list[str] = []
    assert first.sweep(restored.append, lock_for=5) == 1
    assert second.sweep(restored.append, lock_for=5) == 0  # another worker swept this round
    assert restored == ["orphan"]
