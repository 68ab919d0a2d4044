"""Bulk indexing against the real servers (Elasticsearch and OpenSearch over HTTP): per-document
outcomes, retries of 429/5xx, mapping errors with the server's reason, no lost or double-counted
article, and the index stage's batching buffer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from articles import NEWSROOM, news
from conftest import EngineUnderTest, engine_launcher
from kabar.contract.failures import PermanentError
from kabar.contract.settings import KabarSettings
from kabar_search.buffer import IndexBuffer
from kabar_search.es_backend import ElasticsearchBackend
from kabar_search.es_bulk import RetryPolicy
from kabar_search.sqlite_backend import SqliteBackend
from kabar_search.stage import IndexHandler, IndexingFailed

FAST_RETRY = RetryPolicy(attempts=4, backoff=0.01, backoff_max=0.05)


def es_settings(engine: EngineUnderTest, tmp_path: Path, url: str | None = None,
                alias: str = "kabar-articles") -> KabarSettings:
    """Settings for ``engine``, reached at ``url`` (a proxy in front of it) when given."""
    return KabarSettings(search_backend=engine.name, **{f"{engine.name}_url": url or engine.url},
                         data_dir=tmp_path, index_alias=alias)


@pytest.fixture
def es(engine: EngineUnderTest, tmp_path: Path) -> Iterator[ElasticsearchBackend]:
    backend = ElasticsearchBackend.from_settings(es_settings(engine, tmp_path), FAST_RETRY)
    yield backend
    backend.close()


class FlakyBulkProxy:
    """A real HTTP proxy in front of the search server that refuses some bulk items.

    For the first ``rounds`` bulk requests, every second document (or, with
    ``always``, the documents with those ids) is not forwarded and comes back with
    ``status`` instead, as an overloaded cluster answers.
    """

    def __init__(self, upstream: str, status: int, rounds: int, always: frozenset[str] = frozenset()) -> None:
        self.upstream, self.status, self.rounds, self.always = upstream, status, rounds, always
        self.refused: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._relay()

            def do_PUT(self) -> None:
                self._relay()

            def do_HEAD(self) -> None:
                self._relay()

            def do_POST(self) -> None:
                self._relay()

            def log_message(self, *_: Any) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0].endswith("/_bulk") and proxy.rounds > 0:
                    proxy.rounds -= 1
                    status, payload = proxy.flaky_bulk(self.path, body)
                else:
                    status, payload = proxy.forward(self.command, self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        response = httpx.request(method, f"{self.upstream}{path}", content=body or None,
                                 headers={"Content-Type": "application/json"}, timeout=30)
        return response.status_code, response.content

    def flaky_bulk(self, path: str, body: bytes) -> tuple[int, bytes]:
        lines = [line for line in body.decode().splitlines() if line.strip()]
        pairs = list(zip(lines[0::2], lines[1::2], strict=True))
        refused = [self.refuses(position, action) for position, (action, _) in enumerate(pairs)]
        passed = [pair for pair, no in zip(pairs, refused, strict=True) if not no]
        status, forwarded_items = 200, []
        if passed:
            status, payload = self.forward("POST", path, "".join(f"{a}\n{s}\n" for a, s in passed).encode())
            forwarded_items = json.loads(payload)["items"]
        forwarded = iter(forwarded_items)
        items = []
        for (action_line, _), no in zip(pairs, refused, strict=True):
            if not no:
                items.append(next(forwarded))
                continue
            op, meta = next(iter(json.loads(action_line).items()))
            self.refused.append(meta["_id"])
            items.append({op: {"_id": meta["_id"], "_index": meta["_index"], "status": self.status,
                               "error": {"type": "es_rejected_execution_exception", "reason": "overloaded (test)"}}})
        return status, json.dumps({"took": 1, "errors": True, "items": items}).encode()

    def refuses(self, position: int, action_line: str) -> bool:
        meta = next(iter(json.loads(action_line).values()))
        return meta["_id"] in self.always if self.always else position % 2 == 1

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [429, 503])
def test_refused_items_are_retried_until_written(engine: EngineUnderTest, tmp_path: Path, status: int) -> None:
    proxy = FlakyBulkProxy(engine.url, status, rounds=2)
    backend = ElasticsearchBackend.from_settings(es_settings(engine, tmp_path, proxy.url), FAST_RETRY)
    try:
        outcomes = backend.upsert_many(NEWSROOM[:6], refresh=True)
        assert proxy.refused, "the proxy refused some documents"
        assert [(o.status, o.version) for o in outcomes] == [("created", 1)] * 6
        assert backend.count() == 6
    finally:
        backend.close()
        proxy.close()


def test_items_refused_past_the_retries_are_reported_failed(engine: EngineUnderTest, tmp_path: Path) -> None:
    proxy = FlakyBulkProxy(engine.url, 429, rounds=100, always=frozenset({"n02", "n04"}))
    backend = ElasticsearchBackend.from_settings(es_settings(engine, tmp_path, proxy.url), FAST_RETRY)
    try:
        outcomes = backend.upsert_many(NEWSROOM[:4], refresh=True)
        assert [o.status for o in outcomes] == ["created", "failed", "created", "failed"]
        assert "overloaded (test)" in (outcomes[1].reason or "")
        with pytest.raises(IndexingFailed, match="overloaded"):
            IndexHandler(backend, IndexBuffer(backend.upsert_many, max_batch=1)).handle(
                NEWSROOM[1].model_dump(mode="json"))
    finally:
        backend.close()
        proxy.close()


def test_mapping_errors_are_rejected_with_the_servers_reason(engine: EngineUnderTest, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    # An index created by hand (or by an older kabar) where source_domain is not a keyword.
    raw = httpx.put(f"{engine.url}/kabar-articles-000001", json={
        "aliases": {"kabar-articles": {"is_write_index": True}},
        "mappings": {"dynamic": "false", "properties": {"source_domain": {"type": "integer"}}}}, timeout=10)
    assert raw.status_code == 200, raw.text
    backend = ElasticsearchBackend.from_settings(es_settings(engine, tmp_path), FAST_RETRY)
    try:
        assert "cannot be updated in place" in caplog.text
        no_source = news("n99", "Tanpa sumber", "Berita tanpa sumber.", "story-z")
        outcomes = backend.upsert_many([NEWSROOM[0], no_source], refresh=True)
        assert outcomes[0].status == "rejected"
        assert "source_domain" in (outcomes[0].reason or "")
        assert outcomes[1].status == "created"
        handler = IndexHandler(backend, IndexBuffer(backend.upsert_many, max_batch=1))
        with pytest.raises(PermanentError, match=r"refused article n01: .*source_domain"):
            handler.handle(NEWSROOM[0].model_dump(mode="json"))
    finally:
        backend.close()


def test_an_unreachable_server_fails_the_batch_transiently(engine: EngineUnderTest, tmp_path: Path) -> None:
    proxy = engine_launcher.TcpProxy(int(engine.url.rsplit(":", 1)[1]))
    proxy.start()
    backend = ElasticsearchBackend.from_settings(es_settings(engine, tmp_path, proxy.url), FAST_RETRY)
    proxy.stop()  # the server goes away
    try:
        outcomes = backend.upsert_many(NEWSROOM[:2])
        assert [o.status for o in outcomes] == ["failed", "failed"]
        assert all(o.reason for o in outcomes)
    finally:
        backend.close()


def test_two_workers_updating_one_article_count_one_version(es: ElasticsearchBackend, engine: EngineUnderTest,
                                                            tmp_path: Path) -> None:
    other = ElasticsearchBackend.from_settings(es_settings(engine, tmp_path), FAST_RETRY)
    try:
        assert es.upsert(NEWSROOM[0])
        changed = NEWSROOM[0].model_copy(update={"title": "Lavrov dan Kim (update)", "content_hash": "v2"})
        results: list[Any] = []
        workers = [threading.Thread(target=lambda b=b: results.extend(b.upsert_many([changed] * 3)))
                   for b in (es, other) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sorted(o.status for o in results).count("updated") == 1, results
        es.refresh()
        stored = es.get("n01")
        assert stored is not None
        assert (stored["version"], stored["previous_content_hashes"]) == (2, ["hash-n01"])
        assert es.count() == 1
    finally:
        other.close()


def test_the_buffer_writes_concurrent_articles_in_few_batches(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "search.sqlite3")
    buffer = IndexBuffer(backend.upsert_many, max_batch=8, max_wait=0.5)
    outcomes: list[Any] = []
    articles = [news(f"b{n:02d}", f"Berita {n}", f"Berita nomor {n}.", "story-b") for n in range(24)]
    threads = [threading.Thread(target=lambda a=a: outcomes.append(buffer.submit(a))) for a in articles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.id for o in outcomes) == [a.id for a in articles]
    assert {o.status for o in outcomes} == {"created"}
    assert buffer.stats.articles == 24
    assert buffer.stats.batches <= 12, buffer.stats
    assert buffer.stats.largest_batch <= 8
    assert backend.count() == 24
    backend.close()


def test_a_lone_caller_is_written_at_once(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "search.sqlite3")
    buffer = IndexBuffer(backend.upsert_many, max_batch=100, max_wait=5.0)
    started = time.monotonic()
    for item in NEWSROOM:
        assert buffer.submit(item).status == "created"
    assert time.monotonic() - started < 5.0, "a single thread never waits for company"
    assert buffer.stats.batches == len(NEWSROOM)
    backend.close()


def test_a_batch_that_raises_fails_every_waiting_task(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "search.sqlite3")
    backend.close()  # writes now raise: the whole batch fails
    buffer = IndexBuffer(backend.upsert_many, max_batch=4)
    with pytest.raises(Exception, match="closed"):
        buffer.submit(NEWSROOM[0])


def test_the_handler_reports_repeats_as_unchanged(es: ElasticsearchBackend) -> None:
    handler = IndexHandler(es, IndexBuffer(es.upsert_many, max_batch=1))
    payload = NEWSROOM[2].model_dump(mode="json")
    assert handler.handle(payload).changed is True
    assert handler.handle(payload).changed is False
    es.refresh()
    assert es.count() == 1
