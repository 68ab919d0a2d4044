"""The hand-offs that keep a message from being lost, each against a real private redis-server and,
where a worker matters, a real Celery worker process (the compose command):

- a dead-letter write (any hand-off) waits out a Redis restart, and gives up after its timeout;
- a message taken off its queue and never recorded (what kombu's BRPOP leaves behind when a
  worker or Redis dies at that moment) is found by the in-flight ledger and sent again;
- a message that kills its worker process again and again is dead-lettered, not run forever;
- the retry schedule and the visibility timeout that must outlast it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kabar.contract.celery_app import create_celery_app
from kabar.contract.deadletter import RedisDeadLetterStore
from kabar.contract.failures import HandoffFailed, hand_off, retry_delay
from kabar.contract.messages import RawDocument
from kabar.contract.settings import KabarSettings
from test_faults import faults

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[faults.RedisServer]:
    server = faults.RedisServer(tmp_path / "redis", persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def worker_env(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({"KABAR_MODE": "services", "KABAR_DATA_DIR": str(tmp_path / "data"), "KABAR_REDIS_URL": redis_url,
                "KABAR_SEARCH_BACKEND": "sqlite", "KABAR_WORKER_CONCURRENCY": "1",
                "KABAR_METRICS_PORT": str(faults.free_port()), **extra})
    return env


def start_worker(stage: str, env: dict[str, str], tmp_path: Path) -> faults.Proc:
    proc = faults.Proc(f"{stage}-worker", faults.compose_worker_argv(stage), env, tmp_path / f"{stage}-worker.log")
    faults.wait_for(lambda: proc.alive() and " ready." in proc.log(), 90, f"the {stage} worker")
    return proc


def document(topic: str) -> RawDocument:
    text = f"Judul {topic}\n\n" + " ".join(f"Kalimat nomor {n} tentang {topic} di Jakarta hari ini." for n in range(30))
    return RawDocument(source=f"test:{topic}", format="text", content=text)


def test_a_dead_letter_write_waits_out_a_redis_restart(private_redis: faults.RedisServer) -> None:
    store = RedisDeadLetterStore(private_redis.client(), "kabar")
    private_redis.crash()
    restarted = threading.Timer(2.0, private_redis.start)
    restarted.start()
    started = time.monotonic()
    letter = hand_off("write the dead letter",
                      lambda: store.put("ingest", {"content": "x"}, ValueError("bad message"), 1), timeout=30)
    restarted.join()
    assert time.monotonic() - started >= 1.5, "the write had to wait for Redis"
    assert store.get(letter.id) == letter
    assert letter.reason == "ValueError: bad message"


def test_a_hand_off_gives_up_after_its_timeout(private_redis: faults.RedisServer) -> None:
    store = RedisDeadLetterStore(private_redis.client(), "kabar")
    private_redis.crash()
    started = time.monotonic()
    with pytest.raises(HandoffFailed, match=r"could not write the dead letter for 1.5 s: ConnectionError"):
        hand_off("write the dead letter", lambda: store.put("ingest", {}, ValueError("x"), 1), timeout=1.5)
    assert 1.5 <= time.monotonic() - started < 8


@pytest.mark.parametrize("outcome", ["retry", "dead letter"])
def test_redis_crashing_while_a_worker_hands_off_loses_nothing(outcome: str, private_redis: faults.RedisServer,
                                                               tmp_path: Path) -> None:
    """Redis dies while the ingest worker extracts a big page (~4 s); when the worker hands the message's outcome
    over (a retry, since its exact-repeat check meets the dead Redis; or a dead letter for a URL with
    credentials, found before that check), the hand-off waits for Redis instead of dropping the message."""
    env = worker_env(tmp_path, private_redis.url, KABAR_HANDOFF_TIMEOUT="60", KABAR_BROKER_VISIBILITY_TIMEOUT="120",
                     KABAR_TASK_RETRY_BACKOFF_MAX="1", KABAR_TASK_RETRY_BACKOFF_BASE="1")
    paragraph = "<p>" + "Menteri Luar Negeri bertemu mitranya di Wonsan untuk membahas kerja sama. " * 5 + "</p>"
    url = "https://redaksi:rahasia@example.com/berita/1" if outcome == "dead letter" else "https://example.com/b/1"
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"url": url, "title": "Berita berat",
                                "html": f"<html><body><article>{paragraph * 8000}</article></body></html>"}))
    worker = start_worker("ingest", env, tmp_path)
    client = private_redis.client()
    try:
        assert faults.kabar(env, "ingest", str(page)).returncode == 0
        # Redis dies once the pool process works on the message: the stage runner counts each delivery in Redis
        # as it starts. Crashing it as the worker's parent process receives the message (its "received" line)
        # raced the hand-over to the pool: the parent meets the dead Redis first, Celery drops jobs not yet
        # handed to the pool when its broker connection is lost, and the message waits in Redis' unacknowledged
        # set until the liveness sweep gives it back (test_liveness) instead of reaching the hand-off tested here.
        faults.wait_for(lambda: client.hlen("kabar:deliveries"), 60, lambda: f"the worker on the page\n{worker.log()}",
                        0.02)
        private_redis.crash()
        # Redis comes back only once the worker has met it dead at the hand-off: a fixed pause raced
        # the extraction, which on a loaded machine outlasted it and then found Redis up again.
        handing_off = "could not schedule a retry (try 1)" if outcome == "retry" else \
            "could not write the dead letter (try 1)"
        faults.wait_for(lambda: handing_off in worker.log(), 120,
                        lambda: f"{handing_off!r}\n{worker.log()[-3000:]}", 0.05)
        private_redis.start()
        if outcome == "retry":
            faults.wait_for(lambda: client.llen("enrich") >= 1, 120,
                            lambda: f"the article forwarded\n{worker.log()[-3000:]}")
        else:
            letters = faults.wait_for(lambda: client.hvals("kabar:deadletters"), 120,
                                      lambda: f"the dead letter\n{worker.log()[-3000:]}")
            assert "URL carries credentials" in json.loads(letters[0])["reason"]
        assert worker.alive()
    finally:
        worker.stop()


def test_a_message_lost_in_transit_is_sent_again(private_redis: faults.RedisServer, tmp_path: Path) -> None:
    env = worker_env(tmp_path, private_redis.url, KABAR_INFLIGHT_TIMEOUT="2", KABAR_INFLIGHT_CHECK_INTERVAL="1")
    queued = faults.kabar(env, "ingest", str(write_document(tmp_path, document("hilang"))))
    assert queued.returncode == 0, queued.stderr
    client = private_redis.client()
    # What BRPOP does when its worker (or Redis) dies before kombu records the message as taken.
    assert client.rpop("ingest") is not None
    assert client.llen("ingest") == 0 and client.hlen("unacked") == 0
    assert client.hlen("kabar:inflight") == 1

    worker = start_worker("ingest", env, tmp_path)
    try:
        faults.wait_for(lambda: client.llen("enrich") == 1, 60,
                        lambda: f"the article forwarded\n{worker.log()[-3000:]}")
        assert "re-sent 1 message(s) lost in transit" in worker.log()

        def stages() -> list[str]:
            return sorted(json.loads(raw)["stage"] for raw in client.hvals("kabar:inflight"))

        # The ingest record is removed when the stage runner finishes, just after it has handed the article on:
        # for a moment both records exist. Then only enrich's stays, and the ingest message is never sent again.
        faults.wait_for(lambda: stages() == ["enrich"], 30, f"the ingest record done: {stages()}")
        assert client.llen("enrich") == 1 and client.llen("ingest") == 0
    finally:
        worker.stop()


def test_a_queued_message_is_not_sent_again(private_redis: faults.RedisServer, tmp_path: Path) -> None:
    env = worker_env(tmp_path, private_redis.url, KABAR_INFLIGHT_TIMEOUT="1", KABAR_INFLIGHT_CHECK_INTERVAL="1")
    for topic in ("antre-1", "antre-2"):
        assert faults.kabar(env, "ingest", str(write_document(tmp_path, document(topic)))).returncode == 0
    client = private_redis.client()
    worker = start_worker("enrich", env, tmp_path)  # a worker, so a reconciler runs; nothing for it to consume
    try:
        time.sleep(4)
        assert client.llen("ingest") == 2, "queued messages are left where they are"
        assert "re-sent" not in worker.log()
    finally:
        worker.stop()


def test_a_message_that_keeps_killing_its_worker_is_dead_lettered(private_redis: faults.RedisServer,
                                                                   tmp_path: Path) -> None:
    env = worker_env(tmp_path, private_redis.url, KABAR_TASK_MAX_DELIVERIES="2")
    paragraph = "<p>" + "Menteri Luar Negeri bertemu mitranya di Wonsan untuk membahas kerja sama. " * 5 + "</p>"
    slow = RawDocument(source="test:berat", format="html",
                       content=f"<html><body><article>{paragraph * 8000}</article></body></html>")  # ~4 s of work
    worker = start_worker("ingest", env, tmp_path)
    client = private_redis.client()
    try:
        assert faults.kabar(env, "ingest", str(write_document(tmp_path, slow, ".json"))).returncode == 0
        for kill in range(2):  # the pool process dies under the message twice (the OOM killer, say)
            faults.wait_for(lambda k=kill: worker.log().count("kabar.ingest[") >= k + 1 and pool_child(worker), 60,
                            lambda k=kill: f"delivery {k + 1}\n{worker.log()[-3000:]}")
            time.sleep(0.5)
            os.kill(pool_child(worker), signal.SIGKILL)
            faults.wait_for(lambda k=kill: worker.log().count("] received") >= k + 2, 60,
                            lambda k=kill: f"redelivery {k + 2}\n{worker.log()[-3000:]}")
        letter = faults.wait_for(lambda: client.hvals("kabar:deadletters"), 60,
                                 lambda: f"the poison message dead-lettered\n{worker.log()[-3000:]}")
        reason = json.loads(letter[0])["reason"]
        assert reason == ("PoisonMessage: the worker died 2 times while processing this message "
                          "(killed, out of memory or crashed)"), reason
        assert worker.alive()
        assert client.llen("ingest") == 0 and client.hlen("unacked") == 0
    finally:
        worker.stop()


def test_a_visibility_timeout_shorter_than_a_hold_is_refused() -> None:
    settings = KabarSettings(mode="services", task_retry_backoff_max=300, task_max_retries=5)
    with pytest.raises(ValueError, match=r"KABAR_BROKER_VISIBILITY_TIMEOUT \(60 s\) must be longer .* \(120 s\)"):
        create_celery_app(settings.model_copy(update={"broker_visibility_timeout": 60}))
    app = create_celery_app(settings.model_copy(update={"broker_visibility_timeout": 600}))
    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] == 600 and options["unacked_mutex_expire"] == 200


def test_the_default_retry_budget_outlasts_a_one_minute_outage() -> None:
    for attempt in range(1, 6):
        ceiling = min(300, 4 * 2 ** (attempt - 1))
        delays = [retry_delay(attempt, 300) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
    shortest_budget = sum(min(300, 4 * 2 ** (attempt - 1)) / 2 for attempt in range(1, 6))
    assert shortest_budget == 62


def write_document(tmp_path: Path, doc: RawDocument, suffix: str = ".json") -> Path:
    path = tmp_path / f"{doc.source.split(':')[-1]}{suffix}"
    if doc.format == "html":
        path = path.with_suffix(".html")
        path.write_text(doc.content)
    else:
        path.write_text(json.dumps({"text": doc.content}))
    return path


def pool_child(worker: faults.Proc) -> int:
    """The pid of the worker's pool process (prefork, concurrency 1), 0 while it has none."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == worker.popen.pid:
            return int(entry.name)
    return 0


