"""Load: N articles through the services (real Redis, the compose workers, a real search engine), with
throughput, worker memory over time and loss.

    python benchmarks/load.py                                  # 100,000 articles (hours on a laptop)
    python benchmarks/load.py --articles 5000                  # a shorter run
    python benchmarks/load.py --articles 100000 --enrich-concurrency 4 --sample 30
    python benchmarks/load.py --search opensearch              # elasticsearch (default), opensearch or sqlite

Articles: ../shared/corpus/indosum.jsonl (3,463 Indonesian news articles, read in place, never
copied), repeated under new ids: copy k of an article gets its own URL and a last line naming
the copy, so its id and content hash are new (no exact-repeat skips); the near-duplicate stage
does see copies, as it would see syndicated news. Documents are queued the way ``kabar ingest``
queues a folder (``kabar.contract.queues.enqueue_many``, ``--batch-size`` articles per
message), keeping the articles waiting in all queues together under ``--max-backlog``, so the
producer, not Redis' memory, absorbs the difference in speed.

Stack: a private redis-server on a free loopback port (``--appendonly yes``, fsync every second,
as docker-compose.yml runs it), the search engine (``--search``: real Elasticsearch or OpenSearch,
started for the run by scripts/engines.py or the one at ``--engine-url``; ``sqlite`` for the SQLite
backend), and one worker per stage started with the commands of docker-compose.yml.

Prints a table of samples over time (articles queued and indexed, queue depths, the resident
memory of each worker, its pool processes included, and of Redis), then throughput, memory
growth from the first to the last quarter of the run (bounded memory: small), and loss: the
articles never indexed (must be 0), counted by id, and the dead letters (must be 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # benchmarks/support.py

CORPUS = support.CORPUS
STAGES = support.STAGES


@dataclass
class Sample:
    elapsed: float
    queued: int
    indexed: int
    depths: dict[str, int]
    rss_mb: dict[str, float]
    redis_mb: float


@dataclass
class Run:
    articles: int
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0
    queued_at: float = 0.0
    finished_at: float = 0.0


def documents(count: int, tag: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, document fields) for ``count`` articles: the corpus again and again, each copy new."""
    if not CORPUS.exists():
        raise SystemExit(f"corpus not found: {CORPUS}")
    for fields in support.corpus_copies(0, count, "load.kabar.test", tag):
        yield fields["url"], fields


