"""Throughput of the whole pipeline on real services, its latency at half the peak rate, and its
efficiency against an in-process enrich-only loop over the same articles.

    .venv/bin/python benchmarks/pipeline.py                                  # 20,000 articles, every backend
    .venv/bin/python benchmarks/pipeline.py --json pipeline.json             # the same, figures also as JSON
    .venv/bin/python benchmarks/pipeline.py --articles 600 --latency-seconds 15 --loop-articles 200  # smoke run
    .venv/bin/python benchmarks/pipeline.py --backend elasticsearch --skip-latency --scale 1 2 4   # for the docs
    .venv/bin/python benchmarks/pipeline.py --backend opensearch --engine-url http://127.0.0.1:9201  # a running one
    .venv/bin/python benchmarks/pipeline.py --latency-rate 50                # the latency phase at 50 articles/s
    .venv/bin/python benchmarks/pipeline.py --batch-size 1                   # one article per queue message

Articles: ../shared/corpus/indosum.jsonl (3,463 Indonesian news articles, read in place), repeated
to --articles under new ids: article k of copy c gets its own URL and, from the second copy on, a
last line naming the copy, so its id and content hash are new (as benchmarks/load.py does).
Skips (exit 0) where the corpus is absent.

Parts, one after the other, each in its own process (its own ``KABAR_*`` environment):

1. services (``--backend elasticsearch`` or ``opensearch``; ``all`` runs each): the stack of
   benchmarks/load.py on loopback — a private redis-server (append-only, fsync every second, as
   docker-compose.yml runs it), the real engine (started for the part by scripts/engines.py, 512 MB
   heap, on the same cores; or the one at --engine-url, whose CPU is then not counted) and one
   worker per stage started with the commands of docker-compose.yml, the enrich pool with
   --enrich-workers processes. A few warm-up
   articles first (models load in each pool process on its first message), then:
   - peak: every article queued as fast as the pipeline takes it (``enqueue_many``, --batch-size
     articles per message, as ``kabar ingest`` queues a folder), at most --max-backlog articles
     waiting in all queues together. The
     articles in the index are counted (``_count``) every 0.5 s (every second above 5,000 articles);
     sustained articles/s is the rate between 10 % and 90 % of them indexed, overall articles/s from
     the first queued to the last indexed. CPU: user + system seconds of each worker's process tree
     (parent and pool processes), of Redis and of the engine, from /proc, from the end of the
     warm-up to the last article indexed, per article; also per half of the steady part (a cost
     that grows with the index shows there). Memory, sampled every second: the largest RSS per
     process and per tree, and the tree's PSS (pool processes share their parent's pages). The
     index worker's bulk writes (count, size, slowest) are read from its log;
   - latency: --latency-seconds at half the sustained peak rate (or --latency-rate), paced evenly.
     An article's clock starts on its turn (its arrival) and stops at the first ``ids`` search that
     finds it (asked every 100 ms for every article not found yet). Each article is queued alone
     as it arrives, as a push or a feed entry is: batches only form where there is a backlog. The
     table also gives the time from the message being queued. The index stage never refreshes: an
     article is searchable once the server's refresh has run: up to its refresh interval (1 s by
     default) after the write.
2. embedded (``--backend embedded``): ``InlinePipeline`` in one process (as ``kabar ingest`` runs it
   in the embedded mode), SQLite state and search index in a temporary data directory, over the same
   articles: articles/s, CPU and wall time per stage (each stage handler timed), per-article time
   (what an article waits for before it is searchable), the process' peak RSS.
3. enrich-only loop: the enricher the enrich stage builds (``build_enricher``, SQLite state in a
   temporary directory) over the first --loop-articles articles, already cleaned by ingest's
   ``build_article``, in one process: articles/s and ms per article. Efficiency = the pipeline's
   articles/s / the loop's articles/s; per core, the loop's CPU per article / the enrich worker's.

--scale N [N ...] then runs the services' peak phase again on a fresh stack for each enrich pool
size N (how throughput scales with the number of worker processes).

Prints markdown tables (and writes JSON with --json PATH) with the machine, the command and the date.
Everything listens on loopback only; every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faults  # the shared harness (benchmarks/faults.py)
import load  # the load stack (benchmarks/load.py)

if TYPE_CHECKING:
    from pydantic import BaseModel

CORPUS = faults.CORPUS
STAGES = faults.STAGES
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
WARMUP_START = 1_000_000  # article numbers of the warm-up articles (numbers decide the copy, so the content)
TARGET_RATE, TARGET_P99 = 50.0, 2.0  # the requirement: p99 <= 2 s at 50 articles/s
_BULK_WRITE = re.compile(r"index batch of \d+ article\(s\) written in (\d+) ms")
_BULK_SIZE = re.compile(r"index batch of (\d+) article\(s\) written in")

Result = dict[str, Any]


# ---- articles -------------------------------------------------------------------------------------------------

def corpus_records() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def documents(start: int, count: int, tag: str) -> Iterator[dict[str, Any]]:
    """RawDocument fields of articles number ``start`` to ``start + count``: the corpus again and again,
    copy c of an article with its own URL and a last line naming the copy (from copy 1 on)."""
    records = corpus_records()
    for number in range(start, start + count):
        record = records[number % len(records)]
        copy = number // len(records)
        url = f"https://pipeline.kabar.test/{tag}/{number}"
        title = record["id"].split("-", 1)[-1].replace("-", " ").capitalize() + (f" ({copy})" if copy else "")
        text = record["text"] + (f"\n\nSalinan {copy} dari arsip {tag}." if copy else "")
        yield {"source": "pipeline-benchmark", "format": "text", "url": url, "title": title, "content": text,
               "published_at": record["date_from_id"]}


def article_id(url: str) -> str:
    from kabar_ingest.identity import article_id as make_id  # noqa: PLC0415 - no settings involved
    from kabar_ingest.identity import canonical_url  # noqa: PLC0415

    return make_id(canonical_url(url), "")


def chunks(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---- processes: CPU and memory from /proc ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProcInfo:
    ppid: int
    cpu: float  # user + system seconds of the process itself (all its threads)
    reaped_cpu: float  # of its children that have exited and been waited for
    rss_mb: float


def read_procs() -> dict[int, ProcInfo]:
    procs: dict[int, ProcInfo] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks = [int(value) for value in fields[11:15]]  # utime stime cutime cstime
        procs[int(entry.name)] = ProcInfo(int(fields[1]), (ticks[0] + ticks[1]) / CLK_TCK,
                                          (ticks[2] + ticks[3]) / CLK_TCK, int(fields[21]) * PAGE_MB)
    return procs


def descendants(root: int, procs: dict[int, ProcInfo]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, info in procs.items():
        children.setdefault(info.ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def tree_cpu(root: int, procs: dict[int, ProcInfo]) -> float:
    """CPU seconds of a process tree: the live processes', plus the root's exited children's."""
    pids = descendants(root, procs)
    return sum(procs[pid].cpu for pid in pids) + (procs[root].reaped_cpu if root in procs else 0.0)


