"""benchmarks/pipeline.py, the services part: warm-up, the peak phase (as fast as the pipeline takes
articles) and the latency phase (half the peak rate, paced evenly)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import support
from pipeline_feed import WARMUP_START, article_id, chunks, documents, pace
from pipeline_measure import (
    TARGET_P99,
    LatencyProbe,
    Monitor,
    Result,
    bulk_writes,
    crossing,
    per_article,
    percentiles,
    rates,
    system_busy_seconds,
)
from pipeline_stack import Services, services_stack


def warm_up(services: Services, count: int, timeout: float = 300) -> None:
    """Some articles through every pool process, so that model loading is not measured."""
    before = services.search.count()
    for batch in chunks(documents(WARMUP_START, count, "warmup"), services.sender.batch_size):
        services.sender.send(batch)
    support.wait_for(lambda: services.search.count() >= before + count and services.stack.idle(), timeout,
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
    cpu_before, busy_before, own_before = monitor.cpu(), system_busy_seconds(), support.own_cpu_seconds()
    started = time.monotonic()
    deadline = started + options["timeout"]
    with monitor:
        queued = produce(services, documents(0, count, options["tag"]), options["max_backlog"], deadline)
        queued_at = time.monotonic()
        wait_indexed(services, monitor, count, deadline)
        finished = crossing(monitor.counts, count) or time.monotonic()
        cpu_after, busy_after, own_after = monitor.cpu(), system_busy_seconds(), support.own_cpu_seconds()
        monitor.record_cpu()
    with suppress(TimeoutError):  # what is left shows as lost
        support.wait_for(services.stack.idle, 120, "the queues to drain")
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


def latency_phase(services: Services, options: Result, rate: float) -> Result:
    """--latency-seconds at ``rate`` articles/s, paced evenly: arrival → searchable and queued → searchable."""
    index_log = services.stack.workers["index"].log_path
    log_start = index_log.stat().st_size
    count = max(1, round(rate * options["latency_seconds"]))
    with LatencyProbe(services.search) as probe:
        start = pace(services.sender, probe, documents(options["articles"], count, options["tag"]), rate)
        with suppress(TimeoutError):
            support.wait_for(lambda: not probe.outstanding(), 60 + 10 * TARGET_P99, "the last articles searchable", 0.1)
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
