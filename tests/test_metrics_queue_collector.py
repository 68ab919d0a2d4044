"""Queue and dead-letter depths read from a real Redis, filled the way Celery and the stages fill it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kabar.contract import metrics
from kabar.contract.celery_app import create_celery_app
from kabar.contract.deadletter import RedisDeadLetterStore
from kabar.contract.multiproc import MULTIPROC_ENV
from kabar.contract.queue_metrics import QueueDepthCollector, priority_keys
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import STAGES, task_name


@pytest.fixture
def celery_app(redis_url: str) -> Iterator[Celery]:
    app = create_celery_app(KabarSettings(mode="services", redis_url=redis_url))
    yield app
    app.close()


@pytest.fixture
def forget_scrape_collectors() -> Iterator[None]:
    """Leave the process-wide registry as it was: other tests render it too."""
    yield
    for name in list(metrics._scrape_collectors):
        collector = metrics._scrape_collectors.pop(name)
        with contextlib.suppress(KeyError):  # registered in multiprocess mode only
            REGISTRY.unregister(collector)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(collector: QueueDepthCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    return samples(generate_latest(registry))


def depth(queue: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("kabar_queue_depth_messages", (("queue", queue),))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_priority_keys_are_kombus() -> None:
    assert priority_keys("ingest") == ["ingest", "ingest\x06\x163", "ingest\x06\x166", "ingest\x06\x169"]


def test_depths_count_celery_messages_of_every_priority(redis_url: str, celery_app: Celery) -> None:
    for _ in range(3):
        celery_app.send_task(task_name("ingest"), args=[{}], queue="ingest")
    celery_app.send_task(task_name("ingest"), args=[{}], queue="ingest", priority=5)
    celery_app.send_task(task_name("index"), args=[{}], queue="index", priority=9)
    client = redis.Redis.from_url(redis_url)
    assert client.llen("ingest") == 3, "plain messages sit in the list named after the queue"
    assert client.llen("ingest\x06\x163") == 1, "kombu keeps priority 5 in the step-3 list"

    found = scrape(QueueDepthCollector.from_url(redis_url, "kabar", STAGES))

    assert found[depth("ingest")] == 4
    assert found[depth("enrich")] == 0
    assert found[depth("index")] == 1
    assert found[("kabar_queue_collector_up", ())] == 1


def test_unacked_and_dead_letters_are_counted(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.hset("unacked", mapping={"tag-1": "{}", "tag-2": "{}"})
    store = RedisDeadLetterStore(client, "newsroom")
    store.put("ingest", {"url": "https://a.example/1"}, ValueError("no article text"), 1)
    store.put("enrich", {"id": "x"}, ValueError("bad"), 3)
    store.put("enrich", {"id": "x"}, ValueError("bad again"), 1)  # the same message: one letter
    client.hset("kabar:deadletters", "other-prefix", "{}")  # another deployment's store

    found = scrape(QueueDepthCollector.from_url(redis_url, "newsroom", STAGES))

    assert found[("kabar_queue_unacked_messages", ())] == 2
    assert found[("kabar_dead_letter_messages", ())] == 2


def test_redis_down_is_reported_not_raised() -> None:
    collector = QueueDepthCollector.from_url(f"redis://127.0.0.1:{closed_port()}/0", "kabar", STAGES)

    found = scrape(collector)

    assert found == {("kabar_queue_collector_up", ()): 0}


@pytest.mark.usefixtures("forget_scrape_collectors")
def test_registered_collector_is_in_the_api_exposition_and_replaced_on_reregistration(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).rpush("enrich", b"{}", b"{}")
    metrics.register_queue_collector(redis_url, "kabar")
    metrics.register_queue_collector(redis_url, "kabar")  # an app created twice must not fail or double

    text = metrics.render_latest()

    found = samples(text)
    assert found[depth("enrich")] == 2
    assert {labels for name, labels in found if name == "kabar_queue_depth_messages"} == {
        (("queue", stage),) for stage in STAGES
    }
    assert text.decode().count("# TYPE kabar_queue_depth_messages gauge") == 1


@pytest.mark.usefixtures("forget_scrape_collectors")
def test_registered_collector_is_exposed_in_multiprocess_mode(redis_url: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))  # the merged registry is rebuilt per scrape
    redis.Redis.from_url(redis_url).rpush("index", b"{}")
    metrics.register_queue_collector(redis_url, "kabar")

    found = samples(metrics.render_latest())

    assert found[depth("index")] == 1
