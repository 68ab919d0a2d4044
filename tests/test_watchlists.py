"""Watchlists: the store (Redis and SQLite, race-free), the API and the CLI, webhook delivery,
and the embedded pipeline end to end with a real local webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pydantic import ValidationError

from conftest import SEEDS, free_port, run_kabar
from kabar.contract.settings import KabarSettings, get_settings, parse_networks
from kabar_search.watch.delivery import deliver
from kabar_search.watch.models import AlertDelivery, ArticleRef, Watchlist, WatchlistSpec
from kabar_search.watch.store import RedisWatchlistStore, SqliteWatchlistStore, TooManyWatchlists, WatchlistStore
from kabar_search.watch.webhooks import DeliveryFailed, WebhookRefused, post_json
from search_support import problem_mismatch
from test_api_search import serve

API_KEY = "test-watchlists-key"
WRITE = {"X-API-Key": API_KEY}
LOOPBACK = parse_networks("127.0.0.0/8,::1/128")


class Receiver:
    """A webhook receiver on a free loopback port: records every POST, answers ``status`` after ``delay`` s."""

    def __init__(self, status: int = 204, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[dict[str, Any]] = []  # every POST that arrived, answered or not
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": json.loads(body)})
                if receiver.delay:
                    receiver._release.wait(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook?token=s3cret"

    def alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [request["body"] for request in self.requests]

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    opened = Receiver()
    yield opened
    opened.close()


@pytest.fixture
def watch_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process settings for the API tests: an API key, and fresh watchlist settings."""
    monkeypatch.setenv("KABAR_API_KEY", API_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def ref(article_id: str) -> ArticleRef:
    return ArticleRef(id=article_id, title=f"Judul {article_id}", url=f"https://example.com/{article_id}")


def watchlist(query: str = "Kim Jong Un", webhook: str = "http://127.0.0.1:9/hook") -> Watchlist:
    return Watchlist.create(WatchlistSpec(query=query, webhook=webhook))


# -- the store: one contract, Redis and SQLite ------------------------------------------------------

@pytest.fixture(params=["redis", "sqlite"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Opens independent stores (own connections) on the same state, as separate workers would."""
    opened: list[WatchlistStore] = []

    def open_store() -> WatchlistStore:
        if request.param == "redis":
            url: str = request.getfixturevalue("redis_url")
            store: WatchlistStore = RedisWatchlistStore(redis.Redis.from_url(url), "kabar")
        else:
            store = SqliteWatchlistStore(tmp_path / "watchlists.sqlite3")
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def test_one_alert_per_story_later_coverage_counts(store_factory: Any) -> None:
    store: WatchlistStore = store_factory()
    kim = watchlist()
    store.add(kim, limit=10)
    at = datetime(2025, 7, 12, tzinfo=UTC)
    kinds = [store.record_match(kim.id, story, ref(article), at).kind
             for story, article in [("s1", "a1"), ("s1", "a2"), ("s2", "b1"), ("s1", "a3"), ("s1", "a2")]]
    assert kinds == ["new", "more", "new", "more", "seen"]
    alert = store.alert(kim.id, "s1")
    assert alert is not None
    assert (alert.articles, alert.first_article.id, alert.last_article.id, alert.status) == (3, "a1", "a3", "pending")
    assert {state.story_id: state.articles for state in store.alerts(kim.id, 10)} == {"s1": 3, "s2": 1}
    assert store.alert_counts([kim.id]) == {kim.id: 2}


def test_a_repeat_of_a_pending_alert_is_handed_on_again_but_not_a_queued_one(store_factory: Any) -> None:
    store: WatchlistStore = store_factory()
    kim = watchlist()
    store.add(kim, limit=10)
    at = datetime(2025, 7, 12, tzinfo=UTC)
    assert store.record_match(kim.id, "s1", ref("a1"), at).needs_delivery
    assert store.record_match(kim.id, "s1", ref("a1"), at).needs_delivery, "died before hand-off: hand on again"
    assert not store.record_match(kim.id, "s1", ref("a2"), at).needs_delivery, "later coverage: no new alert"
    assert store.set_status(kim.id, "s1", "queued", at)
    assert not store.record_match(kim.id, "s1", ref("a1"), at).needs_delivery
    assert store.set_status(kim.id, "s1", "delivered", at)
    assert not store.set_status(kim.id, "s1", "queued", at), "a late 'queued' must not undo 'delivered'"
    assert not store.set_status(kim.id, "s1", "failed", at)
    delivered = store.alert(kim.id, "s1")
    assert delivered is not None and delivered.status == "delivered" and delivered.delivered_at == at


def test_removing_a_watchlist_removes_its_alerts_and_stops_recording(store_factory: Any) -> None:
    store: WatchlistStore = store_factory()
    kim, other = watchlist(), watchlist("banjir")
    store.add(kim, limit=10)
    store.add(other, limit=10)
    before = store.revision()
    at = datetime(2025, 7, 12, tzinfo=UTC)
    store.record_match(kim.id, "s1", ref("a1"), at)
    assert store.remove(kim.id)
    assert store.revision() > before
    assert not store.remove(kim.id)
    assert store.get(kim.id) is None
    assert store.alerts(kim.id, 10) == []
    assert store.record_match(kim.id, "s1", ref("a2"), at).kind == "gone"
    assert [item.id for item in store.list()] == [other.id]


def test_the_number_of_watchlists_is_capped(store_factory: Any) -> None:
    store: WatchlistStore = store_factory()
    store.add(watchlist(), limit=2)
    store.add(watchlist(), limit=2)
    with pytest.raises(TooManyWatchlists, match="2 watchlists already"):
        store.add(watchlist(), limit=2)
    assert len(store.list()) == 2


def test_concurrent_workers_alert_once_per_story(store_factory: Any) -> None:
    """Eight workers (own connections) record 40 articles of one story for three watchlists at once."""
    setup: WatchlistStore = store_factory()
    lists = [watchlist(f"kata{n}") for n in range(3)]
    for item in lists:
        setup.add(item, limit=10)
    workers = [store_factory() for _ in range(8)]
    kinds: list[str] = []
    lock, start = threading.Lock(), threading.Barrier(len(workers))

    def work(number: int, store: WatchlistStore) -> None:
        start.wait()
        for article in range(40):
            for item in lists:
                # every worker sees every article (a redelivery storm): each is counted once
                kind = store.record_match(item.id, "story", ref(f"a{article}"), datetime.now(UTC)).kind
                with lock:
                    kinds.append(kind)

    threads = [threading.Thread(target=work, args=(n, store)) for n, store in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert kinds.count("new") == 3
    assert kinds.count("more") == 3 * 39
    assert kinds.count("seen") == 3 * 40 * 7
    for item in lists:
        alert = setup.alert(item.id, "story")
        assert alert is not None and alert.articles == 40


# -- webhooks ----------------------------------------------------------------------------------

def test_a_delivery_is_classified_by_the_answer(receiver: Receiver) -> None:
    body = json.dumps({"hello": "kabar"}).encode()
    assert post_json(receiver.url, body, {"X-Kabar-Alert-Id": "x1"}, 2, LOOPBACK) == 204
    sent = receiver.requests[-1]
    assert sent["body"] == {"hello": "kabar"} and sent["path"] == "/hook?token=s3cret"
    assert sent["headers"]["X-Kabar-Alert-Id"] == "x1" and sent["headers"]["Content-Type"] == "application/json"
    for status, error, words in [(500, DeliveryFailed, "answered 500"), (429, DeliveryFailed, "answered 429"),
                                 (404, WebhookRefused, "refused the alert with 404"),
                                 (301, WebhookRefused, "redirect")]:
        receiver.status = status
        with pytest.raises(error, match=words):
            post_json(receiver.url, body, {}, 2, LOOPBACK)


def test_a_slow_or_absent_webhook_is_a_passing_failure(receiver: Receiver) -> None:
    receiver.delay = 30
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match=r"did not answer within 0\.5 s"):
        post_json(receiver.url, b"{}", {}, 0.5, LOOPBACK)
    assert time.monotonic() - started < 5
    with pytest.raises(DeliveryFailed, match="could not reach"):
        post_json(f"http://127.0.0.1:{free_port()}/hook", b"{}", {}, 2, LOOPBACK)


def test_a_name_resolving_to_a_refused_address_is_not_posted_to(receiver: Receiver) -> None:
    url = receiver.url.replace("127.0.0.1", "localhost")
    with pytest.raises(WebhookRefused, match=r"resolves to .* loopback address"):
        post_json(url, b"{}", {}, 2, allowed=())
    assert receiver.requests == []
    assert post_json(url, b"{}", {}, 2, LOOPBACK) == 204


def test_a_delivery_is_posted_once_and_dropped_for_a_removed_watchlist(receiver: Receiver, tmp_path: Path) -> None:
    store = SqliteWatchlistStore(tmp_path / "watchlists.sqlite3")
    kim = watchlist(webhook=receiver.url)
    store.add(kim, limit=10)
    recorded = store.record_match(kim.id, "s1", ref("a1"), datetime(2025, 7, 12, tzinfo=UTC))
    assert recorded.state is not None
    payload = AlertDelivery.of(kim, recorded.state).model_dump(mode="json")
    settings = get_settings()
    try:
        assert deliver(payload, store, 2, settings) == "delivered"
        assert deliver(payload, store, 2, settings) == "already-delivered"  # a redelivered message
        assert len(receiver.requests) == 1
        assert receiver.alerts()[0]["article"]["id"] == "a1"
        store.remove(kim.id)
        assert deliver(payload, store, 2, settings) == "dropped"
        assert len(receiver.requests) == 1
        with pytest.raises(ValidationError):
            deliver({**payload, "schema_version": 2}, store, 2, settings)
    finally:
        store.close()


# -- the API ---------------------------------------------------------------------------------------

@pytest.fixture
def api(watch_env: None, tmp_path: Path) -> Iterator[str]:
    with serve(KabarSettings(data_dir=tmp_path)) as url:
        yield url


BAD_WATCHLISTS = [
    ({"query": "", "webhook": "http://127.0.0.1:9/h"}, "query: the query has no words"),
    ({"query": "kim " * 2500, "webhook": "http://127.0.0.1:9/h"}, "query: query is 10000 characters; the limit is 500"),
    ({"query": '"Kim Jong', "webhook": "http://127.0.0.1:9/h"}, "unbalanced quote"),
    ({"query": "-kim", "webhook": "http://127.0.0.1:9/h"}, "no words"),
    ({"query": "kim"}, "webhook: Field required"),
    ({"query": "kim", "webhook": "ftp://example.com/h"}, "http:// or https:// URL, not ftp:"),
    ({"query": "kim", "webhook": "javascript:alert(1)"}, "not javascript:"),
    ({"query": "kim", "webhook": "example.com/hook"}, "not no scheme"),
    ({"query": "kim", "webhook": "http://"}, "has no host"),
    ({"query": "kim", "webhook": "http://exa mple.com/"}, "spaces or control characters"),
    ({"query": "kim", "webhook": "http://user:pw@example.com/"}, "must not carry credentials"),
    ({"query": "kim", "webhook": "http://example.com:99999/"}, "does not parse"),
    ({"query": "kim", "webhook": "http://bad_host!.com/"}, "not a valid host name"),
    ({"query": "kim", "webhook": "http://169.254.169.254/latest/meta-data"}, "169.254.169.254 is a link-local"),
    ({"query": "kim", "webhook": "http://[::ffff:169.254.169.254]/"}, "link-local"),
    ({"query": "kim", "webhook": "http://10.1.2.3/hook"}, "10.1.2.3 is a private address"),
    ({"query": "kim", "webhook": "http://0.0.0.0/hook"}, "unspecified"),
    ({"query": "kim", "webhook": "https://example.com/" + "a" * 3000}, "the limit is 2048"),
    ({"query": "kim", "webhook": "http://127.0.0.1:9/h", "languages": ["id"] * 21}, "at most 20"),
    ({"query": "kim", "webhook": "http://127.0.0.1:9/h", "entities": ["x" * 300]}, "1 to 256"),
    ({"query": "kim", "webhook": "http://127.0.0.1:9/h", "name": "n" * 201}, "at most 200"),
    ({"query": "kim", "webhook": "http://127.0.0.1:9/h", "color": "red"}, "color: Extra inputs"),
    ({"query": ["kim"], "webhook": "http://127.0.0.1:9/h"}, "query: Input should be a valid string"),
]


def test_a_bad_watchlist_is_a_422_problem_detail(api: str) -> None:
    # One server for all the cases; every case that fails is reported, and none may store a watchlist.
    wrong = {}
    for body, detail in BAD_WATCHLISTS:
        response = httpx.post(f"{api}/watchlists", json=body, headers=WRITE, timeout=10)
        if (mismatch := problem_mismatch(response, 422, detail)) is not None:
            wrong[str(body)[:80]] = mismatch
        if stored := httpx.get(f"{api}/watchlists", timeout=10).json():
            wrong[str(body)[:80]] = f"stored {stored}"
    assert not wrong, wrong


def test_watchlists_over_http(api: str) -> None:
    body = {"query": '"Kim Jong Un" -Trump', "webhook": "http://127.0.0.1:9/hooks/T000/B000/secret?x=1",
            "name": "Korut", "languages": ["id"], "entities": ["Kim Jong Un"]}
    created = httpx.post(f"{api}/watchlists", json=body, headers=WRITE, timeout=10)
    assert created.status_code == 201, created.text
    made = created.json()
    assert created.headers["location"] == f"/watchlists/{made['id']}"
    assert made["webhook"] == "http://127.0.0.1:9/…", "the secret path and query are not shown"
    assert (made["query"], made["languages"], made["entities"], made["alert_count"]) == (
        body["query"], ["id"], ["Kim Jong Un"], 0)
    assert [item["id"] for item in httpx.get(f"{api}/watchlists", timeout=10).json()] == [made["id"]]
    shown = httpx.get(f"{api}/watchlists/{made['id']}", timeout=10).json()
    assert shown["alerts"] == [] and shown["name"] == "Korut" and "secret" not in json.dumps(shown)

    assert httpx.delete(f"{api}/watchlists/{made['id']}", headers=WRITE, timeout=10).status_code == 204
    for response in (httpx.get(f"{api}/watchlists/{made['id']}", timeout=10),
                     httpx.delete(f"{api}/watchlists/{made['id']}", headers=WRITE, timeout=10)):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{api}/watchlists/{'x' * 100}", timeout=10).status_code == 422
    assert httpx.get(f"{api}/watchlists/{made['id']}", params={"limit": 0}, timeout=10).status_code == 422


def test_writes_need_the_api_key(api: str) -> None:
    body = {"query": "kim", "webhook": "http://127.0.0.1:9/h"}
    for headers in ({}, {"X-API-Key": "wrong"}):
        response = httpx.post(f"{api}/watchlists", json=body, headers=headers, timeout=10)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    made = httpx.post(f"{api}/watchlists", json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
    assert made.status_code == 201
    assert httpx.delete(f"{api}/watchlists/{made.json()['id']}", timeout=10).status_code == 401
    assert len(httpx.get(f"{api}/watchlists", timeout=10).json()) == 1


def test_more_watchlists_than_allowed_is_a_409(watch_env: None, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("KABAR_MAX_WATCHLISTS", "1")
    get_settings.cache_clear()
    with serve(KabarSettings(data_dir=tmp_path)) as url:
        body = {"query": "kim", "webhook": "http://127.0.0.1:9/h"}
        assert httpx.post(f"{url}/watchlists", json=body, headers=WRITE, timeout=10).status_code == 201
        refused = httpx.post(f"{url}/watchlists", json=body, headers=WRITE, timeout=10)
    assert refused.status_code == 409
    assert "KABAR_MAX_WATCHLISTS" in refused.json()["detail"]


def test_private_networks_can_be_allowed(watch_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KABAR_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8")
    get_settings.cache_clear()
    with serve(KabarSettings(data_dir=tmp_path)) as url:
        private = {"query": "kim", "webhook": "http://10.1.2.3/hook"}
        assert httpx.post(f"{url}/watchlists", json=private, headers=WRITE, timeout=10).status_code == 201
        loopback = {"query": "kim", "webhook": "http://127.0.0.1:9/hook"}  # no longer in the allowed list
        assert httpx.post(f"{url}/watchlists", json=loopback, headers=WRITE, timeout=10).status_code == 422


def test_an_unreachable_store_is_a_503(watch_env: None, tmp_path: Path) -> None:
    settings = KabarSettings(data_dir=tmp_path, state_backend="redis", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with serve(settings) as url:
        response = httpx.get(f"{url}/watchlists", timeout=30)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")


def test_openapi_documents_the_watchlist_routes(api: str) -> None:
    paths = httpx.get(f"{api}/openapi.json", timeout=10).json()["paths"]
    assert set(paths["/watchlists"]) == {"get", "post"}
    assert set(paths["/watchlists/{watchlist_id}"]) == {"get", "delete"}
    assert "application/problem+json" in paths["/watchlists"]["post"]["responses"]["422"]["content"]


# -- the embedded mode, end to end through the `kabar` command --------------------------------------

def add_watchlist(env: dict[str, str], *args: str) -> str:
    added = run_kabar(["watchlists", "add", *args], env)
    assert added.returncode == 0, added.stderr
    return added.stdout.strip()


def test_embedded_seeds_alert_once_per_story(embedded_env: dict[str, str], receiver: Receiver) -> None:
    kim = add_watchlist(embedded_env, "Kim Jong Un", "--webhook", receiver.url, "--name", "Korut")
    nothing = add_watchlist(embedded_env, "Kim Jong Un", "--webhook", receiver.url, "--language", "en")
    ingested = run_kabar(["ingest", str(SEEDS)], embedded_env)
    assert ingested.returncode == 0, ingested.stderr
    assert "5 indexed" in ingested.stdout

    alerts = receiver.alerts()
    assert len(alerts) == 2, alerts  # five matching articles, two stories
    assert {alert["watchlist"]["id"] for alert in alerts} == {kim}, "the English-only watchlist matched nothing"
    assert len({alert["story_id"] for alert in alerts}) == 2
    assert all(alert["type"] == "kabar.watchlist.alert" and alert["watchlist"]["name"] == "Korut" for alert in alerts)
    assert {request["headers"]["X-Kabar-Alert-Id"] for request in receiver.requests} == {
        alert["alert_id"] for alert in alerts}

    listed = [json.loads(line)
              for line in run_kabar(["watchlists", "list", "--json"], embedded_env).stdout.splitlines()]
    assert {item["id"]: item["alert_count"] for item in listed} == {kim: 2, nothing: 0}
    assert listed[0]["webhook"] == receiver.url, "the CLI shows the whole URL"
    assert run_kabar(["ingest", str(SEEDS)], embedded_env).returncode == 0
    assert len(receiver.alerts()) == 2, "ingesting the same seeds again alerts nobody"


def test_embedded_alerts_show_each_storys_coverage(embedded_env: dict[str, str], receiver: Receiver,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kim = add_watchlist(embedded_env, "Kim Jong Un", "--webhook", receiver.url)
    assert run_kabar(["ingest", str(SEEDS)], embedded_env).returncode == 0
    monkeypatch.setenv("KABAR_API_KEY", API_KEY)
    with serve(KabarSettings(data_dir=Path(embedded_env["KABAR_DATA_DIR"]))) as url:
        shown = httpx.get(f"{url}/watchlists/{kim}", timeout=10).json()
        story_articles = {story: httpx.get(f"{url}/stories/{story}", timeout=10).json()["articles"]
                          for story in (alert["story_id"] for alert in shown["alerts"])}
    assert shown["alert_count"] == 2
    assert sorted(alert["articles"] for alert in shown["alerts"]) == [1, 4]
    for alert in shown["alerts"]:
        assert alert["status"] == "delivered" and alert["delivered_at"]
        coverage = [article["id"] for article in story_articles[alert["story_id"]]]
        assert len(coverage) == alert["articles"]
        assert {alert["first_article"]["id"], alert["last_article"]["id"]} <= set(coverage)
        if alert["articles"] > 1:
            assert alert["first_article"]["id"] != alert["last_article"]["id"]
    posted = {alert["story_id"]: alert["article"]["id"] for alert in receiver.alerts()}
    assert posted == {alert["story_id"]: alert["first_article"]["id"] for alert in shown["alerts"]}


def test_embedded_hanging_webhook_does_not_hold_up_ingest(embedded_env: dict[str, str], tmp_path: Path) -> None:
    hanging = Receiver(delay=60)
    try:
        env = {**embedded_env, "KABAR_ALERT_INLINE_TIMEOUT": "1"}
        add_watchlist(env, "Kim Jong Un", "--webhook", hanging.url)
        started = time.monotonic()
        ingested = run_kabar(["ingest", str(SEEDS)], env)
        took = time.monotonic() - started
    finally:
        hanging.close()
    assert ingested.returncode == 0, ingested.stderr
    assert "5 indexed" in ingested.stdout
    assert took < 40, f"ingest waited {took:.0f} s"
    assert len(hanging.requests) == 1, "the second story's alert was not tried: the webhook had just failed"
    letters = [json.loads(line) for line in run_kabar(["dlq", "list", "--json"], env).stdout.splitlines()]
    assert [letter["stage"] for letter in letters] == ["alert", "alert"]
    assert all("did not answer within 1 s" in letter["reason"] for letter in letters)
    assert sorted(letter["attempts"] for letter in letters) == [0, 1]
    assert any("not attempted: this webhook failed" in letter["reason"] for letter in letters)
    found = json.loads(run_kabar(["search", "Kim Jong Un", "--json"], env).stdout)
    assert found["total"] == 5


def test_embedded_failed_alert_is_dead_lettered_and_replayed(embedded_env: dict[str, str]) -> None:
    failing = Receiver(status=500)
    try:
        kim = add_watchlist(embedded_env, "Kim Jong Un", "--webhook", failing.url)
        assert run_kabar(["ingest", str(SEEDS)], embedded_env).returncode == 0
        listed = run_kabar(["dlq", "list", "--json"], embedded_env)
        letters = [json.loads(line) for line in listed.stdout.splitlines()]
        assert len(letters) == 2 and all("answered 500" in letter["reason"] for letter in letters)
        shown = json.loads(run_kabar(["dlq", "show", letters[0]["id"]], embedded_env).stdout)
        assert shown["message"]["watchlist_id"] == kim and shown["message"]["alert"]["story_id"]

        again = run_kabar(["dlq", "replay", letters[0]["id"]], embedded_env)
        assert again.returncode == 1, "still failing: the replay says so"
        assert "answered 500" in again.stdout, again.stdout + again.stderr
        assert len([json.loads(line) for line in run_kabar(["dlq", "list", "--json"], embedded_env)
                    .stdout.splitlines()]) == 2, "filed again under the same id"

        failing.status = 200
        replayed = run_kabar(["dlq", "replay", "--all"], embedded_env)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    finally:
        failing.close()
    assert "0 dead letter(s)" in run_kabar(["dlq", "list"], embedded_env).stdout
    delivered = failing.requests[-2:]  # answered 200
    assert len({request["body"]["story_id"] for request in delivered}) == 2
    assert {request["body"]["watchlist"]["id"] for request in delivered} == {kim}
    listed_after = json.loads(run_kabar(["watchlists", "list", "--json"], embedded_env).stdout)
    assert listed_after["alert_count"] == 2


def test_cli_refuses_bad_watchlists_and_removes(embedded_env: dict[str, str]) -> None:
    for args, words in [(["", "--webhook", "http://127.0.0.1:9/h"], "query: the query has no words"),
                        (["kim", "--webhook", "javascript:alert(1)"], "not javascript:"),
                        (["kim", "--webhook", "http://169.254.169.254/"], "link-local")]:
        refused = run_kabar(["watchlists", "add", *args], embedded_env)
        assert refused.returncode == 2
        assert words in refused.stderr, refused.stderr
    kim = add_watchlist(embedded_env, "kim", "--webhook", "http://127.0.0.1:9/h", "--entity", "Kim Jong Un")
    assert "1 watchlist(s)" in run_kabar(["watchlists", "list"], embedded_env).stdout
    assert run_kabar(["watchlists", "remove", kim], embedded_env).returncode == 0
    missing = run_kabar(["watchlists", "remove", kim], embedded_env)
    assert missing.returncode == 2 and "no watchlist" in missing.stderr
    assert "0 watchlist(s)" in run_kabar(["watchlists", "list"], embedded_env).stdout
