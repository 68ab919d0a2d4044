"""Search benchmark: indexing rate and query latency, SQLite, Elasticsearch and OpenSearch.

    python benchmarks/search.py                       # SQLite and both engines (started here, scripts/engines.py)
    python benchmarks/search.py --backends sqlite --docs 1000
    python benchmarks/search.py --backends opensearch --engine-url http://127.0.0.1:9201   # a running engine

Corpus: ../shared/corpus/indosum.jsonl (3,463 Indonesian news articles, read in place,
never copied); the benchmark says so and exits 0 when it is absent. Each article gets
its source's domain, its date, a story per category and day, and its capitalised
phrases as MISC entities, so facets and collapse have something to count.

Prints, per backend:
- indexing rate (docs/s) through ``upsert_many`` in bulk batches, and through the index
  stage's ``IndexBuffer`` with concurrent submitters (what a threads-pool worker does);
- query latency p50/p99 (ms) calling the backend directly and through the HTTP API
  (``uvicorn kabar.api:create_app --factory`` in a subprocess, as ``kabar api``
  runs it), for a plain search and for the search page's query (facets + collapse).
  API minus direct is the API's own overhead (HTTP, validation, JSON).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # benchmarks/support.py

from kabar.contract.messages import EnrichedArticle, Entity
from kabar.contract.settings import KabarSettings
from kabar_search.backend import open_backend
from kabar_search.buffer import IndexBuffer
from kabar_search.query import parse_query
from kabar_search.request import SearchOptions

ROOT, CORPUS = support.ROOT, support.CORPUS
QUERIES = ["presiden", "jakarta", "pemerintah", "indonesia", "harga", "polisi", "menteri", "timnas", "film",
           "sepak bola", '"bank indonesia"', "jokowi jakarta", "gubernur -anies", "pertandingan final",
           "aplikasi", "musik", "pemilihan kepala daerah", "korupsi", "startup", "juara"]
_CAPITALISED = re.compile(r"\b(?:[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\b")


def load_corpus(limit: int | None) -> list[EnrichedArticle]:
    articles = []
    with CORPUS.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if limit is not None and number >= limit:
                break
            articles.append(to_article(json.loads(line)))
    return articles


def to_article(record: dict[str, Any]) -> EnrichedArticle:
    slug = record["id"].split("-", 1)[1] if "-" in record["id"] else record["id"]
    text = record["text"]
    published = datetime.fromisoformat(record["date_from_id"].replace("Z", "+00:00"))
    names = list(dict.fromkeys(match.group(0) for match in _CAPITALISED.finditer(text)))[:10]
    entities = [Entity(text=name, label="MISC", start=text.index(name), end=text.index(name) + len(name),
                       canonical=name) for name in names]
    return EnrichedArticle(
        id=record["id"], url=record["source_url"], source_domain=urlparse(record["source_url"]).netloc,
        title=slug.replace("-", " ").capitalize(), text=text, content_hash=str(hash(text)), published_at=published,
        received_at=published, language="id", language_confidence=0.99, entities=entities, fingerprint="AAAA",
        story_id=f"{record['category']}:{published.date().isoformat()}",
    )


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(samples: list[float], action: Callable[[], Any]) -> None:
    started = time.perf_counter()
    action()
    samples.append((time.perf_counter() - started) * 1000)


def index_rate(settings: KabarSettings, articles: list[EnrichedArticle], batch: int) -> float:
    backend = open_backend(settings)
    try:
        started = time.perf_counter()
        for start in range(0, len(articles), batch):
            outcomes = backend.upsert_many(articles[start:start + batch])
            assert all(outcome.changed for outcome in outcomes), "a fresh index takes every article"
        backend.refresh()
        elapsed = time.perf_counter() - started
        assert backend.count() == len(articles)
    finally:
        backend.close()
    return len(articles) / elapsed


def buffered_rate(settings: KabarSettings, articles: list[EnrichedArticle], threads: int) -> tuple[float, float]:
    """Docs/s through IndexBuffer with ``threads`` concurrent submitters, and the mean batch size."""
    backend = open_backend(settings)
    buffer = IndexBuffer(backend.upsert_many, max_batch=200, max_wait=0.05)
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(buffer.submit, articles))
        elapsed = time.perf_counter() - started
        assert all(outcome.changed for outcome in outcomes)
    finally:
        backend.close()
    return len(articles) / elapsed, buffer.stats.articles / max(1, buffer.stats.batches)


def env_for(settings: KabarSettings) -> dict[str, str]:
    env = support.environ_without_kabar()
    env.update({"KABAR_SEARCH_BACKEND": settings.search_backend_name, "KABAR_DATA_DIR": str(settings.data_dir),
                "KABAR_ELASTICSEARCH_URL": settings.elasticsearch_url, "KABAR_OPENSEARCH_URL": settings.opensearch_url,
                "KABAR_INDEX_ALIAS": settings.index_alias})
    return env


@contextmanager
def api_process(settings: KabarSettings) -> Iterator[str]:
    port = support.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kabar.api:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env_for(settings), cwd=ROOT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise support.GaveUp(f"the API did not start (exit status {process.returncode})")
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200

    try:
        support.wait_for(healthy, 60, "the API", 0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def get_ok(client: httpx.Client, params: dict[str, Any]) -> None:
    client.get("/search", params=params).raise_for_status()


def latencies(settings: KabarSettings, repeat: int) -> dict[str, tuple[float, float]]:
    """p50/p99 per mode: direct backend calls and the same searches over HTTP."""
    modes: dict[str, tuple[dict[str, str], SearchOptions]] = {"plain": ({}, SearchOptions()),
             "page": ({"facets": "true", "collapse": "true"}, SearchOptions(facets=True, collapse=True))}
    results = {}
    backend = open_backend(settings)
    try:
        with api_process(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
            for name, (params, options) in modes.items():
                direct: list[float] = []
                http: list[float] = []
                for _ in range(repeat):
                    for raw in QUERIES:
                        query = parse_query(raw)
                        timed(direct, partial(backend.search, query, raw, 20, options))
                        timed(http, partial(get_ok, client, {"q": raw, "limit": 20, **params}))
                results[f"{name} direct"] = (statistics.median(direct), percentile(direct, 0.99))
                results[f"{name} api"] = (statistics.median(http), percentile(http, 0.99))
    finally:
        backend.close()
    return results


def report(name: str, settings: KabarSettings, articles: list[EnrichedArticle], args: argparse.Namespace) -> None:
    print(f"\n== {name}: {len(articles)} articles")
    rate = index_rate(settings, articles, args.batch)
    print(f"index   bulk upsert_many (batches of {args.batch}): {rate:8.0f} docs/s")
    fresh = settings.model_copy(update={"data_dir": settings.data_dir / "buffered",
                                        "index_alias": "kabar-buffered"})  # not a prefix of the other
    buffered, mean_batch = buffered_rate(fresh, articles, args.threads)
    print(f"index   IndexBuffer, {args.threads} threads:           {buffered:8.0f} docs/s "
          f"(mean batch {mean_batch:.1f})")
    for mode, (p50, p99) in latencies(settings, args.repeat).items():
        print(f"query   {mode:12s} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=None, help="index only the first N articles")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the query list per mode")
    parser.add_argument("--backends", default="sqlite,elasticsearch,opensearch")
    parser.add_argument("--engine-url", default=None, help="a running engine (with one engine in --backends)")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: no corpus at {CORPUS} (shared/corpus beside the repository)")
        return 0
    articles = load_corpus(args.docs)
    wanted = set(args.backends.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        if "sqlite" in wanted:
            report("sqlite (FTS5)", KabarSettings(search_backend="sqlite", data_dir=data / "sqlite"), articles, args)
        for engine in [name for name in support.ENGINES if name in wanted]:
            with support.search_engine(engine, args.engine_url) as (url, _):
                engine_url: dict[str, Any] = {f"{engine}_url": url}  # elasticsearch_url or opensearch_url
                settings = KabarSettings(search_backend=engine, **engine_url, index_alias="kabar-bench",
                                         data_dir=data / engine)
                try:
                    report(engine, settings, articles, args)
                finally:  # a shared engine (--engine-url) keeps no index or template of this run
                    for alias in ("kabar-bench", "kabar-buffered"):
                        support.drop_indices(str(url), alias)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
