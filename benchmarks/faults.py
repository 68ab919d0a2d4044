"""Fault injection with real processes: every article indexed exactly once, whatever breaks.

    python benchmarks/faults.py                                   # 10 trials of each scenario, 200 articles
    python benchmarks/faults.py --trials 3 --articles 100 --scenarios kill-enrich search-outage
    python benchmarks/faults.py --outage 60                       # the search server away 60 s (the default)
    python benchmarks/faults.py --backend opensearch              # elasticsearch (the default) or opensearch

Each trial builds its own stack on loopback, from real processes, and tears it down:
- a private ``redis-server`` on a free port with ``--appendonly yes --appendfsync always`` in
  a temporary directory (what docker-compose.yml runs), never the shared one on 6379;
- the search engine (``--backend``: real Elasticsearch or OpenSearch, started once for the whole
  run by ``scripts/engines.py``, or the one at ``--engine-url``) behind a small loopback TCP
  proxy, each trial with its own index alias;
- the three workers, started with the commands of docker-compose.yml
  (``kabar worker ingest|enrich|index``), one process each;
then queues a fifth of N articles with ``kabar ingest FILE.json`` (services mode), waits until
the first of them are searchable, sends the rest and injects one fault while they flow (for the
search outage, just before they are sent), waits until the pipeline is idle again and counts the
index by id. Sending in two parts makes sure the fault meets work in flight, however fast the
pipeline runs.

Scenarios:
- ``kill-enrich``, ``kill-index``: SIGKILL the whole worker (its parent and its pool process,
  as the kernel's OOM killer or a lost node would) while it holds a message, then start a
  new one (compose's restart policy). The message it held comes back once the dead worker's
  heartbeat key expires (``kabar.contract.liveness``: 20 s TTL, checked every 5 s), or after the
  visibility timeout, whichever is first.
- ``kill-enrich-defaults``: the same kill of the whole enrich worker with every timing setting
  as shipped (visibility timeout 3,600 s, in-flight ledger 120 s): what a production deployment
  gets. Only the batch size is smaller, so that the kill lands mid-batch.
- ``restart-redis``: SIGKILL ``redis-server`` (a crash, not a clean shutdown) and start it
  again on the same append-only file ``--redis-down`` seconds later.
- ``search-outage``: the search server unreachable for ``--outage`` seconds: the proxy in front
  of it stops (listening socket closed, open connections cut: connection refused, which is what
  a stopped engine looks like to its clients) and starts again. The engine itself keeps running,
  so the trial can count its index throughout. The SQLite backend would not do: it cannot be "down".

The table gives per scenario: trials, articles per trial, lost (never indexed), duplicated
(an id indexed twice, an unexpected id, or an article written twice), dead letters,
split batches (a batch whose worker died under it, sent on one article per message: at-least-once
delivery at work, made harmless by idempotent stages) and the recovery time (from the fault to
the last article indexed). Articles go as ``kabar ingest`` sends a folder, in batches (``KABAR_BATCH_SIZE``:
5 articles per message, so that a fault lands on work in flight).

Timing knobs the trials shorten, production defaults in brackets: in the kill and Redis
scenarios the visibility timeout is 15 s [3600 s], the restore sweep 1 s [10 s], the hand-off
timeout 10 s [120 s] and the retry cap 4 s [300 s]; in all of them the in-flight ledger
resends after 10 s [120 s], checking every 2 s [15 s]. The search-outage scenario keeps the
default retry budget (5 retries, 62-124 s of backoff): that is what rides out a 60 s outage.
A worker that exits on its own is started again, as compose's ``restart: unless-stopped``
does (the ``restarts`` column).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the tests load this file by its path
import support  # benchmarks/support.py
from support import (  # what the tests use of this harness, too
    CORPUS,
    ENGINES,
    ROOT,  # noqa: F401 - tests/test_faults_handoff.py reads faults.ROOT
    STAGES,
    Proc,
    RedisServer,
    TcpProxy,
    compose_worker_argv,
    free_port,
    kabar,
    pipeline_idle,
    search_engine,
    stop_all,  # noqa: F401 - tests/test_faults_handoff.py stops its workers with faults.stop_all
    wait_for,
)

SCENARIOS = ("kill-enrich", "kill-index", "kill-enrich-defaults", "restart-redis", "search-outage")
_RESENT = re.compile(r"re-sent (\d+) message\(s\) lost in transit")

FAST_RECOVERY = {  # kill and Redis scenarios: a held message comes back in 15 s, not an hour
    "KABAR_BROKER_VISIBILITY_TIMEOUT": "15", "KABAR_BROKER_RESTORE_INTERVAL": "1", "KABAR_HANDOFF_TIMEOUT": "10",
    "KABAR_TASK_RETRY_BACKOFF_MAX": "4", "KABAR_TASK_RETRY_BACKOFF_BASE": "1",
    "KABAR_INFLIGHT_TIMEOUT": "10", "KABAR_INFLIGHT_CHECK_INTERVAL": "2",
    # Smaller batches than the default 20: more messages in flight, so a fault lands on work held mid-batch.
    "KABAR_BATCH_SIZE": "5",
}
DEFAULTS = {  # kill-enrich-defaults: every timing setting as shipped (visibility timeout 3600 s, ledger 120 s)
    "KABAR_BATCH_SIZE": "5",
}
DEFAULT_RETRIES = {  # search outage: the production retry budget; only the sweeps are faster
    "KABAR_BROKER_VISIBILITY_TIMEOUT": "150", "KABAR_BROKER_RESTORE_INTERVAL": "1",
    "KABAR_INFLIGHT_TIMEOUT": "10", "KABAR_INFLIGHT_CHECK_INTERVAL": "2",
    "KABAR_BATCH_SIZE": "5",
}


@dataclass
class Stack:
    """Redis, the search engine behind a proxy, and the three workers of one trial.

    The engine (``engine_url``, running) is shared between trials: each stack has its own index
    alias on it, deleted when the stack stops.
    """

    workdir: Path
    tuning: dict[str, str]
    search_backend: str = "elasticsearch"
    engine_url: str | None = None
    redis_password: str | None = None
    redis_server: RedisServer = field(init=False)
    alias: str = field(init=False, default="kabar-articles")
    proxy: TcpProxy | None = field(init=False, default=None)
    workers: dict[str, Proc] = field(init=False, default_factory=dict)
    retired: list[Proc] = field(init=False, default_factory=list)
    env: dict[str, str] = field(init=False, default_factory=dict)
    restarts: list[str] = field(init=False, default_factory=list)  # workers that exited on their own
    _lock: threading.RLock = field(init=False, default_factory=threading.RLock)
    _stopping: threading.Event = field(init=False, default_factory=threading.Event)

    def start(self, stages: tuple[str, ...] = STAGES) -> None:
        self.redis_server = RedisServer(self.workdir / "redis", persistent=True, password=self.redis_password)
        self.redis_server.start()
        env = support.environ_without_kabar()
        env.update({
            "KABAR_MODE": "services", "KABAR_DATA_DIR": str(self.workdir / "data"),
            "KABAR_REDIS_URL": self.redis_server.url, "KABAR_WORKER_CONCURRENCY": "1", **self.tuning,
        })
        if self.search_backend in ENGINES:
            if self.engine_url is None:
                raise ValueError(f"the {self.search_backend} backend needs a running engine (engine_url)")
            self.alias = f"kabar-bench-{self.workdir.name.lower()}"
            self.proxy = TcpProxy(int(self.engine_url.rsplit(":", 1)[1]))
            self.proxy.start()
            env.update(support.engine_env(self.search_backend, self.proxy.url, self.alias))
        else:
            env["KABAR_SEARCH_BACKEND"] = "sqlite"
        self.env = env
        for stage in stages:
            self.start_worker(stage, wait=False)
        for stage in stages:
            self.wait_ready(stage)
        threading.Thread(target=self._supervise, daemon=True).start()

    def start_worker(self, stage: str, wait: bool = True) -> Proc:
        env = {**self.env, "KABAR_METRICS_PORT": str(free_port())}
        with self._lock:
            number = sum(1 for proc in self.retired if proc.name.startswith(stage)) + 1
            proc = Proc(f"{stage}-{number}", compose_worker_argv(stage), env,
                        self.workdir / f"{stage}-worker-{number}.log")
            self.workers[stage] = proc
        if wait:
            self.wait_ready(stage)
        return proc

    def _supervise(self) -> None:
        """compose's ``restart: unless-stopped``: a worker that exits on its own is started again."""
        while not self._stopping.wait(0.5):
            with self._lock:
                exited = [(stage, proc) for stage, proc in self.workers.items() if not proc.alive()]
                for stage, proc in exited:
                    self.workers.pop(stage)
                    self.retired.append(proc)
                    self.restarts.append(proc.name)
            for stage, _ in exited:
                if not self._stopping.is_set():
                    time.sleep(1.0)
                    self.start_worker(stage, wait=False)

    def wait_ready(self, stage: str) -> None:
        proc = self.workers[stage]
        wait_for(lambda: support.worker_ready(proc), 90, f"the {stage} worker")

    def kill_worker(self, stage: str) -> None:
        with self._lock:
            proc = self.workers.pop(stage)
            proc.kill()
            self.retired.append(proc)

    def client(self) -> redis.Redis[bytes]:
        return self.redis_server.client()

    def kabar(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return kabar(self.env, *args, timeout=timeout)

    def kabar_send(self, stage: str, payload: Any) -> None:
        """Put a raw payload on a stage's queue, as another producer could (no reader, no ledger)."""
        from celery import Celery  # noqa: PLC0415

        producer = Celery("kabar-faults", broker=self.redis_server.url)
        try:
            producer.send_task(f"kabar.{stage}", args=[payload], queue=stage)
        finally:
            producer.close()

    def ingest(self, path: Path) -> None:
        """``kabar ingest PATH`` in services mode: the documents go onto the ingest queue."""
        queued = self.kabar("ingest", str(path))
        if queued.returncode != 0:
            raise RuntimeError(f"kabar ingest failed: {queued.stderr[-2000:]}")

    def indexed(self) -> list[tuple[str, int]]:
        """(id, version) of every article in the index, read from the search server itself."""
        if self.search_backend not in ENGINES:
            return self._indexed_sqlite()
        httpx.post(f"{self.engine_url}/{self.alias}/_refresh", timeout=30)
        response = httpx.post(f"{self.engine_url}/{self.alias}/_search", timeout=60, json={
            "size": 10000, "query": {"match_all": {}}, "_source": ["id", "version"], "track_total_hits": True})
        if response.status_code == 404:
            return []
        response.raise_for_status()
        hits = response.json()["hits"]["hits"]
        return [(hit["_id"], int(hit["_source"].get("version", 1))) for hit in hits]

    def _indexed_sqlite(self) -> list[tuple[str, int]]:
        import sqlite3  # noqa: PLC0415

        path = self.workdir / "data" / "search.sqlite3"
        if not path.exists():
            return []
        with sqlite3.connect(path, timeout=30) as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
            version = "version" if "version" in columns else "1"
            return [(str(row[0]), int(row[1])) for row in db.execute(f"SELECT id, {version} FROM articles")]

    def pipeline_idle(self) -> bool:
        return pipeline_idle(self.client())

    def held_by(self, stage: str) -> int:
        """Messages of ``stage``'s queue that a worker has taken and not acknowledged."""
        held = 0
        for raw in self.client().hvals("unacked"):
            with suppress(ValueError, IndexError):
                if json.loads(raw)[2] == stage:
                    held += 1
        return held

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.client().hvals("kabar:deadletters")]

    def resent(self) -> int:
        """Messages the in-flight ledger found lost in transit and sent again."""
        with self._lock:
            procs = [*self.retired, *self.workers.values()]
        return sum(int(match) for proc in procs for match in _RESENT.findall(proc.log()))

    def split_batches(self) -> int:
        """Batches split after their worker died under them, across every worker log."""
        with self._lock:
            procs = [*self.retired, *self.workers.values()]
        return sum(proc.log().count("a worker died under a batch") for proc in procs)

    def logs(self, tail: int = 3000) -> str:
        with self._lock:
            procs = [*self.retired, *self.workers.values()]
        return "\n".join(f"==== {proc.name}\n{proc.log()[-tail:]}" for proc in procs)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            workers = list(self.workers.values())
        support.stop_all(workers)
        if self.proxy is not None:
            self.proxy.stop()
        if self.engine_url is not None and self.search_backend in ENGINES:  # this trial's indices only
            support.drop_indices(self.engine_url, self.alias)
        self.redis_server.stop()