def system_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def pss_mb(pid: int) -> float:
    """Proportional set size: the process' resident memory, pages shared with others divided among them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


@dataclass
class Memory:
    """The largest memory seen: of the whole tree (RSS summed, and PSS summed: a prefork pool shares its
    parent's pages, which RSS counts in every process), of its root process and of any one child (RSS)."""

    tree_mb: float = 0.0
    tree_pss_mb: float = 0.0
    parent_mb: float = 0.0
    child_mb: float = 0.0
    processes: int = 0

    def see(self, root: int, procs: dict[int, ProcInfo]) -> None:
        pids = descendants(root, procs)
        self.tree_mb = max(self.tree_mb, sum(procs[pid].rss_mb for pid in pids))
        self.tree_pss_mb = max(self.tree_pss_mb, sum(pss_mb(pid) for pid in pids))
        self.parent_mb = max(self.parent_mb, procs[root].rss_mb if root in procs else 0.0)
        self.child_mb = max([self.child_mb, *(procs[pid].rss_mb for pid in pids if pid != root)])
        self.processes = max(self.processes, len(pids))


class Background:
    """A daemon thread running ``_run`` for the length of a ``with`` block; ``_run`` watches ``_stop``."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        raise NotImplementedError


class Monitor(Background):
    """Every ``interval`` seconds: the articles in the index; every second: the RSS and CPU of each tree."""

    def __init__(self, roots: dict[str, int], count: Callable[[], int], ingested: Callable[[], int],
                 interval: float = 0.5) -> None:
        self.roots = roots
        self.count = count
        self.ingested = ingested  # articles through ingest: it runs ahead of the others by the backlog
        self.interval = interval
        self.memory = {name: Memory() for name in roots}
        self.counts: list[tuple[float, int]] = []  # (monotonic, articles in the index)
        self.cpu_samples: list[tuple[int, int, dict[str, float]]] = []  # (indexed, ingested, CPU s of each tree)
        super().__init__("monitor")
        self._last_rss = 0.0

    def latest(self) -> int:
        return self.counts[-1][1] if self.counts else 0

    def cpu(self) -> dict[str, tuple[float, float]]:
        """CPU seconds so far of each tree, and of its root process alone."""
        procs = read_procs()
        return {name: (tree_cpu(root, procs), procs[root].cpu if root in procs else 0.0)
                for name, root in self.roots.items()}

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(Exception):  # the server busy for a moment: the next round counts
                self.counts.append((time.monotonic(), self.count()))
            if time.monotonic() - self._last_rss >= 1.0:
                self._last_rss = time.monotonic()
                procs = read_procs()
                for name, root in self.roots.items():
                    self.memory[name].see(root, procs)
                self.record_cpu(procs)
            self._stop.wait(self.interval)

    def record_cpu(self, procs: dict[int, ProcInfo] | None = None) -> None:
        procs = procs or read_procs()
        with suppress(Exception):
            cpu = {name: tree_cpu(root, procs) for name, root in self.roots.items()}
            self.cpu_samples.append((self.latest(), self.ingested(), cpu))

    def cpu_per_article(self, articles: int, low: float, high: float) -> dict[str, float]:
        """CPU ms per article of each tree while the index went from ``low`` to ``high`` of ``articles``
        (ingest's per article it ingested meanwhile)."""
        start = next((sample for sample in self.cpu_samples if sample[0] >= low * articles), None)
        end = next((sample for sample in self.cpu_samples if sample[0] >= high * articles), None)
        if start is None or end is None or end[0] <= start[0]:
            return {}
        indexed, ingested = end[0] - start[0], end[1] - start[1]
        per = {name: 1000 * (end[2][name] - start[2][name]) / (ingested if name == "ingest" else indexed)
               for name in end[2] if name != "ingest" or ingested > 0}  # ingest may have finished early
        return {**per, "pipeline": sum(per.values())} if "ingest" in per else per


# ---- services: the peak and the latency phases ---------------------------------------------------------------

def crossing(counts: Sequence[tuple[float, int]], level: float) -> float | None:
    """When the count first reached ``level`` (linear between two samples)."""
    previous: tuple[float, int] | None = None
    for when, count in counts:
        if count >= level:
            if previous is None or count == previous[1]:
                return when
            before, count_before = previous
            return before + (when - before) * (level - count_before) / (count - count_before)
        previous = (when, count)
    return None


class Sender:
    """Queues RawDocuments on the ingest queue the way ``kabar ingest`` does: ``batch_size`` per message."""

    def __init__(self, batch_size: int) -> None:
        from kabar.contract import queues  # noqa: PLC0415 - reads the stack's environment, set just before
        from kabar.contract.messages import RawDocument  # noqa: PLC0415

        self.batch_size = batch_size
        self.sent = 0  # articles queued so far
        self._raw = RawDocument
        self._enqueue_many = queues.enqueue_many

    def send(self, fields: list[dict[str, Any]], batch_size: int | None = None) -> None:
        messages: list[BaseModel] = [self._raw(**item) for item in fields]
        self._enqueue_many("ingest", messages, batch_size or self.batch_size)
        self.sent += len(messages)


class Search:
    """The search server, asked directly (httpx, one kept-alive connection)."""

    def __init__(self, url: str, alias: str) -> None:
        self.url = f"{url}/{alias}"
        self.http = httpx.Client(timeout=60)

    def count(self) -> int:
        response = self.http.get(f"{self.url}/_count")
        return int(response.json().get("count", 0)) if response.status_code == 200 else 0

    def found(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` a search finds now (no refresh asked: what a reader would see)."""
        hits: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = list(ids[start:start + 1000])
            response = self.http.post(f"{self.url}/_search", json={
                "size": len(chunk), "_source": False, "query": {"ids": {"values": chunk}}})
            if response.status_code == 404:
                continue
            response.raise_for_status()
            hits.update(hit["_id"] for hit in response.json()["hits"]["hits"])
        return hits

    def close(self) -> None:
        self.http.close()


@dataclass
class Services:
    stack: load.LoadStack
    search: Search
    sender: Sender
    roots: dict[str, int] = field(default_factory=dict)

    def dead_letters(self) -> int:
        return int(self.stack.redis.client().hlen("kabar:deadletters"))


@contextmanager
def services_stack(workdir: Path, options: Result) -> Iterator[Services]:
    extra = {"KABAR_BATCH_SIZE": str(options["batch_size"])}
    stack = load.LoadStack(workdir, options["engine"], options["enrich_workers"], extra_env=extra,
                           engine_url=options["engine_url"])
    search: Search | None = None
    try:
        stack.start()
        assert stack.redis.proc is not None
        for key in [key for key in os.environ if key.startswith("KABAR_")]:
            del os.environ[key]
        os.environ.update(stack.env)  # before kabar is imported: the producer talks to this stack
        search = Search(options["engine_url"], stack.alias)
        roots = {stage: proc.popen.pid for stage, proc in stack.workers.items()}
        roots["redis"] = stack.redis.proc.popen.pid
        if options.get("engine_pid"):  # the engine's whole process tree (Elasticsearch: launcher and server)
            roots["engine"] = options["engine_pid"]
        yield Services(stack, search, Sender(options["batch_size"]), roots)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        if search is not None:
            search.close()
        stack.stop()


def warm_up(services: Services, count: int, timeout: float = 300) -> None:
    """Some articles through every pool process, so that model loading is not measured."""
    before = services.search.count()
    for batch in chunks(documents(WARMUP_START, count, "warmup"), services.sender.batch_size):
        services.sender.send(batch)
    faults.wait_for(lambda: services.search.count() >= before + count and services.stack.idle(), timeout,
                    f"{count} warm-up articles indexed")


def produce(services: Services, docs: Iterator[dict[str, Any]], max_backlog: int, deadline: float) -> int:
    """Queue everything as fast as the pipeline takes it, at most ``max_backlog`` articles waiting in the
    queues (messages × batch size); returns how many were queued."""
    queued, size = 0, services.sender.batch_size
    for batch in chunks(docs, size):
        while services.stack.backlog() * size >= max_backlog:
            if time.monotonic() > deadline:
                raise TimeoutError("the run took longer than --timeout")
            time.sleep(0.02)
        services.sender.send(batch)
        queued += len(batch)
    return queued


def wait_indexed(services: Services, monitor: Monitor, target: int, deadline: float, stall: float = 120) -> None:
    """Until ``target`` articles are in the index; gives up when nothing moves for ``stall`` seconds."""
    last, moved = -1, time.monotonic()
    while monitor.latest() < target:
        now = time.monotonic()
        if monitor.latest() != last:
            last, moved = monitor.latest(), now
        if now > deadline or (now - moved > stall and services.stack.idle()):
            print(f"# gave up waiting: {monitor.latest()} of {target} indexed", flush=True)
            return
        time.sleep(0.1)


def peak_phase(services: Services, options: Result) -> Result:
    """Every article queued as fast as the pipeline takes it; rates, CPU and memory."""
    count = options["articles"]
    base = services.search.count()
    sent_before, client = services.sender.sent, services.stack.redis.client()

    def ingested() -> int:
        return services.sender.sent - sent_before - int(client.llen("ingest")) * services.sender.batch_size

    # Counting costs the engine a little: every second on long runs.
    monitor = Monitor(services.roots, lambda: services.search.count() - base, ingested,
                      0.5 if count <= 5000 else 1.0)
    cpu_before, busy_before, own_before = monitor.cpu(), system_busy_seconds(), own_cpu_seconds()
    started = time.monotonic()
    deadline = started + options["timeout"]
    with monitor:
        queued = produce(services, documents(0, count, options["tag"]), options["max_backlog"], deadline)
        queued_at = time.monotonic()
        wait_indexed(services, monitor, count, deadline)
        finished = crossing(monitor.counts, count) or time.monotonic()
        cpu_after, busy_after, own_after = monitor.cpu(), system_busy_seconds(), own_cpu_seconds()
        monitor.record_cpu()
    with suppress(TimeoutError):  # what is left shows as lost
        faults.wait_for(services.stack.idle, 120, "the queues to drain")
    writes = bulk_writes(services.stack.workers["index"].log())
    ids = [article_id(doc["url"]) for doc in documents(0, count, options["tag"])]
    found = len(services.search.found(ids))
    cpu = {name: cpu_after[name][0] - cpu_before[name][0] for name in cpu_after}
    parents = {name: cpu_after[name][1] - cpu_before[name][1] for name in cpu_after}
    own = own_after - own_before
    result = rates(monitor.counts, started, finished, count, indexed=min(count, monitor.latest()))
    result.update(articles=count, queued=queued, queue_seconds=round(queued_at - started, 2), found=found,
                  lost=queued - found, dead_letters=services.dead_letters(),
                  cpu_seconds=cpu, cpu_ms_per_article=per_article(cpu, own, found),
                  parent_cpu_ms_per_article={name: 1000 * seconds / max(1, found) for name, seconds in parents.items()},
                  cpu_ms_per_article_by_half=[monitor.cpu_per_article(count, 0.1, 0.5),
                                              monitor.cpu_per_article(count, 0.5, 0.9)],
                  other_cpu_seconds=round(busy_after - busy_before - sum(cpu.values()) - own, 1),
                  cpu_seconds_available=round((finished - started) * (os.cpu_count() or 1), 1),
                  rss_mb={name: vars(memory) for name, memory in monitor.memory.items()}, bulk_writes=writes,
                  counts=[(round(when - started, 2), n) for when, n in monitor.counts])
    return result


def rates(counts: Sequence[tuple[float, int]], started: float, finished: float, count: int, indexed: int) -> Result:
    t10, t90 = crossing(counts, 0.1 * count), crossing(counts, 0.9 * count)
    sustained = 0.8 * count / (t90 - t10) if t10 is not None and t90 is not None and t90 > t10 else float("nan")
    return {"sustained_per_s": sustained, "overall_per_s": indexed / (finished - started),
            "seconds": round(finished - started, 2),
            "steady_window_s": [round(t - started, 2) for t in (t10, t90) if t is not None]}


def per_article(cpu: dict[str, float], own: float, articles: int) -> dict[str, float]:
    """CPU milliseconds per article, per process tree, their sum (the pipeline) and the producer's."""
    n = max(1, articles)
    result = {name: 1000 * seconds / n for name, seconds in cpu.items()}
    result["pipeline"] = sum(result.values())
    result["producer"] = 1000 * own / n
    return result


class LatencyProbe(Background):
    """Asks the search server every ``interval`` seconds which of the outstanding articles it finds."""

    def __init__(self, search: Search, interval: float = 0.1) -> None:
        self.search = search
        self.interval = interval
        self.due: dict[str, float] = {}  # when the article arrived (its turn in the even pace)
        self.sent: dict[str, float] = {}  # when its message went onto the ingest queue
        self.found: dict[str, float] = {}  # when a search first found it
        self._lock = threading.Lock()
        super().__init__("latency-probe")

    def arrived(self, doc_id: str, due: float) -> None:
        with self._lock:
            self.due[doc_id] = due

    def queued(self, doc_ids: Sequence[str], when: float) -> None:
        with self._lock:
            self.sent.update(dict.fromkeys(doc_ids, when))

    def outstanding(self) -> list[str]:
        with self._lock:
            return [doc_id for doc_id in self.sent if doc_id not in self.found]

    def latencies(self, since: dict[str, float]) -> list[float]:
        return sorted(found - since[doc_id] for doc_id, found in self.found.items())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            waiting = self.outstanding()
            if not waiting:
                continue
            with suppress(httpx.HTTPError, KeyError, ValueError):
                hits = self.search.found(waiting)
                now = time.monotonic()  # the answer's arrival: an upper bound, within one interval
                with self._lock:
                    self.found.update(dict.fromkeys(hits, now))


def bulk_writes(log: str) -> Result:
    """The index worker's bulk writes, from its log (``kabar_search.buffer``'s INFO lines), when it logs them."""
    millis = [float(match) for match in _BULK_WRITE.findall(log)]
    if not millis:
        return {}
    return {"writes": len(millis), "articles_per_write": sum(int(n) for n in _BULK_SIZE.findall(log)) / len(millis),
            "slowest_s": max(millis) / 1000, "over_1s": sum(1 for ms in millis if ms > 1000)}


def latency_phase(services: Services, options: Result, rate: float) -> Result:
    """--latency-seconds at ``rate`` articles/s, paced evenly: arrival → searchable and queued → searchable."""
    index_log = services.stack.workers["index"].log_path
    log_start = index_log.stat().st_size
    count = max(1, round(rate * options["latency_seconds"]))
    with LatencyProbe(services.search) as probe:
        start = pace(services.sender, probe, documents(options["articles"], count, options["tag"]), rate)
        with suppress(TimeoutError):
            faults.wait_for(lambda: not probe.outstanding(), 60 + 10 * TARGET_P99, "the last articles searchable", 0.1)
    sends = sorted(set(probe.sent.values()))
    first_batch = sum(1 for when in probe.sent.values() if when == sends[0])
    achieved = (count - first_batch) / (sends[-1] - sends[0]) if len(sends) > 1 else float("nan")
    series = sorted((round(probe.due[doc_id] - start, 3), round(found - probe.due[doc_id], 3))
                    for doc_id, found in probe.found.items())
    with index_log.open("rb") as log:
        log.seek(log_start)
        writes = bulk_writes(log.read().decode(errors="replace"))
    return {"rate_per_s": rate, "achieved_rate_per_s": achieved, "seconds": options["latency_seconds"],
            "sent": count, "searchable": len(probe.found), "never_searchable": count - len(probe.found),
            **percentiles(probe.latencies(probe.due)), "from_queued": percentiles(probe.latencies(probe.sent)),
            "bulk_writes": writes, "series": series}


def pace(sender: Sender, probe: LatencyProbe, docs: Iterator[dict[str, Any]], rate: float) -> float:
    """Each article arrives on its turn and is queued at once, alone: news arrives one article at a time
    (a push, a feed entry), and batches only form where there is a backlog. Returns the start."""
    start = time.monotonic() + 0.5
    for number, doc in enumerate(docs):
        due = start + number / rate
        time.sleep(max(0.0, due - time.monotonic()))
        doc_id = article_id(doc["url"])
        probe.arrived(doc_id, due)
        sender.send([doc], batch_size=1)
        probe.queued([doc_id], time.monotonic())
    return start


def percentiles(values: Sequence[float]) -> Result:
    if len(values) < 2:
        return {"p50_s": float("nan"), "p95_s": float("nan"), "p99_s": float("nan"), "max_s": float("nan")}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_s": cuts[49], "p95_s": cuts[94], "p99_s": cuts[98], "max_s": max(values)}


def run_services(options: Result) -> Result:
    workdir = Path(options["workdir"])
    with services_stack(workdir, options) as services:
        warm_up(services, max(20, 4 * options["enrich_workers"]))
        print(f"# services, {options['enrich_workers']} enrich process(es): stack up, warm; peak phase", flush=True)
        peak = peak_phase(services, options)
        print(f"# peak: {peak['sustained_per_s']:.1f} articles/s sustained, {peak['overall_per_s']:.1f} overall, "
              f"{peak['found']}/{peak['articles']} indexed", flush=True)
        result: Result = {"enrich_workers": options["enrich_workers"], "peak": peak}
        if not options["skip_latency"]:
            rate = options["latency_rate"] or peak["sustained_per_s"] / 2
            if rate != rate or rate <= 0:  # NaN: too few articles to see a steady rate
                rate = peak["overall_per_s"] / 2
            print(f"# latency phase: {rate:.1f} articles/s for {options['latency_seconds']:g} s", flush=True)
            result["latency"] = latency_phase(services, options, rate)
        result["dead_letters"] = services.dead_letters()
    return result


# ---- embedded and the enrich-only loop -------------------------------------------------------------------------

def isolate_environment(data_dir: Path, batch_size: int) -> None:
    """This process runs embedded, on its own data directory (set before kabar is imported)."""
    for key in [key for key in os.environ if key.startswith("KABAR_")]:
        del os.environ[key]
    os.environ.update({"KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(data_dir), "KABAR_LOG_LEVEL": "WARNING",
                       "KABAR_BATCH_SIZE": str(batch_size)})


class TimedHandler:
    """A stage handler with its CPU and wall time added up (handle and after_forward)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cpu = 0.0
        self.wall = 0.0

    @contextmanager
    def _timed(self) -> Iterator[None]:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu += time.process_time() - cpu
            self.wall += time.perf_counter() - wall

    def handle(self, payload: dict[str, Any]) -> BaseModel | None:
        with self._timed():
            result: BaseModel | None = self.inner.handle(payload)
            return result

    def after_forward(self, result: BaseModel) -> None:
        with self._timed():
            self.inner.after_forward(result)


def run_embedded(options: Result) -> Result:
    isolate_environment(Path(options["workdir"]) / "data", options["batch_size"])
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar.contract.settings import get_settings  # noqa: PLC0415
    from kabar.embedded import InlinePipeline, build_handlers  # noqa: PLC0415

    setup = time.perf_counter()
    handlers = {stage: TimedHandler(handler) for stage, handler in build_handlers(get_settings()).items()}
    pipeline = InlinePipeline(dict(handlers))
    for doc in documents(WARMUP_START, 5, "warmup"):
        pipeline.run(RawDocument(**doc).model_dump(mode="json"))
    setup = time.perf_counter() - setup
    for handler in handlers.values():
        handler.cpu = handler.wall = 0.0
    per_doc: list[float] = []
    statuses: dict[str, int] = {}
    cpu, started = time.process_time(), time.perf_counter()
    for doc in documents(0, options["articles"], options["tag"]):
        payload = RawDocument(**doc).model_dump(mode="json")  # as `kabar ingest` hands it over
        began = time.perf_counter()
        status = pipeline.run(payload).status
        per_doc.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n = max(1, len(per_doc))
    stages = {stage: {"cpu_ms": 1000 * handlers[stage].cpu / n, "wall_ms": 1000 * handlers[stage].wall / n}
              for stage in STAGES}
    return {"articles": len(per_doc), "seconds": round(elapsed, 2), "per_s": len(per_doc) / elapsed,
            "cpu_ms_per_article": 1000 * cpu / n, "wall_ms_per_article": 1000 * elapsed / n, "stages": stages,
            "statuses": statuses, "setup_s": round(setup, 2), "per_article": percentiles(sorted(per_doc)),
            "peak_rss_mb": own_peak_rss_mb()}


def run_loop(options: Result) -> Result:
    workdir = Path(options["workdir"])
    isolate_environment(workdir / "data", options["batch_size"])
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar.contract.settings import get_settings  # noqa: PLC0415
    from kabar_enrich.stage import build_enricher  # noqa: PLC0415
    from kabar_ingest.stage import build_article  # noqa: PLC0415

    enricher = build_enricher(get_settings(), workdir / "enrich-state.sqlite3")
    for doc in documents(WARMUP_START, 3, "warmup"):
        enricher.enrich(build_article(RawDocument(**doc)))
    articles = [build_article(RawDocument(**doc)) for doc in documents(0, options["loop_articles"], options["tag"])]
    costs: list[float] = []
    cpu, started = time.process_time(), time.perf_counter()
    for article in articles:
        began = time.process_time()
        enricher.enrich(article)
        costs.append(time.process_time() - began)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n, quarter = max(1, len(articles)), max(1, len(costs) // 4)
    return {"articles": len(articles), "seconds": round(elapsed, 2), "per_s": len(articles) / elapsed,
            "wall_ms_per_article": 1000 * elapsed / n, "cpu_ms_per_article": 1000 * cpu / n,
            "cpu_ms_by_quarter": [1000 * statistics.mean(costs[:quarter]), 1000 * statistics.mean(costs[-quarter:])],
            "peak_rss_mb": own_peak_rss_mb()}


# ---- each part in its own process -----------------------------------------------------------------------------

PARTS: dict[str, Callable[[Result], Result]] = {"services": run_services, "embedded": run_embedded,
                                                 "loop": run_loop}


def _stop_on_sigterm() -> None:
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # so that every ``finally`` runs and stops what was started

    signal.signal(signal.SIGTERM, stop)


def _part_main(part: str, options: Result, out: str) -> None:
    _stop_on_sigterm()
    result = PARTS[part](options)
    Path(out).write_text(json.dumps(result))


def run_part(part: str, options: Result) -> Result | None:
    """``part`` in a fresh interpreter (its own KABAR_* settings); its result, or None when it failed."""
    Path(options["workdir"]).mkdir(parents=True, exist_ok=True)
    out = Path(options["workdir"]) / "result.json"
    process = multiprocessing.get_context("spawn").Process(target=_part_main, args=(part, options, str(out)),
                                                           name=f"kabar-pipeline-{part}")
    process.start()
    try:
        process.join()
    finally:
        if process.is_alive():
            process.terminate()  # the part stops what it started, then exits
            process.join(180)
        if process.is_alive():
            process.kill()
            process.join()
    if process.exitcode != 0 or not out.exists():
        print(f"# {part} failed (exit status {process.exitcode}); its files are in {options['workdir']}", flush=True)
        return None
    result: Result = json.loads(out.read_text())
    return result


# ---- report ---------------------------------------------------------------------------------------------------

def machine() -> Result:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    meminfo = Path("/proc/meminfo").read_text().split()
    ram_gb = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    return {"cores": os.cpu_count(), "cpu": model, "ram_gb": round(ram_gb, 1), "python": platform.python_version(),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()]}


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:,.{digits}f}"
    return "-" if value is None else str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(cell) if not isinstance(cell, str) else cell for cell in row) + " |"
              for row in rows]
    return [*lines, ""]


def throughput_rows(report: Result) -> list[list[Any]]:
    peak = (report.get("services") or {}).get("peak") or {}
    embedded, loop = report.get("embedded") or {}, report.get("loop") or {}
    loop_rate = loop.get("per_s")

    def efficiency(rate: float | None) -> str:
        return f"{rate / loop_rate:.2f}" if rate and loop_rate else "-"

    return [
        ["articles", peak.get("articles"), embedded.get("articles"), loop.get("articles")],
        ["sustained articles/s (10–90 % indexed)", peak.get("sustained_per_s"), "-", "-"],
        ["overall articles/s (first queued → last searchable)", peak.get("overall_per_s"), embedded.get("per_s"),
         loop.get("per_s")],
        ["seconds", peak.get("seconds"), embedded.get("seconds"), loop.get("seconds")],
        ["efficiency: articles/s ÷ the loop's", efficiency(peak.get("sustained_per_s")),
         efficiency(embedded.get("per_s")), "1.00" if loop_rate else "-"],
        ["lost / dead letters", f"{peak.get('lost', '-')} / {(report.get('services') or {}).get('dead_letters', '-')}",
         _embedded_failures(embedded), "-"],
    ]


def _embedded_failures(embedded: Result) -> str:
    statuses = embedded.get("statuses")
    if not statuses:
        return "-"
    return f"{embedded['articles'] - statuses.get('indexed', 0)} / {statuses.get('failed', 0)}"


def cpu_rows(report: Result) -> list[list[Any]]:
    peak = (report.get("services") or {}).get("peak") or {}
    cpu, parent = peak.get("cpu_ms_per_article", {}), peak.get("parent_cpu_ms_per_article", {})
    first, last = peak.get("cpu_ms_per_article_by_half") or [{}, {}]
    stages = (report.get("embedded") or {}).get("stages", {})
    loop = report.get("loop") or {}

    def halves(name: str) -> str:
        return f"{first[name]:.1f} → {last[name]:.1f}" if name in first and name in last else "-"

    rows: list[list[Any]] = []
    for stage in STAGES:
        embedded = stages.get(stage, {})
        looped = [loop.get("cpu_ms_per_article"), loop.get("wall_ms_per_article")] if stage == "enrich" else ["-"] * 2
        rows.append([stage, cpu.get(stage), parent.get(stage), halves(stage), embedded.get("cpu_ms"),
                     embedded.get("wall_ms"), *looped])
    rows.append(["redis-server", cpu.get("redis"), "-", halves("redis"), "-", "-", "-", "-"])
    rows.append([f"{report.get('engine') or 'search engine'} (search)", cpu.get("engine"), "-", halves("engine"),
                 "-", "-", "-", "-"])
    embedded_all = report.get("embedded") or {}
    rows.append(["**pipeline total**", cpu.get("pipeline"), "-", halves("pipeline"),
                 embedded_all.get("cpu_ms_per_article"), embedded_all.get("wall_ms_per_article"),
                 loop.get("cpu_ms_per_article"), loop.get("wall_ms_per_article")])
    rows.append(["producer (this script: enqueue, counting)", cpu.get("producer"), "-", "-", "-", "-", "-", "-"])
    return rows


def memory_rows(report: Result) -> list[list[Any]]:
    rss = ((report.get("services") or {}).get("peak") or {}).get("rss_mb", {})
    rows: list[list[Any]] = [[f"{name} ({memory['processes']} process(es))", memory["tree_pss_mb"], memory["tree_mb"],
                              memory["parent_mb"], memory["child_mb"] or "-"] for name, memory in rss.items()]
    for part in ("embedded", "loop"):
        if report.get(part):
            rows.append([f"{part} (one process)", "-", report[part]["peak_rss_mb"], "-", "-"])
    return rows


def summary_lines(report: Result) -> list[str]:
    """What the figures say: efficiency per core, the CPU ceiling, the latency target."""
    lines: list[str] = []
    services, loop = report.get("services") or {}, report.get("loop") or {}
    peak = services.get("peak") or {}
    cpu = peak.get("cpu_ms_per_article", {})
    if cpu.get("enrich") and loop.get("cpu_ms_per_article"):
        lines.append(f"- per core, enrich: the loop spends {loop['cpu_ms_per_article']:.1f} ms CPU per article, the "
                     f"enrich worker {cpu['enrich']:.1f} ms ({loop['cpu_ms_per_article'] / cpu['enrich']:.2f} of its "
                     f"CPU is enrichment); the whole services pipeline spends {cpu['pipeline']:.1f} ms "
                     f"({cpu['pipeline'] / loop['cpu_ms_per_article']:.2f}× the enrichment alone)")
    if loop.get("cpu_ms_by_quarter"):
        early, late = loop["cpu_ms_by_quarter"]
        lines.append(f"- the loop's enrichment CPU per article: {early:.1f} ms over its first quarter, {late:.1f} ms "
                     "over its last (a rise would mean the cost grows with the state: more articles seen)")
    window = peak.get("steady_window_s") or []
    if peak and (len(window) < 2 or window[1] - window[0] < 30):
        lines.append("- the steady part of the peak (10–90 % indexed) lasted under 30 s: too short for a reliable "
                     "rate, and the latency phase's rate follows from it (use more --articles)")
    if cpu.get("pipeline"):
        cores = report["machine"]["cores"] or 1
        lines.append(f"- CPU ceiling on this machine: {cores} cores / {cpu['pipeline']:.1f} ms per article = "
                     f"{1000 * cores / cpu['pipeline']:.0f} articles/s if every core did nothing else "
                     f"(the producer's {cpu['producer']:.1f} ms/article not included)")
    if peak.get("other_cpu_seconds") is not None:
        lines.append(f"- other processes on the machine used {peak['other_cpu_seconds']:.0f} CPU s of the "
                     f"{peak['cpu_seconds_available']:.0f} available during the peak (0 on an idle machine)")
    latency = services.get("latency")
    if latency:
        verdict = "yes" if latency["p99_s"] <= TARGET_P99 else "no"
        lines.append(f"- p99 ≤ {TARGET_P99:g} s at {TARGET_RATE:g} articles/s: {verdict}, measured at "
                     f"{latency['rate_per_s']:.1f} articles/s (the rate used; the target names {TARGET_RATE:g})")
        slow = (latency.get("bulk_writes") or {}).get("over_1s", 0)
        if slow:
            lines.append(f"- {slow} bulk write(s) to the search server took over 1 s during the latency phase: the "
                         "index worker writes one batch at a time, so every article behind a slow write waits for it")
    return lines


def render(report: Result) -> str:
    """One report per engine (the embedded and loop figures repeat in each), or the embedded one alone."""
    engines = list(report.get("services") or {})
    views = [{**report, "engine": name, "services": report["services"][name], "scale": report["scale"].get(name)}
             for name in engines] or [{**report, "engine": None, "services": None, "scale": None}]
    return "\n".join(render_one(view) for view in views)


def render_one(report: Result) -> str:
    m, options = report["machine"], report["options"]
    engine = report["engine"] or "no engine"
    out = [f"## kabar pipeline: {options['articles']:,} articles, {engine}", "",
           f"- date: {report['date']}", f"- command: `{report['command']}`",
           f"- machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
           f"load average at start {' '.join(map(str, m['load_average_at_start']))}",
           f"- enrich pool: {options['enrich_workers']} process(es); batch size {options['batch_size']} article(s) per "
           f"queue message; backlog under {options['max_backlog']} articles", ""]
    out += ["### Throughput", ""]
    out += table(["", f"services (Redis, Celery, {engine})", "embedded (in-process, SQLite)", "enrich-only loop"],
                 throughput_rows(report))
    out += latency_lines(report)
    out += bulk_line("peak (warm-up included)", ((report.get("services") or {}).get("peak") or {}).get("bulk_writes"))
    out += ["### CPU per article (ms)", ""]
    out += table(["", "services CPU (worker tree)", "of which the worker's parent", "10–50 % → 50–90 % indexed",
                  "embedded CPU", "embedded wall", "enrich-only loop CPU", "loop wall"], cpu_rows(report))
    out += ["### Resident memory, largest seen (MB)", ""]
    out += table(["process", "whole tree, PSS", "whole tree, RSS", "parent RSS", "largest pool process RSS"],
                 memory_rows(report))
    if report.get("scale"):
        out += ["### Scaling with enrich processes (services, peak)", ""]
        out += table(["enrich processes", "sustained articles/s", "overall articles/s", "enrich CPU ms/article",
                      "pipeline CPU ms/article", "× 1 process"], scale_rows(report["scale"]))
    return "\n".join([*out, *summary_lines(report), ""])


def latency_lines(report: Result) -> list[str]:
    out: list[str] = []
    latency = (report.get("services") or {}).get("latency")
    if latency:
        keys = ("p50_s", "p95_s", "p99_s", "max_s")
        out += ["### Ingest → searchable (services, half the peak rate)", ""]
        out += table(["from", "rate (articles/s)", "achieved", "sent", "searchable", "p50 s", "p95 s", "p99 s",
                      "max s"],
                     [["arrival", latency["rate_per_s"], latency["achieved_rate_per_s"], latency["sent"],
                       latency["searchable"], *(fmt(latency[key], 3) for key in keys)],
                      ["queued (once its batch filled)", "", "", "", "",
                       *(fmt(latency["from_queued"][key], 3) for key in keys)]])
        out += bulk_line("latency phase", latency.get("bulk_writes"))
    embedded = report.get("embedded")
    if embedded:
        per = embedded["per_article"]
        out += [f"Embedded, per article (searchable when its run returns): p50 {fmt(per['p50_s'] * 1000)} ms, "
                f"p95 {fmt(per['p95_s'] * 1000)} ms, p99 {fmt(per['p99_s'] * 1000)} ms, "
                f"max {fmt(per['max_s'] * 1000)} ms", ""]
    return out


def bulk_line(phase: str, writes: Result | None) -> list[str]:
    if not writes:
        return []
    return [f"Index worker, {phase}: {writes['writes']} bulk writes of {writes['articles_per_write']:.1f} articles on "
            f"average, the slowest {writes['slowest_s']:.2f} s, {writes['over_1s']} over 1 s (from its log).", ""]


def scale_rows(scale: Sequence[Result]) -> list[list[Any]]:
    base = next((run["peak"]["sustained_per_s"] for run in scale if run["enrich_workers"] == 1), None)
    rows: list[list[Any]] = []
    for run in scale:
        peak = run["peak"]
        factor = f"{peak['sustained_per_s'] / base:.2f}" if base else "-"
        rows.append([run["enrich_workers"], peak["sustained_per_s"], peak["overall_per_s"],
                     peak["cpu_ms_per_article"].get("enrich"), peak["cpu_ms_per_article"].get("pipeline"), factor])
    return rows


# ---- main -----------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--backend", choices=(*faults.ENGINES, "embedded", "all"), default="all",
                        help="an engine (services), the embedded backend, or all three")
    parser.add_argument("--engine-url", help="a running engine of --backend's kind (default: start one per part)")
    parser.add_argument("--enrich-workers", type=int, default=2, help="enrich pool processes")
    parser.add_argument("--batch-size", type=int, default=int(os.environ.get("KABAR_BATCH_SIZE", "20")),
                        help="articles per queue message in the peak phase (default KABAR_BATCH_SIZE or 20, "
                             "kabar's default); the latency phase sends each article alone, as it arrives")
    parser.add_argument("--max-backlog", type=int, default=2000,
                        help="most articles waiting in the queues (messages × batch size), all stages together")
    parser.add_argument("--latency-seconds", type=float, default=60.0, help="length of the half-peak phase")
    parser.add_argument("--latency-rate", type=float, default=None,
                        help="articles/s of the latency phase (default: half the sustained peak)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--loop-articles", type=int, default=2000, help="articles for the enrich-only loop")
    parser.add_argument("--scale", type=int, nargs="*", default=[], metavar="N",
                        help="also run the services' peak with N enrich processes, for each N (e.g. 1 2 4)")
    parser.add_argument("--timeout", type=float, default=6 * 3600.0, help="give up a peak phase after this many s")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, data) in /tmp")
    args = parser.parse_args(argv)
    if min(args.articles, args.enrich_workers, args.batch_size, args.loop_articles, *args.scale, 1) < 1:
        parser.error("counts must be at least 1")
    if args.engine_url and args.backend not in faults.ENGINES:
        parser.error("--engine-url needs --backend elasticsearch or opensearch")
    return args


def options_for(args: argparse.Namespace, workdir: Path, **overrides: Any) -> Result:
    options = {key: value for key, value in vars(args).items() if key not in ("json", "scale")}
    options.update(workdir=str(workdir), tag=workdir.parent.name.removeprefix("kabar-pipeline-"), **overrides)
    return options


def command() -> str:
    python = Path(sys.executable)
    with suppress(ValueError):
        python = python.relative_to(Path.cwd())
    return shlex.join([str(python), *sys.argv])


def run_all(args: argparse.Namespace, root: Path) -> Result:
    options = {key: value for key, value in vars(args).items() if key != "json"}
    report: Result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "command": command(),
                      "machine": machine(), "options": options}
    report["services"], report["scale"] = {}, {}
    for engine in [name for name in faults.ENGINES if args.backend in (name, "all")]:
        report["services"][engine], report["scale"][engine] = run_engine(args, root, engine)
    if args.backend in ("embedded", "all"):
        print("# embedded run", flush=True)
        report["embedded"] = run_part("embedded", options_for(args, root / "embedded"))
    print("# enrich-only loop", flush=True)
    report["loop"] = run_part("loop", options_for(args, root / "loop"))
    return report


def run_engine(args: argparse.Namespace, root: Path, engine: str) -> tuple[Result | None, list[Result]]:
    """The services parts on ``engine``: one engine for its peak, latency and scaling runs."""
    print(f"# services on {engine}", flush=True)
    with faults.search_engine(engine, args.engine_url) as (url, pid):
        def part(directory: str, **overrides: Any) -> Result | None:
            return run_part("services", options_for(args, root / directory, engine=engine, engine_url=url,
                                                    engine_pid=pid, **overrides))

        services = part(f"services-{engine}")
        scale: list[Result] = []
        for n in args.scale:
            if n == args.enrich_workers and services is not None:
                scale.append(services)  # the same peak: not run twice
            elif run := part(f"scale-{engine}-{n}", enrich_workers=n, skip_latency=True):
                scale.append(run)
    return services, scale


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return 0
    _stop_on_sigterm()
    root = Path(tempfile.mkdtemp(prefix="kabar-pipeline-"))
    failed = True
    try:
        report = run_all(args, root)
        failed = any(report.get(part, {}) is None for part in ("embedded", "loop")) or any(
            run is None for run in report["services"].values())
    finally:
        if args.keep or failed:
            print(f"# files (logs, data) in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
