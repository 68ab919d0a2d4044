"""Batches through the real workers: one queue message carries several articles, and each of them
still succeeds, fails and is dead-lettered on its own (kabar.contract.batch)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from conftest import SEEDS, Services, run_kabar, wait_until
from kabar.contract import batch

pytestmark = pytest.mark.services


def test_pack_and_unpack_round_trip() -> None:
    one = {"title": "a"}
    assert batch.wrap([one]) == one, "a single message travels as itself"
    packed = batch.wrap([one, {"title": "b"}])
    assert batch.is_batch(packed) and not batch.is_batch(one)
    assert batch.unpack(packed) == [one, {"title": "b"}]
    assert batch.unpack(one) == [one]
    assert [list(chunk) for chunk in batch.chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError, match="at least one"):
        list(batch.chunked([1], 0))


def search_total(services: Services, query: str) -> int:
    response = httpx.get(f"{services.api_url}/search", params={"q": query}, timeout=10)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def processed(services: Services, stage: str) -> float:
    for line in httpx.get(services.metrics_urls[stage], timeout=5).text.splitlines():
        if line.startswith("kabar_stage_processed_total{") and f'stage="{stage}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The five seeds and one article whose URL carries a password (refused by ingest)."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    (folder / "credentials.json").write_text(json.dumps({
        "url": "https://user:secret@example.com/a", "title": "Judul",
        "text": "Isi berita yang cukup panjang untuk diproses " * 5}))
    return folder


def test_a_folder_goes_as_one_batch_and_a_bad_article_is_dead_lettered_alone(services: Services,
                                                                             folder: Path) -> None:
    queued = run_kabar(["ingest", str(folder)], {**services.env, "KABAR_BATCH_SIZE": "20"})
    assert queued.returncode == 0, queued.stderr
    assert "6 document(s) queued for ingest in 1 message(s)" in queued.stdout

    wait_until(lambda: search_total(services, "Kim Jong Un") == 5, 90, f"the five seeds\n{services.logs()}")
    client = redis.Redis.from_url(services.env["KABAR_REDIS_URL"])
    wait_until(lambda: client.hlen("kabar:deadletters") == 1, 30, "one dead letter")
    letter = json.loads(run_kabar(["dlq", "show", run_kabar(["dlq", "list"], services.env).stdout.split()[0]],
                                  services.env).stdout)
    assert letter["stage"] == "ingest" and "credentials" in letter["reason"]
    assert letter["message"]["url"] == "https://user:secret@example.com/a", "the letter holds the one article"
    for stage, count in (("ingest", 5), ("enrich", 5), ("index", 5)):
        wait_until(lambda s=stage, c=count: processed(services, s) == c, 20, f"{count} through {stage}")


@pytest.fixture
def stopped_services(services_env: dict[str, str], compose_commands: dict[str, list[str]],
                     tmp_path: Path) -> Iterator[Services]:
    running = Services(services_env, compose_commands, tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_a_batch_a_worker_died_under_is_split_into_single_messages(stopped_services: Services,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    services = stopped_services
    for key, value in services.env.items():
        monkeypatch.setenv(key, value)
    from kabar.contract import celery_app, inflight  # noqa: PLC0415 - reads the environment just set
    from kabar.contract.settings import get_settings  # noqa: PLC0415

    get_settings.cache_clear()
    inflight.ledger.cache_clear()
    app = celery_app.create_celery_app(get_settings())
    seeds = sorted(SEEDS.glob("*.txt"))
    payloads: list[dict[str, Any]] = [{"source": str(path), "format": "text", "content": path.read_text()}
                                      for path in seeds]
    client = redis.Redis.from_url(services.env["KABAR_REDIS_URL"])
    # What the ledger would hold had a worker been killed under this batch's first delivery.
    client.hset("kabar:deliveries", "ingest:dead-once:0", 1)
    app.send_task("kabar.ingest", args=[batch.pack(payloads)], queue="ingest", task_id="dead-once")
    try:
        services.start_all()
        wait_until(lambda: search_total(services, "Kim Jong Un") == len(seeds), 90,
                   f"every seed indexed\n{services.logs()}")
    finally:
        get_settings.cache_clear()
        inflight.ledger.cache_clear()
    ingest_log = next(p for p in services.processes if p.name == "ingest-worker").log()
    assert f"a worker died under a batch of {len(seeds)} message(s)" in ingest_log
    assert client.hlen("kabar:deadletters") == 0
    # An article can be searchable a moment before its index task records that it finished: wait for that.
    wait_until(lambda: client.hlen("kabar:inflight") == 0, 30, f"every split message finished\n{services.logs()}")