@contextmanager
def running_stack(workdir: Path, tuning: dict[str, str], **options: Any) -> Iterator[Stack]:
    stack = Stack(workdir, tuning, **options)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def load_articles(count: int, tag: str, offset: int = 0) -> list[dict[str, Any]]:
    """``count`` articles, each with its own URL (so its own id): from the IndoSum corpus when it is
    there (read in place), made up otherwise."""
    records: list[dict[str, Any]] = []
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if number < offset:
                    continue
                record = json.loads(line)
                records.append({"title": support.corpus_title(record), "text": record["text"],
                                "published_at": record["date_from_id"]})
                if len(records) >= count:
                    break
    words = ["pemerintah", "kota", "warga", "jalan", "banjir", "harga", "pasar", "sekolah", "guru", "dokter", "rumah",
             "sakit", "desa", "pantai", "kapal", "pelabuhan", "petani", "beras", "listrik", "air", "jembatan"]
    while len(records) < count:
        n = len(records) + offset
        sentences = [f"Berita {n} bagian {part}: {' '.join(words[(n * 7 + part + k) % len(words)] for k in range(12))}."
                     for part in range(8)]
        records.append({"title": f"Berita uji nomor {n}", "text": " ".join(sentences),
                        "published_at": "2024-05-01T08:00:00Z"})
    return [{**record, "url": f"https://faults.kabar.test/{tag}/{number}"} for number, record in enumerate(records)]


