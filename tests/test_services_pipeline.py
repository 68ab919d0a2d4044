"""The services deployment: real Redis, real Celery worker processes (the compose commands),
Elasticsearch and OpenSearch (each test on both) and the search API over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from conftest import SEEDS, EngineUnderTest, Services, run_kabar, wait_until

pytestmark = pytest.mark.services


@pytest.fixture
def services_engine(engine: EngineUnderTest) -> EngineUnderTest:
    """Every test here runs on Elasticsearch and on OpenSearch."""
    return engine


def search(services: Services, query: str) -> dict[str, Any]:
    response = httpx.get(f"{services.api_url}/search", params={"q": query, "limit": 50}, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def metric_value(url: str, name: str, labels: str) -> float:
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith(f"{name}{{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_seeds_flow_through_queues_to_the_search_api(services: Services) -> None:
    queued = run_kabar(["ingest", str(SEEDS)], services.env)
    assert queued.returncode == 0, queued.stderr
    assert "5 document(s) queued" in queued.stdout

    result = wait_until(lambda: (r := search(services, "Kim Jong Un"))["total"] == 5 and r, 90,
                        f"5 hits for 'Kim Jong Un'\n{services.logs()}")
    assert {hit["language"] for hit in result["hits"]} == {"id"}

    article = httpx.get(f"{services.api_url}/articles/{result['hits'][0]['id']}", timeout=5).json()
    assert article["entities"], "enrich added entities"
    assert article["fingerprint"]
    assert any(entity["canonical"] == "Kim Jong Un" for entity in article["entities"])

    for stage in ("ingest", "enrich", "index"):
        processed = wait_until(lambda s=stage: metric_value(services.metrics_urls[s], "kabar_stage_processed_total",
                                                            f'stage="{s}"') >= 5, 20, f"{stage} metrics")
        assert processed
    duration_count = metric_value(services.metrics_urls["enrich"], "kabar_stage_duration_seconds_count",
                                  'stage="enrich"')
    assert duration_count >= 1  # one queue message: the folder went as one batch


def test_ingesting_the_same_seeds_twice_indexes_each_once(services: Services) -> None:
    for _ in range(2):
        assert run_kabar(["ingest", str(SEEDS)], services.env).returncode == 0
    wait_until(lambda: search(services, "Lavrov")["total"] == 5, 90, f"5 articles\n{services.logs()}")
    wait_until(lambda: metric_value(services.metrics_urls["ingest"], "kabar_stage_processed_total",
                                    'stage="ingest"') >= 10, 30, "both rounds through ingest")
    health = httpx.get(f"{services.api_url}/healthz", timeout=5).json()
    assert health["articles"] == 5


def test_a_message_that_cannot_be_processed_is_dead_lettered_and_replayable(services: Services,
                                                                            tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"url": "https://user:secret@example.com/a", "title": "Judul",
                               "text": "Isi berita yang cukup panjang untuk diproses " * 5}))
    assert run_kabar(["ingest", str(bad)], services.env).returncode == 0  # well-formed file: queued

    client = redis.Redis.from_url(services.env["KABAR_REDIS_URL"])
    wait_until(lambda: client.hlen("kabar:deadletters") == 1, 30, f"a dead letter\n{services.logs()}")
    listed = run_kabar(["dlq", "list"], services.env)
    assert "ingest" in listed.stdout and "credentials" in listed.stdout
    letter_id = listed.stdout.split()[0]
    shown = json.loads(run_kabar(["dlq", "show", letter_id], services.env).stdout)
    assert shown["message"]["url"].startswith("https://user:")
    assert shown["attempts"] == 1

    replayed = run_kabar(["dlq", "replay", letter_id], services.env)
    assert replayed.returncode == 0, replayed.stderr
    # Still bad, so it comes back to the dead-letter store, filed afresh: nothing is lost, and its
    # first failure is remembered (issue #14).
    again = wait_until(lambda: json.loads(client.hget("kabar:deadletters", letter_id) or b"{}"), 30,
                       "the replayed message dead-lettered again")
    assert again["first_failed_at"] == shown["first_failed_at"]
    assert again["last_failed_at"] > shown["last_failed_at"]
    assert client.hlen("kabar:deadletters") == 1


def test_api_errors_are_problem_details(services: Services) -> None:
    for params, status in [({"q": "x" * 600}, 400), ({"q": "-only"}, 400), ({"q": "kim", "limit": 10**6}, 422),
                           ({}, 422)]:
        response = httpx.get(f"{services.api_url}/search", params=params, timeout=5)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == status
    missing = httpx.get(f"{services.api_url}/articles/nope", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["title"]
