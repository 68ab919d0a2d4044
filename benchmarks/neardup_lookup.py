"""Near-duplicate lookup latency with a large index in Redis (target: p99 <= 2 ms at 1M fingerprints).

    python benchmarks/neardup_lookup.py                                  # 1,000,000 fingerprints, 5,000 queries
    python benchmarks/neardup_lookup.py --fingerprints 100000 --queries 2000

Starts a private ``redis-server`` (a free loopback port, a temporary directory, no persistence)
and stops it at the end. Fills it through ``RedisLinkStore.add_many`` (the store's own add
script, pipelined in batches) with the real fingerprints of half of ../shared/corpus/indosum.jsonl
(read in place, never copied) and synthetic ones for the rest, then prints Redis's memory per
fingerprint. Then times ``NearDuplicateIndex.link`` -- the call the enrich stage makes for every
article, lookup and add -- on a shuffled mix of near-copies of indexed articles (furniture added,
light edits, teasers: each should link to its original) and fresh texts (sentences of the
unindexed half, recombined: none should link), and prints p50/p95/p99/max in ms, the client's
CPU per call, the match rates, and whether p99 <= 2 ms. Latency is wall time, so a busy machine
shows in it: the load average and a bare PING's latency are printed alongside. Skips where the
corpus is absent. The fill runs at about 1,000-3,500 fingerprints a second on 2 cores, so 1M
takes 5 to 15 minutes depending on what else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

import numpy as np
import numpy.typing as npt
import redis
import support  # benchmarks/support.py

CORPUS = support.CORPUS
support.use_source_tree("src", "services/ingest", "services/enrich")

from kabar_enrich.fingerprint import Fingerprint, fingerprint  # noqa: E402
from kabar_enrich.neardup import NearDuplicateIndex, RedisLinkStore  # noqa: E402

NUM_PERM = 128  # KabarSettings.minhash_permutations
TARGET_P99_MS = 2.0
KEY_PREFIX = "kabar"
FURNITURE = ("Iklan - Scroll untuk Melanjutkan", "Baca juga: berita lain hari ini", "Simak video pilihan di bawah ini",
             "Jakarta, CNN Indonesia --")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Millis = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Query:
    article_id: str
    prints: Fingerprint
    original: str | None  # the indexed article it should link to; None for a fresh text


# ---------------------------------------------------------------- texts
def read_corpus() -> list[tuple[str, str]]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [(row["id"], row["text"]) for row in map(json.loads, lines)]


def near_copy(text: str, kind: int, rng: random.Random) -> str:
    """What syndication and aggregators do to an article: furniture, light edits, or a teaser."""
    paragraphs = text.split("\n\n")
    if kind == 0:
        return "\n\n".join([rng.choice(FURNITURE), *paragraphs, rng.choice(FURNITURE)])
    if kind == 1:  # about one word in 25 replaced: Jaccard of 3-word shingles ~0.8
        tokens = text.split(" ")
        for position in rng.sample(range(len(tokens)), k=len(tokens) // 25):
            tokens[position] = rng.choice(("juga", "pun", "tersebut", "itu", "kemudian"))
        return " ".join(tokens)
    return "\n\n".join(paragraphs[: max(1, (len(paragraphs) + 1) // 2)])


def fresh_text(sentences: list[str], rng: random.Random) -> str:
    """Sentences of unindexed articles, recombined: real-looking, and a duplicate of nothing."""
    return " ".join(rng.sample(sentences, k=15))


def make_queries(indexed: list[tuple[str, str]], unseen: list[tuple[str, str]], count: int,
                 rng: random.Random) -> list[Query]:
    sentences = [sentence for _, text in unseen for sentence in _SENTENCE_END.split(text) if len(sentence) > 40]
    queries = []
    for number in range(count):
        if number % 2:
            original, text = rng.choice(indexed)
            queries.append(Query(f"copy-{number}", fingerprint("", near_copy(text, number % 3, rng), NUM_PERM),
                                 original))
        else:
            queries.append(Query(f"fresh-{number}", fingerprint("", fresh_text(sentences, rng), NUM_PERM), None))
    rng.shuffle(queries)
    return queries


# ---------------------------------------------------------------- fill
def synthetic(rng: np.random.Generator) -> Fingerprint:
    # Random values: their band buckets are spread like those of unrelated real articles.
    values = rng.integers(0, 2**32, size=2 * NUM_PERM, dtype=np.uint32)
    return Fingerprint(values[:NUM_PERM], values[NUM_PERM:], int(rng.integers(100, 2000)))


def fill(url: str, total: int, real: list[tuple[str, Fingerprint]], batch: int, workers: int) -> None:
    """``total`` fingerprints, the real ones at random places among the synthetic ones.

    Several processes, so that building batches in Python overlaps with Redis running them.
    """
    placed = np.random.default_rng(7).choice(total, size=len(real), replace=False).tolist()
    real_at = dict(zip(placed, real, strict=True))
    client = redis.Redis.from_url(url)
    started = time.monotonic()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        parts = [pool.submit(fill_part, url, range(part, total, workers), real_at, batch) for part in range(workers)]
        while wait(parts, timeout=10).not_done:
            # Sequences are reserved a batch at a time, just before the batch is added.
            progress(int(client.get(f"{KEY_PREFIX}:lsh:sequence") or 0), total, time.monotonic() - started)
        for part in parts:
            part.result()
    progress(total, total, time.monotonic() - started)


def fill_part(url: str, numbers: range, real_at: dict[int, tuple[str, Fingerprint]], batch: int) -> None:
    store = RedisLinkStore(redis.Redis.from_url(url, socket_timeout=120), KEY_PREFIX)
    rng = np.random.default_rng(numbers.start)
    items: list[tuple[str, Fingerprint, str | None]] = []
    for number in numbers:
        article_id, prints = real_at.get(number) or (f"synthetic-{number:08d}", synthetic(rng))
        items.append((article_id, prints, None))
        if len(items) == batch:
            store.add_many(items)
            items = []
    store.add_many(items)


def progress(done: int, total: int, elapsed: float) -> None:
    rate = done / elapsed if elapsed else 0.0
    eta = (total - done) / rate if rate else 0.0
    print(f"  filled {done:>10,} / {total:,} ({100 * done / total:5.1f}%)  {rate:,.0f}/s  eta {eta:4.0f}s", flush=True)


def report_memory(client: redis.Redis[bytes], baseline: int, total: int) -> None:
    used = int(client.info("memory")["used_memory"]) - baseline
    keys = int(client.dbsize())
    print(f"redis memory: {used / 2**20:,.1f} MiB for {total:,} fingerprints = {used / total:,.0f} bytes each; "
          f"{keys:,} keys ({keys / total:.2f} per fingerprint)")
    sample = list(islice(client.scan_iter(match=f"{KEY_PREFIX}:lsh:b:*", count=1000), 500))
    pipe = client.pipeline(transaction=False)
    for key in sample:
        pipe.object("encoding", key)
        pipe.hlen(key)
    answers = pipe.execute()
    compact = sum(encoding == b"listpack" for encoding in answers[0::2])
    print(f"band hashes (sample of {len(sample)}): {compact} listpack, "
          f"{sum(answers[1::2]) / max(1, len(sample)):.1f} buckets each on average")


# ---------------------------------------------------------------- queries
def run_queries(index: NearDuplicateIndex, queries: list[Query]) -> tuple[Millis, Millis, list[str | None]]:
    wall, cpu, answers = [], [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        answers.append(index.link(query.article_id, query.prints))
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return np.array(wall) * 1000, np.array(cpu) * 1000, answers


def report_queries(queries: list[Query], wall: Millis, cpu: Millis, answers: list[str | None]) -> None:
    p50, p95, p99 = np.percentile(wall, [50, 95, 99])
    print(f"link() latency over {len(queries):,} queries: p50 {p50:.3f} ms  p95 {p95:.3f} ms  p99 {p99:.3f} ms  "
          f"max {wall.max():.3f} ms")
    print(f"client CPU per link(): p50 {np.percentile(cpu, 50):.3f} ms  p99 {np.percentile(cpu, 99):.3f} ms")
    copies = [(query, answer) for query, answer in zip(queries, answers, strict=True) if query.original]
    fresh = [answer for query, answer in zip(queries, answers, strict=True) if not query.original]
    matched = sum(answer == query.original for query, answer in copies)
    print(f"near-copies linked to their original: {matched:,} / {len(copies):,} ({100 * matched / len(copies):.1f}%)")
    linked = sum(answer is not None for answer in fresh)
    print(f"fresh texts linked to anything: {linked:,} / {len(fresh):,} ({100 * linked / len(fresh):.1f}%)")
    print(f"p99 <= {TARGET_P99_MS:g} ms: {'yes' if p99 <= TARGET_P99_MS else 'NO'}  "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


def report_ping(client: redis.Redis[bytes], count: int) -> None:
    """One bare round trip, for scale: on a busy machine, waiting for the CPU is most of the latency."""
    wall = []
    for _ in range(count):
        started = time.perf_counter()
        client.ping()
        wall.append(time.perf_counter() - started)
    p50, p99 = np.percentile(np.array(wall) * 1000, [50, 99])
    print(f"for scale, one PING round trip: p50 {p50:.3f} ms  p99 {p99:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fingerprints", type=int, default=1_000_000, help="how many to fill Redis with")
    parser.add_argument("--queries", type=int, default=5_000, help="how many link() calls to time")
    parser.add_argument("--batch", type=int, default=2_000, help="articles per pipelined add_many during the fill")
    parser.add_argument("--workers", type=int, default=2, help="processes filling Redis")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return
    rng = random.Random(11)
    articles = read_corpus()
    rng.shuffle(articles)
    indexed, unseen = articles[: len(articles) // 2], articles[len(articles) // 2:]
    if args.fingerprints < len(indexed):
        parser.error(f"--fingerprints must be at least {len(indexed)} (the indexed half of the corpus)")
    print(f"fingerprinting {len(indexed):,} corpus articles and {args.queries + 100:,} queries ...", flush=True)
    real = [(article_id, fingerprint("", text, NUM_PERM)) for article_id, text in indexed]
    queries = make_queries(indexed, unseen, args.queries + 100, rng)
    warmup, queries = queries[:100], queries[100:]
    with support.private_redis(args.redis_server) as url:
        client = redis.Redis.from_url(url)
        store = RedisLinkStore(client, KEY_PREFIX)
        baseline = int(client.info("memory")["used_memory"])
        print(f"filling a private redis-server with {args.fingerprints:,} fingerprints ({len(real):,} real) "
              f"in pipelined batches of {args.batch:,} by {args.workers} processes ...", flush=True)
        started = time.monotonic()
        fill(url, args.fingerprints, real, args.batch, args.workers)
        print(f"fill took {time.monotonic() - started:,.0f} s")
        report_memory(client, baseline, args.fingerprints)
        index = NearDuplicateIndex(store)  # the thresholds' defaults are KabarSettings' defaults
        run_queries(index, warmup)  # loads the scripts, warms the connection
        report_queries(queries, *run_queries(index, queries))
        report_ping(client, len(queries))


if __name__ == "__main__":
    main()
