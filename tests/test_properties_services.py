"""The folder property in the services mode (issue #14): ``kabar ingest DIR`` onto real queues, real
Celery workers (started with docker-compose.yml's commands) and the Elasticsearch stand-in.

For generated folders of good and bad files: the command exits with one line per refused file and no
traceback; every good article becomes searchable exactly once; whatever a worker could not process is
a dead letter with its reason; and the pipeline drains (nothing left in a queue, held, or in flight).
The issue's repro (a lone surrogate among good files) lost 24 of 44 good articles here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, settings

from bad_input_strategies import InputFile, examples, folders
from conftest import SEEDS, Services, run_kabar, wait_until
from kabar.contract.messages import RawDocument
from kabar_ingest.reader import read_path
from kabar_ingest.stage import build_article

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]


def pipeline_idle(client: redis.Redis[bytes]) -> bool:
    pipe = client.pipeline()
    for stage in ("ingest", "enrich", "index"):
        pipe.llen(stage)
    pipe.hlen("unacked")
    pipe.hlen("kabar:inflight")
    return not any(pipe.execute())


def indexed(services: Services, article_id: str) -> bool:
    return httpx.get(f"{services.api_url}/articles/{article_id}", timeout=10).status_code == 200


def test_the_issues_repro_a_lone_surrogate_among_good_files(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    for seed in seeds:
        shutil.copy(seed, folder / seed.name)
    (folder / "002a-bad.json").write_text(json.dumps({"title": "x \ud800", "text": seeds[0].read_text()}))
    result = run_kabar(["ingest", str(folder)], services.env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "002a-bad.json" in result.stderr and "lone surrogate" in result.stderr, result.stderr
    wait_until(lambda: httpx.get(f"{services.api_url}/healthz", timeout=5).json()["articles"] == len(seeds), 120,
               f"{len(seeds)} articles\n{services.logs()}")


@settings(max_examples=examples(4), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=folders(max_good=3, max_bad=4))
def test_a_folder_of_anything_through_the_queues(services: Services, files: list[InputFile]) -> None:
    client: redis.Redis[bytes] = redis.Redis.from_url(services.env["KABAR_REDIS_URL"])
    letters_before = client.hlen("kabar:deadletters")
    with tempfile.TemporaryDirectory(prefix="kabar-property-") as workdir:
        folder = Path(workdir)
        paths = {file: file.write(folder) for file in files}
        good_ids = [build_article(read_path(paths[file], 10 * 1024 * 1024).documents[0]).id
                    for file in files if file.good]
        refused = sum(1 for file in files if read_path(paths[file], 10 * 1024 * 1024).error)
        unusable = sum(1 for file in files for document in read_path(paths[file], 10 * 1024 * 1024).documents
                       if _unusable(document))
        result = run_kabar(["ingest", str(folder)], services.env)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == refused == len(result.stderr.strip().splitlines()) if refused else not errors, result.stderr
    wait_until(lambda: all(indexed(services, article_id) for article_id in good_ids), 180,
               f"the good articles {good_ids}\n{services.logs()}")
    wait_until(lambda: pipeline_idle(client), 180, f"the pipeline to drain\n{services.logs()}")
    for raw in client.hvals("kabar:deadletters"):
        letter = json.loads(raw)
        assert letter["reason"] and letter["stage"] in ("ingest", "enrich", "index"), letter
    # Nothing dropped without a dead letter: each document ingest cannot use is one.
    assert client.hlen("kabar:deadletters") >= letters_before + unusable, services.logs()


def _unusable(document: RawDocument) -> bool:
    try:
        build_article(document)
    except Exception:
        return True
    return False


def test_a_queued_batch_with_a_lone_surrogate_dead_letters_that_item_and_indexes_the_other(
        services: Services) -> None:
    """The stage runner's guard: a message put straight on a queue by another producer."""
    from celery import Celery  # noqa: PLC0415

    from kabar.contract import batch  # noqa: PLC0415

    seeds = sorted(SEEDS.glob("*.txt"))
    good = RawDocument(source="producer", format="text", content=seeds[3].read_text())
    bad = {**RawDocument(source="producer", format="text", content=seeds[4].read_text()).model_dump(mode="json"),
           "title": "x \ud800"}
    producer = Celery("kabar-test-producer", broker=services.env["KABAR_REDIS_URL"])
    try:  # kombu writes JSON with \\ud800 escapes: the worker decodes a lone surrogate
        producer.send_task("kabar.ingest", args=[batch.wrap([good.model_dump(mode="json"), bad])], queue="ingest")
    finally:
        producer.close()
    client: redis.Redis[bytes] = redis.Redis.from_url(services.env["KABAR_REDIS_URL"])
    wait_until(lambda: indexed(services, build_article(good).id), 120, f"the good article\n{services.logs()}")
    wait_until(lambda: client.hlen("kabar:deadletters") == 1, 60, f"one dead letter\n{services.logs()}")
    letter = json.loads(client.hvals("kabar:deadletters")[0])
    assert letter["stage"] == "ingest" and "lone surrogate" in letter["reason"], letter
    wait_until(lambda: pipeline_idle(client), 60, f"the pipeline to drain\n{services.logs()}")