class LoadStack:
    def __init__(self, workdir: Path, search: str, enrich_concurrency: int,
                 extra_env: dict[str, str] | None = None, engine_url: str | None = None) -> None:
        self.workdir = workdir
        self.extra_env = dict(extra_env or {})  # more KABAR_* settings for the workers (benchmarks/pipeline.py)
        self.search = search
        self.engine_url = engine_url if search in support.ENGINES else None  # a running engine, shared
        self.alias = f"kabar-load-{workdir.name.lower()}"  # this run's indices on it
        # AOF as compose runs it (appendonly yes, fsync every second), not the fault trials' fsync always.
        self.redis = support.RedisServer(workdir / "redis", persistent=True, fsync="everysec")
        self.workers: dict[str, support.Proc] = {}
        self.enrich_concurrency = enrich_concurrency
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.redis.start()
        env = support.environ_without_kabar()
        env.update({"KABAR_MODE": "services", "KABAR_DATA_DIR": str(self.workdir / "data"),
                    "KABAR_REDIS_URL": self.redis.url, "KABAR_LOG_LEVEL": "WARNING"})
        if self.engine_url is not None:
            env.update(support.engine_env(self.search, self.engine_url, self.alias))
        elif self.search in support.ENGINES:
            raise ValueError(f"the {self.search} backend needs a running engine (engine_url)")
        else:
            env["KABAR_SEARCH_BACKEND"] = "sqlite"
        env.update(self.extra_env)
        self.env = env
        for stage in STAGES:
            worker_env = {**env, "KABAR_METRICS_PORT": str(support.free_port())}
            if stage == "enrich":
                worker_env["KABAR_WORKER_CONCURRENCY"] = str(self.enrich_concurrency)
            self.workers[stage] = support.Proc(stage, support.compose_worker_argv(stage), worker_env,
                                               self.workdir / f"{stage}-worker.log")
        for stage, proc in self.workers.items():
            support.wait_for(partial(support.worker_ready, proc), 120, f"the {stage} worker")

    def indexed(self) -> int:
        if self.engine_url is not None:
            response = httpx.get(f"{self.engine_url}/{self.alias}/_count", timeout=60)
            return int(response.json().get("count", 0)) if response.status_code == 200 else 0
        import sqlite3  # noqa: PLC0415

        path = self.workdir / "data" / "search.sqlite3"
        if not path.exists():
            return 0
        with sqlite3.connect(path, timeout=30) as db:
            return int(db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def found(self, ids: list[str]) -> int:
        """How many of ``ids`` are in the index (asked in chunks, by id)."""
        found = 0
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            if self.engine_url is not None:
                httpx.post(f"{self.engine_url}/{self.alias}/_refresh", timeout=60)
                response = httpx.post(f"{self.engine_url}/{self.alias}/_search", timeout=120, json={
                    "size": 0, "track_total_hits": True, "query": {"ids": {"values": chunk}}})
                found += int(response.json()["hits"]["total"]["value"])
            else:
                import sqlite3  # noqa: PLC0415

                with sqlite3.connect(self.workdir / "data" / "search.sqlite3", timeout=30) as db:
                    marks = ",".join("?" * len(chunk))
                    found += int(db.execute(f"SELECT COUNT(*) FROM articles WHERE id IN ({marks})", chunk)
                                 .fetchone()[0])
        return found

    def sample(self, elapsed: float, queued: int) -> Sample:
        client = self.redis.client()
        depths = support.queue_depths(client)
        procs = support.read_procs()
        rss = {stage: support.tree_rss_mb(proc.popen.pid, procs) for stage, proc in self.workers.items()}
        redis_mb = int(client.info("memory")["used_memory"]) / 1e6
        return Sample(elapsed, queued, self.indexed(), depths, rss, redis_mb)

    def backlog(self) -> int:
        """Messages waiting in all the queues: what the producer keeps under --max-backlog."""
        return sum(support.queue_depths(self.redis.client()).values())

    def idle(self) -> bool:
        return support.pipeline_idle(self.redis.client())

    def stop(self) -> None:
        support.stop_all(self.workers.values())
        if self.engine_url is not None:  # this run's indices only
            support.drop_indices(self.engine_url, self.alias)
        self.redis.stop()


def run(args: argparse.Namespace, workdir: Path) -> int:
    with support.search_engine(args.search, args.engine_url) as (url, _):
        return run_on(args, workdir, url)


def run_on(args: argparse.Namespace, workdir: Path, engine_url: str | None) -> int:
    stack = LoadStack(workdir, args.search, args.enrich_concurrency, engine_url=engine_url)
    stack.start()
    os.environ.update(stack.env)  # the producer queues exactly as `kabar ingest` does, to this stack
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar.contract.queues import enqueue_many  # noqa: PLC0415 - reads the environment just set

    result = Run(args.articles)
    expected: list[str] = []
    pending: list[RawDocument] = []
    client = stack.redis.client()
    result.started = time.monotonic()
    next_sample = result.started
    deadline = result.started + args.timeout
    try:
        for url, fields in documents(args.articles, workdir.name):
            while stack.backlog() * args.batch_size >= args.max_backlog:  # messages carry up to a batch each
                time.sleep(0.1)
                next_sample = _maybe_sample(stack, result, next_sample, args.sample, len(expected))
                _check(deadline)
            pending.append(RawDocument(source="load", format="text", **fields))
            expected.append(support.article_id(url))
            if len(pending) == args.batch_size:
                enqueue_many("ingest", pending, args.batch_size)
                pending = []
            next_sample = _maybe_sample(stack, result, next_sample, args.sample, len(expected))
        if pending:
            enqueue_many("ingest", pending, args.batch_size)
        result.queued_at = time.monotonic()
        while not (stack.indexed() >= args.articles and stack.idle()):
            _check(deadline)
            time.sleep(1)
            next_sample = _maybe_sample(stack, result, next_sample, args.sample, len(expected))
        result.finished_at = time.monotonic()
        result.samples.append(stack.sample(result.finished_at - result.started, len(expected)))
        found = stack.found(expected)
        dead = int(client.hlen("kabar:deadletters"))
        total = stack.indexed()
    except TimeoutError as exc:
        print(f"# {exc}; counting what got through")
        result.finished_at = time.monotonic()
        found, dead, total = stack.found(expected), int(client.hlen("kabar:deadletters")), stack.indexed()
    finally:
        stack.stop()
    return report(args, result, found=found, dead=dead, total=total, queued=len(expected))


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError("the run took longer than --timeout")


def _maybe_sample(stack: LoadStack, result: Run, due: float, every: float, queued: int) -> float:
    now = time.monotonic()
    if now < due:
        return due
    sample = stack.sample(now - result.started, queued)
    result.samples.append(sample)
    rss = " ".join(f"{stage}={mb:.0f}MB" for stage, mb in sample.rss_mb.items())
    print(f"# t={sample.elapsed:6.0f}s queued={queued} indexed={sample.indexed} depths={sample.depths} {rss} "
          f"redis={sample.redis_mb:.0f}MB", flush=True)
    return now + every


def report(args: argparse.Namespace, result: Run, *, found: int, dead: int, total: int, queued: int) -> int:
    samples = result.samples
    print()
    print(f"{'t (s)':>7} {'queued':>8} {'indexed':>8} {'ingest q':>8} {'enrich q':>8} {'index q':>8} "
          f"{'ingest MB':>9} {'enrich MB':>9} {'index MB':>9} {'redis MB':>8}")
    step = max(1, len(samples) // 20)
    shown = samples[::step]
    if shown[-1] is not samples[-1]:
        shown.append(samples[-1])
    for sample in shown:
        print(f"{sample.elapsed:7.0f} {sample.queued:8d} {sample.indexed:8d} {sample.depths['ingest']:8d} "
              f"{sample.depths['enrich']:8d} {sample.depths['index']:8d} {sample.rss_mb['ingest']:9.0f} "
              f"{sample.rss_mb['enrich']:9.0f} {sample.rss_mb['index']:9.0f} {sample.redis_mb:8.0f}")
    elapsed = result.finished_at - result.started
    print()
    print(f"articles: {args.articles} queued {queued}, indexed (by id) {found}, documents in the index {total}")
    print(f"lost: {queued - found}   dead letters: {dead}")
    print(f"throughput: {found / elapsed:.1f} articles/s end to end ({elapsed:.0f} s from the first queued "
          f"to the last indexed)")
    # Memory once warm (models loaded, 10% of the articles through) against the end of the run.
    warm = [sample for sample in samples if sample.indexed >= args.articles // 10]
    half = [sample for sample in samples if sample.indexed >= args.articles // 2]
    if warm and half:
        for stage in STAGES:
            at_warm, at_half, at_end = warm[0].rss_mb[stage], half[0].rss_mb[stage], samples[-1].rss_mb[stage]
            peak = max(sample.rss_mb[stage] for sample in samples)
            print(f"{stage} worker RSS: {at_warm:.0f} MB at 10% indexed, {at_half:.0f} MB at 50%, {at_end:.0f} MB at "
                  f"the end ({at_end - at_warm:+.0f} MB since 10%), peak {peak:.0f} MB")
    return 0 if queued == args.articles and found == queued and dead == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--search", choices=(*support.ENGINES, "sqlite"), default="elasticsearch",
                        help="a real engine (started for the run) or the SQLite backend")
    parser.add_argument("--engine-url", help="a running engine of that kind (default: start one for the run)")
    parser.add_argument("--enrich-concurrency", type=int, default=2, help="enrich pool processes")
    parser.add_argument("--max-backlog", type=int, default=2000,
                        help="most articles waiting in the queues, all stages together")
    parser.add_argument("--batch-size", type=int, default=20,
                        help="articles per queue message, as `kabar ingest` sends a folder (KABAR_BATCH_SIZE)")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--timeout", type=float, default=24 * 3600.0, help="give up after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs) in /tmp")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kabar-load-"))
    try:
        return run(args, workdir)
    finally:
        if not args.keep:
            import shutil  # noqa: PLC0415

            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"# logs in {workdir}")


if __name__ == "__main__":
    sys.exit(main())
