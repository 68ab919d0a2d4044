"""The index stage in a real Celery worker (threads pool) on real Redis, Elasticsearch and OpenSearch:
concurrent tasks share bulk requests, every message is acknowledged only once its
article is written, redeliveries change nothing, and a document the server refuses is
dead-lettered with the server's reason."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from celery import Celery

from articles import news
from conftest import EngineUnderTest, Process, wait_until
from kabar_search.es_backend import ElasticsearchBackend

pytestmark = pytest.mark.services

ARTICLES = [news(f"w{n:02d}", f"Berita kerja {n}", f"Berita nomor {n} dari pekerja indeks.", f"story-{n % 5}")
            for n in range(40)]
REFUSED = news("w-bad", "Berita bersumber", "Berita dengan sumber.", "story-x", source="detik.com")
_BATCH = re.compile(r"index batch of (\d+) article\(s\)")


@pytest.fixture
def worker_env(tmp_path: Path, redis_url: str, engine: EngineUnderTest) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({"KABAR_MODE": "services", "KABAR_DATA_DIR": str(tmp_path / "data"), "KABAR_REDIS_URL": redis_url,
                **engine.env(),
                "KABAR_TASK_MAX_RETRIES": "2", "KABAR_TASK_RETRY_BACKOFF_MAX": "1",
                "KABAR_INDEX_BATCH_SIZE": "16", "KABAR_INDEX_BATCH_WAIT_MS": "300"})
    return env


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Process]:
    # Source domains are integers in this index (made by hand): REFUSED cannot be stored.
    url = worker_env[f"KABAR_{worker_env['KABAR_SEARCH_BACKEND'].upper()}_URL"]
    conflicting = httpx.put(f"{url}/kabar-articles-000001", json={
        "aliases": {"kabar-articles": {"is_write_index": True}},
        "mappings": {"dynamic": "false", "properties": {"source_domain": {"type": "integer"}}}}, timeout=10)
    assert conflicting.status_code == 200, conflicting.text
    argv = [sys.executable, "-m", "celery", "-A", "kabar.contract.celery_app:app", "worker",
            "--include", "kabar_search.tasks", "--queues", "index", "--pool", "threads", "--concurrency", "16",
            "--hostname", "index@test", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    process = Process("index-worker-threads", argv, worker_env, tmp_path)
    try:
        wait_until(lambda: "ready" in process.log(), 60, "the index worker")
        yield process
    finally:
        process.stop()


def send(redis_url: str, payloads: list[dict[str, Any]]) -> None:
    producer = Celery("kabar-test", broker=redis_url)
    for payload in payloads:
        producer.send_task("kabar.index", args=[payload], queue="index")
    producer.close()


def test_a_threads_worker_indexes_in_batches_exactly_once(worker: Process, engine: EngineUnderTest,
                                                          redis_url: str, tmp_path: Path) -> None:
    backend = ElasticsearchBackend.from_settings(engine.settings(data_dir=tmp_path))
    payloads = [article.model_dump(mode="json") for article in [*ARTICLES, REFUSED]]
    send(redis_url, payloads)
    wait_until(lambda: backend.count() == len(ARTICLES), 90,
               lambda: f"{len(ARTICLES)} articles\n{worker.log()[-3000:]}")

    letters = redis.Redis.from_url(redis_url)
    wait_until(lambda: letters.hlen("kabar:deadletters") == 1, 30, lambda: f"a dead letter\n{worker.log()[-3000:]}")
    letter = json.loads(next(iter(letters.hvals("kabar:deadletters"))))
    assert letter["stage"] == "index" and letter["message"]["id"] == "w-bad"
    assert "source_domain" in letter["reason"], letter["reason"]

    sizes = [int(size) for size in _BATCH.findall(worker.log())]
    print(f"batch sizes: {sizes}")
    assert sum(sizes) == len(payloads)
    assert max(sizes) > 1, f"concurrent tasks share bulk requests: {sizes}"
    assert len(sizes) < len(payloads)

    send(redis_url, payloads[:10])  # redelivered messages
    wait_until(lambda: sum(int(s) for s in _BATCH.findall(worker.log())) == len(payloads) + 10, 60, "redeliveries")
    assert backend.count() == len(ARTICLES)
    assert {backend.get(a.id)["version"] for a in ARTICLES[:10]} == {1}  # type: ignore[index]
    backend.close()

