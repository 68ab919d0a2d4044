"""The dead-letter store (Redis on a private redis-server, and SQLite), its replay, ``kabar dlq`` and
the HTTP view (``kabar.deadletter_api`` mounted on the real search API, as it will be wired).

Replay is idempotent: a letter is sent once per failure, whoever replays it and however often;
a replay that cannot send puts the letter back; one that dies half-way can be taken over.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import run_kabar
from kabar.api import create_app
from kabar.contract.deadletter import (
    RAW_PAYLOAD_KEY,
    DeadLetterStore,
    RedisDeadLetterStore,
    SqliteDeadLetterStore,
    replay,
)
from kabar.contract.settings import KabarSettings
from kabar.deadletter_api import deadletter_router
from kabar.service_api import ApiSecurity, install_security
from test_faults import faults

KEY = "kunci-rahasia-uji"


@pytest.fixture(params=["redis", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeadLetterStore]:
    if request.param == "sqlite":
        yield SqliteDeadLetterStore(tmp_path / "deadletters.sqlite3")
        return
    server = faults.RedisServer(tmp_path / "redis", persistent=False)
    server.start()
    try:
        yield RedisDeadLetterStore(server.client(), "kabar")
    finally:
        server.stop()


class Recorder:
    """A stage hand-off that remembers what it was given (and can be told to fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, stage: str, payload: Any) -> str | None:
        if self.fail:
            raise ConnectionError("the queue is away")
        with self._lock:
            self.sent.append((stage, payload))
        return "queued"


def test_a_letter_keeps_stage_reason_attempts_times_and_message(store: DeadLetterStore) -> None:
    first = store.put("enrich", {"id": "a1", "text": "isi"}, TimeoutError("redis timed out\nsecond line"), 6)
    again = store.put("enrich", {"id": "a1", "text": "isi"}, TimeoutError("again"), 6)
    assert again.id == first.id
    assert (again.stage, again.error_type, again.reason) == ("enrich", "TimeoutError", "TimeoutError: again")
    assert again.attempts == 12
    assert again.first_failed_at == first.first_failed_at <= again.last_failed_at
    assert again.message == {"id": "a1", "text": "isi"}
    assert store.count() == 1
    assert store.get(first.id) == again


def test_list_pages_and_filters_by_stage(store: DeadLetterStore) -> None:
    for number in range(5):
        store.put("ingest" if number % 2 else "index", {"n": number}, ValueError(f"bad {number}"), 1)
    assert store.count() == 5 and store.count("ingest") == 2 and store.count("index") == 3
    everything = store.list(100)
    assert [letter.message["n"] for letter in everything] == [0, 1, 2, 3, 4], "oldest first"
    assert [letter.message["n"] for letter in store.list(2, offset=1)] == [1, 2]
    assert [letter.message["n"] for letter in store.list(10, stage="index")] == [0, 2, 4]
    assert [letter.message["n"] for letter in store.list(1, offset=1, stage="index")] == [2]


def test_a_message_that_is_not_an_object_is_kept_and_replayed_as_it_came(store: DeadLetterStore) -> None:
    letter = store.put("ingest", ["not", "an", "object"], ValueError("a message must be a JSON object"), 1)
    assert letter.message == {RAW_PAYLOAD_KEY: ["not", "an", "object"]}
    recorder = Recorder()
    assert replay(store, letter.id, recorder).status == "replayed"
    assert recorder.sent == [("ingest", ["not", "an", "object"])]


def test_replay_is_idempotent(store: DeadLetterStore) -> None:
    letter = store.put("index", {"id": "b2"}, RuntimeError("search down"), 6)
    recorder = Recorder()
    first = replay(store, letter.id, recorder)
    second = replay(store, letter.id, recorder)
    assert (first.status, first.stage, first.outcome) == ("replayed", "index", "queued")
    assert second.status == "already-replayed" and second.replayed_at == first.replayed_at
    assert recorder.sent == [("index", {"id": "b2"})], "sent once"
    assert store.get(letter.id) is None and store.count() == 0
    assert replay(store, "0" * 24, recorder).status == "not-found"


def test_concurrent_replays_send_a_letter_once(store: DeadLetterStore) -> None:
    letter = store.put("enrich", {"id": "c3"}, RuntimeError("x"), 6)
    recorder = Recorder()
    results: list[str] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        results.append(replay(store, letter.id, recorder).status)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count("replayed") == 1, results
    assert set(results) <= {"replayed", "already-replayed", "in-progress"}
    assert len(recorder.sent) == 1


def test_a_replay_that_cannot_send_puts_the_letter_back(store: DeadLetterStore) -> None:
    letter = store.put("ingest", {"id": "d4"}, ValueError("x"), 1)
    with pytest.raises(ConnectionError):
        replay(store, letter.id, Recorder(fail=True))
    assert store.get(letter.id) == letter
    assert store.replaying() == []
    assert replay(store, letter.id, Recorder()).status == "replayed"