def expected_ids(articles: list[dict[str, Any]]) -> set[str]:
    return {support.article_id(article["url"]) for article in articles}


@dataclass
class TrialResult:
    scenario: str
    articles: int
    indexed: int = 0
    lost: int = 0
    duplicated: int = 0
    dead_letters: int = 0
    split_batches: int = 0
    restarts: list[str] = field(default_factory=list)
    resent: int = 0
    indexed_at_fault: int = -1
    held_at_fault: int = 0
    fault_felt: bool = False
    recovery_s: float = float("nan")
    elapsed_s: float = 0.0
    error: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.lost == 0 and self.duplicated == 0 and self.dead_letters == 0


def run_trial(scenario: str, articles: int, workdir: Path, *, outage: float = 60.0, redis_down: float = 2.0,
              settle_timeout: float = 240.0, offset: int = 0, search_backend: str = "elasticsearch",
              engine_url: str | None = None) -> TrialResult:
    """One trial of ``scenario``; the stack is torn down before it returns."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}")
    started = time.monotonic()
    result = TrialResult(scenario, articles)
    batch = load_articles(articles, workdir.name, offset)
    wanted = expected_ids(batch)
    # Two sends: the first gets articles flowing, the second is sent as the fault strikes, so the fault always
    # meets work in flight however fast the pipeline is.
    first, rest = (_write_source(workdir / name, part)
                   for name, part in (("first.json", batch[:max(1, articles // 5)]),
                                      ("rest.json", batch[max(1, articles // 5):])))
    tuning = (DEFAULT_RETRIES if scenario == "search-outage" else DEFAULTS if scenario.endswith("-defaults")
              else FAST_RECOVERY)
    with running_stack(workdir, tuning, search_backend=search_backend, engine_url=engine_url) as stack:
        try:
            stack.ingest(first)
            fault_at = _inject(stack, scenario, result, lambda: stack.ingest(rest), outage=outage,
                               redis_down=redis_down)
            wait_for(lambda: len({doc_id for doc_id, _ in stack.indexed()} & wanted) == len(wanted),
                     settle_timeout, f"{len(wanted)} articles indexed")
            result.recovery_s = time.monotonic() - fault_at
            wait_for(stack.pipeline_idle, settle_timeout, "the queues to drain")
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}\n{stack.logs()}"
        _count(stack, result, wanted)
    result.elapsed_s = time.monotonic() - started
    return result


def _write_source(path: Path, articles: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps([{key: article[key] for key in ("url", "title", "text", "published_at")}
                                for article in articles], ensure_ascii=False))
    return path


def _inject(stack: Stack, scenario: str, result: TrialResult, send_rest: Callable[[], None], *, outage: float,
            redis_down: float) -> float:
    """Once the first articles are searchable, send the rest and break something while they are on their way;
    return when it broke (monotonic)."""
    def progress() -> int:
        return len(stack.indexed())

    wait_for(lambda: progress() > 0, 120, "the first articles searchable", 0.05)
    if scenario == "search-outage":
        assert stack.proxy is not None
        fault_at = time.monotonic()
        stack.proxy.stop()  # before the rest is sent: all of it meets the outage
        result.indexed_at_fault = progress()
        send_rest()
        time.sleep(max(0.0, outage - (time.monotonic() - fault_at)))
        stack.proxy.start()
        result.fault_felt = "retrying" in stack.logs(tail=10**7)
        return fault_at
    send_rest()
    if scenario == "restart-redis":
        fault_at = time.monotonic()
        result.held_at_fault = sum(stack.held_by(stage) for stage in STAGES)
        stack.redis_server.crash()
        time.sleep(redis_down)
        stack.redis_server.start()
        result.indexed_at_fault = progress()
        result.fault_felt = "Connection to broker lost" in stack.logs(tail=10**7)
        return fault_at
    stage = scenario.split("-")[1]
    for _ in range(3):  # a kill that lands between two messages proves nothing: kill again
        wait_for(lambda: stack.held_by(stage) > 0, 120, f"the {stage} worker holding a batch", 0.01)
        fault_at = time.monotonic()
        stack.kill_worker(stage)  # at once: reading the index first would give the worker time to finish
        result.held_at_fault = stack.held_by(stage)  # what the dead worker took and never acknowledged
        result.indexed_at_fault = progress()
        time.sleep(1.0)
        stack.start_worker(stage)
        if result.held_at_fault:
            break
    result.fault_felt = result.held_at_fault > 0
    return fault_at


def _count(stack: Stack, result: TrialResult, wanted: set[str]) -> None:
    try:
        docs = stack.indexed()
        ids = [doc_id for doc_id, _ in docs]
        distinct = set(ids)
        result.indexed = len(distinct & wanted)
        result.lost = len(wanted - distinct)
        rewritten = sum(1 for _, version in docs if version > 1)
        result.duplicated = (len(ids) - len(distinct)) + len(distinct - wanted) + rewritten
        letters = stack.dead_letters()
        result.dead_letters = len(letters)
        result.reasons = sorted({letter["reason"] for letter in letters})
        result.split_batches = stack.split_batches()
        result.restarts = list(stack.restarts)
        result.resent = stack.resent()
    except Exception as exc:
        result.error = (result.error or "") + f"\ncounting failed: {type(exc).__name__}: {exc}"


def print_table(results: list[TrialResult]) -> None:
    header = (f"{'scenario':15} {'trials':>6} {'articles':>8} {'lost':>5} {'dup':>4} {'dead':>5} {'failed':>6} "
              f"{'felt':>5} {'restarts':>8} {'resent':>6} {'split':>6} {'recovery s (median/max)':>24} "
              f"{'trial s':>8}")
    print(header)
    print("-" * len(header))
    for scenario in dict.fromkeys(result.scenario for result in results):
        rows = [result for result in results if result.scenario == scenario]
        recoveries = [row.recovery_s for row in rows if row.recovery_s == row.recovery_s]
        recovery = f"{statistics.median(recoveries):.1f} / {max(recoveries):.1f}" if recoveries else "-"
        print(f"{scenario:15} {len(rows):>6} {rows[0].articles:>8} {sum(r.lost for r in rows):>5} "
              f"{sum(r.duplicated for r in rows):>4} {sum(r.dead_letters for r in rows):>5} "
              f"{sum(1 for r in rows if r.error):>6} {sum(r.fault_felt for r in rows):>5} "
              f"{sum(len(r.restarts) for r in rows):>8} {sum(r.resent for r in rows):>6} "
              f"{sum(r.split_batches for r in rows):>6} {recovery:>24} "
              f"{statistics.mean(r.elapsed_s for r in rows):>8.1f}")
    print("lost, dup, dead: summed over the trials (all must be 0); failed: trials that errored or timed out;")
    print("felt: trials in which the fault hit work in flight; restarts: workers that exited on their own and were")
    print("started again (compose's restart policy); resent: messages lost in transit (taken off a queue by a")
    print("worker or Redis that died before recording them) found by the in-flight ledger and sent again;")
    print("split: batches sent on one article per message after a worker died under them, summed.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the search server is away")
    parser.add_argument("--redis-down", type=float, default=2.0, help="seconds between Redis' crash and restart")
    parser.add_argument("--keep", action="store_true", help="keep each trial's directory (logs) in /tmp")
    parser.add_argument("--backend", choices=ENGINES, default="elasticsearch", help="the search engine")
    parser.add_argument("--engine-url", help="a running engine of that kind (default: start one for the run)")
    args = parser.parse_args()
    with search_engine(args.backend, args.engine_url) as (url, _):
        results = run_trials(args, url)
    print()
    print_table(results)
    return 0 if all(result.ok for result in results) else 1


def run_trials(args: argparse.Namespace, engine_url: str | None) -> list[TrialResult]:
    results: list[TrialResult] = []
    for scenario in args.scenarios:
        for trial in range(args.trials):
            workdir = Path(tempfile.mkdtemp(prefix=f"kabar-faults-{scenario}-{trial}-"))
            result = run_trial(scenario, args.articles, workdir, outage=args.outage, redis_down=args.redis_down,
                               offset=trial * args.articles, search_backend=args.backend, engine_url=engine_url)
            results.append(result)
            status = "ok" if result.ok else f"FAILED: {(result.error or '').splitlines()[0] if result.error else ''}"
            print(f"# {scenario} trial {trial + 1}: indexed {result.indexed}/{result.articles}, lost {result.lost}, "
                  f"duplicated {result.duplicated}, dead letters {result.dead_letters}, held at fault "
                  f"{result.held_at_fault}, restarted {result.restarts or '-'}, resent {result.resent}, "
                  f"recovery {result.recovery_s:.1f} s, "
                  f"{result.elapsed_s:.0f} s: {status}",
                  flush=True)
            if result.reasons:
                print(f"#   dead-letter reasons: {result.reasons}", flush=True)
            if not args.keep and result.ok:
                subprocess.run(["rm", "-rf", str(workdir)], check=False)
            elif not result.ok:
                print(f"#   logs kept in {workdir}", flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
