"""Story assignment cost as the archive grows: 1,000, 100,000 and 1,000,000 stories.

    python benchmarks/story_lookup.py                          # Redis: 1k, 100k, 1M stories, 2,000 assigns each
    python benchmarks/story_lookup.py --store sqlite --sizes 1000 100000 --assigns 1000

Fills a private ``redis-server`` (or a SQLite file in a temporary directory) through the store's
own save path with synthetic stories, then times ``StoryGrouper.assign`` -- the call the enrich
stage makes for every article: the index lookup, scoring the candidates, the save -- for real
corpus articles at each size, and prints p50/p95/p99 wall ms and the client's CPU ms per assign.

The synthetic stories are made from the real articles of ../shared/corpus (read in place): each
keeps about half of a real article's terms and takes the rest from the vocabulary, drawn by
document frequency, so posting lists are as long as real words make them; their last dates are
spread over the year before the assigned articles' dates, so a window of 7 days holds ~2 % of
them (~20,000 stories at 1M). Wall time includes whatever else the machine runs; the load
average is printed. Skips where the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import redis
import support  # benchmarks/support.py

ROOT, CORPUS = support.ROOT, support.CORPUS
support.use_source_tree("src", "services/ingest", "services/enrich")

from kabar.contract.messages import Article  # noqa: E402
from kabar.contract.settings import KabarSettings  # noqa: E402
from kabar_enrich.stage import build_enricher  # noqa: E402
from kabar_enrich.stories import Story, StoryGrouper, StoryStore  # noqa: E402
from kabar_enrich.story_features import StoryFeatures, Vector, default_vectorizer, normalise  # noqa: E402
from kabar_enrich.story_store import RedisStoryStore, SqliteStoryStore  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPREAD_DAYS = 365
KEY_PREFIX = "kabar"
WINDOW = timedelta(days=7)


def corpus_features(limit: int | None) -> list[StoryFeatures]:
    """Real articles as the grouper sees them (entities from the enrich stage), dated in the last day before NOW."""
    enricher = build_enricher(KabarSettings(mode="embedded"), sqlite_path=Path(":memory:"))
    vectorizer = default_vectorizer()
    rng = random.Random(3)
    found = []
    with CORPUS.open(encoding="utf-8") as lines:
        for row in [json.loads(line) for line in lines][:limit]:
            text = row["text"]
            article = Article(id=row["id"], title="", text=text, content_hash=row["id"], received_at=NOW)
            names = [entity.canonical for entity in enricher.enrich(article).entities]
            found.append(vectorizer.features("", text, names, NOW - timedelta(hours=rng.uniform(0, 24)), NOW))
    return found


class SyntheticStories:
    """Stories that look like real ones to the index: half a real article's terms, half vocabulary words."""

    def __init__(self, real: list[StoryFeatures]) -> None:
        table = json.loads((ROOT / "services/enrich/kabar_enrich/models/idf.json").read_text(encoding="utf-8"))
        counts = np.array(list(table["df"].values()), dtype=np.float64)
        # Words drawn ahead, by document frequency: a story takes a slice at a random place.
        self._drawn = [str(word) for word in np.random.default_rng(5).choice(
            np.array(list(table["df"]), dtype=object), size=1 << 20, p=counts / counts.sum())]
        self._real = real

    def story(self, number: int, rng: random.Random) -> Story:
        base = rng.choice(self._real)
        start = rng.randrange(len(self._drawn) - 128)
        pool = self._drawn[start:start + 128]
        article = StoryFeatures(body=self._mix(base.body, pool, rng), lead=self._mix(base.lead, pool, rng),
                                names=self._mix(base.names, pool, rng),
                                moment=NOW - timedelta(days=rng.uniform(1, SPREAD_DAYS)))
        story = Story(story_id=f"synthetic-{number:08d}")
        story.absorb(article)
        return story

    @staticmethod
    def _mix(vector: Vector, pool: list[str], rng: random.Random) -> Vector:
        return normalise({(term if rng.random() < 0.5 else pool.pop()): weight for term, weight in vector.items()})


Fillable = RedisStoryStore | SqliteStoryStore


def fill(store: Fillable, synthetic: SyntheticStories, start: int, stop: int, batch: int = 2000) -> None:
    rng = random.Random(start)
    started = time.monotonic()
    for first in range(start, stop, batch):
        stories = [synthetic.story(number, rng) for number in range(first, min(first + batch, stop))]
        store.save_many([(story, story.story_id) for story in stories])
        done = min(first + batch, stop)
        if (done - start) % 100_000 < batch or done == stop:
            rate = (done - start) / (time.monotonic() - started)
            print(f"  filled {done:>10,} stories ({rate:,.0f}/s)", flush=True)


def measure(store: StoryStore, queries: list[StoryFeatures], size: int) -> dict[str, Any]:
    grouper = StoryGrouper(store, 0.5, WINDOW)
    walls, cpus, joined = [], [], 0
    for number, features in enumerate(queries):
        article_id = f"query-{size}-{number}"
        cpu, wall = time.process_time(), time.perf_counter()
        story = grouper.assign(article_id, features, None)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        joined += story != article_id
    cuts = statistics.quantiles(walls, n=100)
    return {"stories": size, "assigns": len(queries), "p50_ms": round(statistics.median(walls), 3),
            "p95_ms": round(cuts[94], 3), "p99_ms": round(cuts[98], 3), "cpu_ms": round(statistics.mean(cpus), 3),
            "joined_share": round(joined / len(queries), 3), "load_average": round(os.getloadavg()[0], 2)}


def redis_figures(client: redis.Redis[bytes]) -> dict[str, float]:
    """Redis's memory, and its own CPU per script call (the lookup and save scripts, since the last reset)."""
    stats = client.info("commandstats")
    calls = stats.get("cmdstat_evalsha", {})
    client.config_resetstat()
    return {"redis_mib": round(int(client.info("memory")["used_memory"]) / 2**20, 1),
            "redis_usec_per_script_call": round(float(calls.get("usec_per_call", 0.0)), 1)}


@contextmanager
def open_store(kind: str) -> Iterator[tuple[Fillable, Any]]:
    if kind == "redis":
        binary = os.environ.get("REDIS_SERVER", "redis-server")
        with support.private_redis(binary) as url:
            client = redis.Redis.from_url(url)
            yield RedisStoryStore(client, KEY_PREFIX), client
        return
    with tempfile.TemporaryDirectory(prefix="story-lookup-") as folder:
        yield SqliteStoryStore(Path(folder) / "state.db"), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("redis", "sqlite"), default="redis")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--assigns", type=int, default=2000)
    parser.add_argument("--corpus-limit", type=int, default=None, help="real articles to draw from")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return
    real = corpus_features(args.corpus_limit)
    synthetic = SyntheticStories(real)
    results = []
    with open_store(args.store) as (store, client):
        filled = 0
        for size in sorted(args.sizes):
            fill(store, synthetic, filled, size)
            filled = size
            queries = random.Random(size).choices(real, k=args.assigns)
            if client is not None:
                client.config_resetstat()
            result = measure(store, queries, size)
            if client is not None:
                result.update(redis_figures(client))
            results.append(result)
            print(json.dumps(result), flush=True)
            filled += args.assigns  # the assigned articles are stories too (new or joined)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
