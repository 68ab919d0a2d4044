"""benchmarks/pipeline.py, measuring: CPU and memory of the process trees sampled from /proc while the index
is counted, the rates and percentiles drawn from the samples, the index worker's bulk writes, the probe that
times each article from arrival to searchable, and stage handlers timed in process."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
import support

if TYPE_CHECKING:
    from pipeline_stack import Search
    from pydantic import BaseModel

TARGET_RATE, TARGET_P99 = 50.0, 2.0  # the requirement: p99 <= 2 s at 50 articles/s
_BULK_WRITE = re.compile(r"index batch of \d+ article\(s\) written in (\d+) ms")
_BULK_SIZE = re.compile(r"index batch of (\d+) article\(s\) written in")

Result = dict[str, Any]


def system_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / support.CLK_TCK


@dataclass
class Memory:
    """The largest memory seen: of the whole tree (RSS summed, and PSS summed: a prefork pool shares its
    parent's pages, which RSS counts in every process), of its root process and of any one child (RSS)."""

    tree_mb: float = 0.0
    tree_pss_mb: float = 0.0
    parent_mb: float = 0.0
    child_mb: float = 0.0
    processes: int = 0

    def see(self, root: int, procs: dict[int, support.ProcInfo]) -> None:
        pids = support.descendants(root, procs)
        self.tree_mb = max(self.tree_mb, sum(procs[pid].rss_mb for pid in pids))
        self.tree_pss_mb = max(self.tree_pss_mb, sum(support.pss_mb(pid) for pid in pids))
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
        procs = support.read_procs()
        return {name: (support.tree_cpu(root, procs), procs[root].cpu if root in procs else 0.0)
                for name, root in self.roots.items()}

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(Exception):  # the server busy for a moment: the next round counts
                self.counts.append((time.monotonic(), self.count()))
            if time.monotonic() - self._last_rss >= 1.0:
                self._last_rss = time.monotonic()
                procs = support.read_procs()
                for name, root in self.roots.items():
                    self.memory[name].see(root, procs)
                self.record_cpu(procs)
            self._stop.wait(self.interval)

    def record_cpu(self, procs: dict[int, support.ProcInfo] | None = None) -> None:
        procs = procs or support.read_procs()
        with suppress(Exception):
            cpu = {name: support.tree_cpu(root, procs) for name, root in self.roots.items()}
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


def percentiles(values: Sequence[float]) -> Result:
    if len(values) < 2:
        return {"p50_s": float("nan"), "p95_s": float("nan"), "p99_s": float("nan"), "max_s": float("nan")}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_s": cuts[49], "p95_s": cuts[94], "p99_s": cuts[98], "max_s": max(values)}


def bulk_writes(log: str) -> Result:
    """The index worker's bulk writes, from its log (``kabar_search.buffer``'s INFO lines), when it logs them."""
    millis = [float(match) for match in _BULK_WRITE.findall(log)]
    if not millis:
        return {}
    return {"writes": len(millis), "articles_per_write": sum(int(n) for n in _BULK_SIZE.findall(log)) / len(millis),
            "slowest_s": max(millis) / 1000, "over_1s": sum(1 for ms in millis if ms > 1000)}


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