def test_a_replay_that_died_half_way_is_taken_over_after_its_lease(store: DeadLetterStore) -> None:
    letter = store.put("ingest", {"id": "e5"}, ValueError("x"), 1)
    assert store.claim(letter.id).status == "claimed"  # ... and the replaying process died here
    assert store.get(letter.id) is None
    assert [held.id for held in store.replaying()] == [letter.id], "not lost: in the replaying area"
    assert replay(store, letter.id, Recorder()).status == "in-progress"
    taken_over = store.claim(letter.id, lease=0)
    assert taken_over.status == "claimed" and taken_over.letter == letter


def test_a_replayed_message_that_fails_again_is_filed_afresh_keeping_its_first_failure(
        store: DeadLetterStore) -> None:
    letter = store.put("ingest", {"id": "f6"}, ValueError("x"), 1)

    def fails_again(stage: str, payload: Any) -> str:
        store.put(stage, payload, ValueError("still bad"), 1)  # what the stage does with it (embedded: at once)
        return "failed"

    assert replay(store, letter.id, fails_again).status == "replayed"
    fresh = store.get(letter.id)
    assert fresh is not None and fresh.attempts == 1 and fresh.reason == "ValueError: still bad"
    assert fresh.first_failed_at == letter.first_failed_at  # issue #14: it was lost
    assert fresh.last_failed_at > letter.last_failed_at


def test_a_message_replayed_to_a_queue_that_fails_later_keeps_its_first_failure(store: DeadLetterStore) -> None:
    letter = store.put("ingest", {"id": "f7"}, ValueError("x"), 1)
    assert replay(store, letter.id, Recorder()).status == "replayed"  # services mode: queued, done
    fresh = store.put("ingest", {"id": "f7"}, ValueError("still bad"), 1)  # a worker fails it again later
    assert fresh.first_failed_at == letter.first_failed_at
    assert replay(store, letter.id, Recorder()).status == "replayed", "a new failure can be replayed"


def test_purge_deletes_only_what_it_is_given(store: DeadLetterStore) -> None:
    letters = [store.put("ingest", {"n": number}, ValueError("x"), 1) for number in range(3)]
    assert store.purge([letters[0].id, letters[2].id, "0" * 24]) == 2
    assert [letter.id for letter in store.list()] == [letters[1].id]


# ---- kabar dlq, embedded mode (SQLite) and services mode (a private Redis, no workers) ----

def test_dlq_commands_in_embedded_mode(embedded_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"url": "ftp://example.com/berita", "title": "Berita",
                               "text": "Isi berita yang cukup panjang untuk diproses di sini. " * 5}))
    assert run_kabar(["ingest", str(bad)], embedded_env).returncode == 1
    listed = run_kabar(["dlq", "list"], embedded_env)
    assert "1 dead letter(s)" in listed.stdout and "only http(s) URLs are accepted" in listed.stdout
    letter_id = listed.stdout.split()[0]
    assert json.loads(run_kabar(["dlq", "list", "--json"], embedded_env).stdout)["id"] == letter_id
    assert json.loads(run_kabar(["dlq", "show", letter_id], embedded_env).stdout)["message"]["url"].startswith("ftp:")

    replayed = run_kabar(["dlq", "replay", letter_id], embedded_env)
    assert replayed.returncode == 1, "still bad: the replay reports the failure"
    assert f"replayed {letter_id} to the ingest stage: failed at ingest" in replayed.stdout
    assert "1 dead letter(s)" in run_kabar(["dlq", "list"], embedded_env).stdout, "filed afresh"

    refused = run_kabar(["dlq", "purge"], embedded_env)
    assert refused.returncode == 2 and "would delete 1 dead letter(s)" in refused.stderr and "--yes" in refused.stderr
    assert "1 dead letter(s)" in run_kabar(["dlq", "list"], embedded_env).stdout
    purged = run_kabar(["dlq", "purge", "--yes"], embedded_env)
    assert purged.returncode == 0 and "purged 1 dead letter(s)" in purged.stdout
    assert "0 dead letter(s)" in run_kabar(["dlq", "list"], embedded_env).stdout
    gone = run_kabar(["dlq", "replay", letter_id], embedded_env)
    assert gone.returncode == 0 and "already replayed" in gone.stdout and "not sent again" in gone.stdout
    unknown = run_kabar(["dlq", "replay", "0" * 24], embedded_env)
    assert unknown.returncode == 1 and "no dead letter" in unknown.stderr


