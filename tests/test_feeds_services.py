"""Feeds in the services mode: `kabar feeds beat` and a feeds worker (real Celery, real Redis) poll a
feed served on loopback and put its pages on the ingest queue; a page robots.txt disallows is
dead-lettered with its reason; a stuck feed does not hold up the others."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
import redis

from conftest import Process, free_port, kabar_executable, run_kabar, stop_all, wait_until
from kabar.contract.messages import RawDocument
from kabar_ingest.feeds import RedisFeedStore
from test_feeds_support import Reply, Site, serve_seed_site

pytestmark = pytest.mark.services

# What `kabar worker feeds` runs once WORKER_MODULES has "feeds": "kabar_ingest.schedule".
WORKER = """
import sys
from pathlib import Path
from kabar.contract.multiproc import prepare_multiprocess_dir
prepare_multiprocess_dir(Path(sys.argv[2]))
import kabar_ingest.schedule
from kabar.contract.worker import run_worker
run_worker("feeds", 2, int(sys.argv[1]))
"""


def ready(process: Process) -> bool:
    if process.popen.poll() is not None:
        pytest.fail(f"{process.name} exited:\n{process.log()}")
    return "ready" in process.log()


def queued_documents(client: redis.Redis[bytes]) -> list[RawDocument]:
    documents = []
    for raw in client.lrange("ingest", 0, -1):
        envelope = json.loads(raw)
        args, _, _ = json.loads(base64.b64decode(envelope["body"]))
        documents.append(RawDocument.model_validate(args[0]))
    return documents


def test_beat_and_the_feeds_worker_fetch_new_pages_onto_the_ingest_queue(embedded_env: dict[str, str],
                                                                         redis_url: str, tmp_path: Path) -> None:
    site = Site()
    urls = serve_seed_site(site)
    site.static("/robots.txt", "User-agent: *\nDisallow: /news/3\n", "text/plain")
    site.routes["/stuck.xml"] = lambda _: Reply(200, b"<rss/>", delay=20)
    env = {**embedded_env, "KABAR_MODE": "services", "KABAR_REDIS_URL": redis_url, "KABAR_FEED_TICK": "1",
           "KABAR_FETCH_ALLOW_HOSTS": "127.0.0.1", "KABAR_FETCH_HOST_INTERVAL": "0", "KABAR_FETCH_TIMEOUT": "3",
           "KABAR_TASK_RETRY_BACKOFF_MAX": "1", "KABAR_TASK_MAX_RETRIES": "1"}
    client = redis.Redis.from_url(redis_url)
    processes: list[Process] = []
    try:
        for path in ("/stuck.xml", "/news/rss.xml"):
            added = run_kabar(["feeds", "add", site.url(path)], env)
            assert added.returncode == 0, added.stderr
        worker = Process("feeds-worker", [sys.executable, "-c", WORKER, str(free_port()),
                                          str(tmp_path / "prometheus")], env, tmp_path)
        processes.append(worker)
        wait_until(lambda: ready(worker), 60, "the feeds worker")
        beat = Process("beat", [kabar_executable(), "feeds", "beat"], env, tmp_path)
        processes.append(beat)


        def logs() -> str:
            return "\n".join(process.log()[-3000:] for process in processes)

        wait_until(lambda: len(queued_documents(client)) == 4, 60, lambda: f"4 pages on the ingest queue\n{logs()}")
        documents = queued_documents(client)
        assert sorted(document.url or "" for document in documents) == sorted(urls[:3] + urls[4:])
        assert all(document.format == "html" and "<article>" in document.content for document in documents)
        assert all(document.source == site.url("/news/rss.xml") for document in documents)

        letters = wait_until(lambda: client.hvals("kabar:deadletters"), 30, lambda: f"a dead letter\n{logs()}")
        letter = json.loads(letters[0])
        assert letter["stage"] == "feeds" and "robots.txt" in letter["reason"] and letter["attempts"] == 1
        assert letter["message"]["url"] == urls[3]
        assert site.hits("/news/3") == []

        store = RedisFeedStore(client, "kabar")
        stuck = wait_until(lambda: next((feed for feed in store.all() if feed.url.endswith("/stuck.xml")
                                         and feed.last_status), None), 30, lambda: f"the stuck feed's poll\n{logs()}")
        assert stuck.last_status == "failed" and "timed out" in (stuck.last_error or "") and stuck.failures >= 1
        good = next(feed for feed in store.all() if feed.url.endswith("/news/rss.xml"))
        assert good.last_status == "fetched" and good.entries_sent == 5 and good.etag == '"v1"'
        assert len(site.hits("/news/rss.xml")) == 1  # polled once: due again only after its interval
    finally:
        stop_all(reversed(processes))
        site.close()