def test_a_stage_whose_handler_cannot_start_retries_its_messages(private_redis: faults.RedisServer,
                                                                  tmp_path: Path) -> None:
    """The index handler talks to the search server as it starts; while that server is down the
    message must be retried with backoff like any transient failure, not fail the task (which
    would leave it to the in-flight ledger's slow resend)."""
    nowhere = f"http://127.0.0.1:{faults.free_port()}"  # nothing listens there: connection refused
    env = worker_env(tmp_path, private_redis.url, KABAR_SEARCH_BACKEND="elasticsearch",
                     KABAR_ELASTICSEARCH_URL=nowhere,
                     KABAR_TASK_RETRY_BACKOFF_BASE="1", KABAR_TASK_RETRY_BACKOFF_MAX="2")
    workers = [start_worker(stage, env, tmp_path) for stage in ("ingest", "enrich", "index")]
    try:
        queued = faults.kabar(env, "ingest", str(faults.ROOT / "seeds"))
        assert queued.returncode == 0, queued.stderr
        index = workers[-1]
        faults.wait_for(lambda: "attempt 2:" in index.log(), 90, "the index stage retrying its message twice")
        assert "could not start its handler" in index.log()
        assert "raised unexpected" not in index.log(), index.log()[-4000:]
    finally:
        faults.stop_all(workers)