def test_dlq_replay_in_services_mode_queues_once(tmp_path: Path) -> None:
    server = faults.RedisServer(tmp_path / "redis", persistent=False)
    server.start()
    try:
        env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
        env.update({"KABAR_MODE": "services", "KABAR_REDIS_URL": server.url, "KABAR_DATA_DIR": str(tmp_path / "d")})
        client = server.client()
        store = RedisDeadLetterStore(client, "kabar")
        letters = [store.put("enrich", {"id": f"g{n}"}, RuntimeError("x"), 6) for n in range(3)]
        first = run_kabar(["dlq", "replay", letters[0].id], env)
        assert first.returncode == 0, first.stderr
        assert f"replayed {letters[0].id} to the enrich stage: queued" in first.stdout
        second = run_kabar(["dlq", "replay", letters[0].id], env)
        assert second.returncode == 0 and "already replayed" in second.stdout and "not sent again" in second.stdout
        assert client.llen("enrich") == 1
        everything = run_kabar(["dlq", "replay", "--all", "--stage", "enrich"], env)
        assert everything.returncode == 0 and "2 dead letter(s) replayed" in everything.stdout
        assert client.llen("enrich") == 3 and store.count() == 0
        assert client.hlen("kabar:inflight") == 3, "replays are recorded in flight like any message"
        assert run_kabar(["dlq", "replay", "--all", "--stage", "nope"], env).returncode == 2
    finally:
        server.stop()


# ---- GET /deadletters, GET /deadletters/{id}, POST /deadletters/{id}/replay ----

@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, SqliteDeadLetterStore, Recorder]]:
    settings = KabarSettings(mode="embedded", data_dir=tmp_path / "data")
    app = create_app(settings, dead_letter_routes=False)  # mounted below on a store this test fills
    security = ApiSecurity(KabarSettings(api_key=KEY))
    install_security(app, security)
    letters = SqliteDeadLetterStore(tmp_path / "letters.sqlite3")
    recorder = Recorder()
    app.include_router(deadletter_router(settings, security, store=letters, send=recorder))
    with TestClient(app) as client:
        yield client, letters, recorder


def test_the_dead_letter_api_needs_the_key(api: tuple[TestClient, SqliteDeadLetterStore, Recorder]) -> None:
    client, letters, _ = api
    letter = letters.put("ingest", {"id": "h1"}, ValueError("x"), 1)
    for method, path in [("GET", "/deadletters"), ("GET", f"/deadletters/{letter.id}"),
                         ("POST", f"/deadletters/{letter.id}/replay")]:
        assert client.request(method, path).status_code == 401
        assert client.request(method, path, headers={"X-API-Key": "salah"}).status_code == 401
        response = client.request(method, path, headers={"Authorization": f"Bearer {KEY}"})
        assert response.status_code == 200, response.text
    assert letters.count() == 0, "the authorised POST replayed it"


def test_the_dead_letter_api_lists_shows_and_replays_once(api: tuple[TestClient, SqliteDeadLetterStore,
                                                                     Recorder]) -> None:
    client, letters, recorder = api
    auth = {"X-API-Key": KEY}
    made = [letters.put("index" if n else "enrich", {"id": f"i{n}", "text": "isi"}, RuntimeError(f"r{n}"), 6)
            for n in range(3)]
    page = client.get("/deadletters", params={"limit": 2, "stage": "index"}, headers=auth).json()
    assert page["total"] == 2 and [item["id"] for item in page["items"]] == [made[1].id, made[2].id]
    assert "message" not in page["items"][0], "the list leaves the messages out"
    shown = client.get(f"/deadletters/{made[0].id}", headers=auth).json()
    assert shown["message"] == {"id": "i0", "text": "isi"} and shown["attempts"] == 6
    assert shown["first_failed_at"] and shown["last_failed_at"] and shown["reason"] == "RuntimeError: r0"

    first = client.post(f"/deadletters/{made[0].id}/replay", headers=auth)
    second = client.post(f"/deadletters/{made[0].id}/replay", headers=auth)
    assert first.status_code == 200 and first.json()["status"] == "replayed" and first.json()["stage"] == "enrich"
    assert second.status_code == 200 and second.json()["status"] == "already-replayed"
    assert recorder.sent == [("enrich", {"id": "i0", "text": "isi"})]

    missing = client.get(f"/deadletters/{'0' * 24}", headers=auth)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert client.get("/deadletters/not-an-id", headers=auth).status_code == 422
    assert client.post(f"/deadletters/{'0' * 24}/replay", headers=auth).status_code == 404
    assert client.get("/deadletters", params={"limit": 0}, headers=auth).status_code == 422
    assert client.get("/deadletters", params={"stage": "nope"}, headers=auth).status_code == 422
    letters.claim(made[1].id)  # someone else is replaying it
    assert client.post(f"/deadletters/{made[1].id}/replay", headers=auth).status_code == 409


def test_without_a_configured_key_the_dead_letter_api_is_closed(tmp_path: Path) -> None:
    settings = KabarSettings(mode="embedded", data_dir=tmp_path / "data", api_key=None)
    app = create_app(settings, dead_letter_routes=False)
    letters = SqliteDeadLetterStore(tmp_path / "letters.sqlite3")
    app.include_router(deadletter_router(settings, ApiSecurity(settings), store=letters, send=Recorder()))
    with TestClient(app) as client:
        response = client.get("/deadletters", headers={"X-API-Key": "anything"})
    assert response.status_code == 403
    assert "KABAR_API_KEY" in response.json()["detail"]
