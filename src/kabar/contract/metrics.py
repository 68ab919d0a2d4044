"""Prometheus metric helpers shared by every service.

Celery's prefork pool runs tasks in child processes, so workers use prometheus_client's
multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` must be set *before* prometheus_client is
imported (``kabar worker`` does that), and the parent process serves the merged values.
Label values are bounded (stage names, outcome kinds), never ids or URLs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

from kabar.contract.multiproc import MULTIPROC_ENV

STAGE_RECEIVED = Counter("kabar_stage_received_total", "Messages a stage started on.", ["stage"])
STAGE_PROCESSED = Counter("kabar_stage_processed_total", "Messages a stage finished.", ["stage"])
STAGE_FAILED = Counter(
    "kabar_stage_failed_total", "Failed attempts at a message (retried or dead-lettered).", ["stage", "kind"]
)
STAGE_DEAD_LETTERED = Counter(
    "kabar_stage_dead_lettered_total", "Messages a stage gave up on and dead-lettered.", ["stage"]
)
STAGE_SKIPPED = Counter(
    "kabar_stage_skipped_total", "Messages a stage dropped on purpose (exact repeats).", ["stage"]
)
API_REQUESTS = Counter(
    "kabar_api_requests_total", "HTTP requests answered by the API.", ["route", "method", "status"]
)
API_DURATION = Histogram("kabar_api_request_duration_seconds", "Time to answer an API request.", ["route"])
STAGE_DURATION = Histogram(
    "kabar_stage_duration_seconds",
    "Time a stage spends on one message.",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def collecting_registry() -> CollectorRegistry:
    """The registry to expose: merged over processes in multiprocess mode."""
    if not multiprocess_enabled():
        return DEFAULT_REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def serve_metrics(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from other containers
    """Expose /metrics on a background thread of this process."""
    start_http_server(port, addr=addr, registry=collecting_registry())


def render_latest() -> bytes:
    return generate_latest(collecting_registry())


def mark_process_dead(pid: int) -> None:
    """Let the live gauges of a finished child process go (multiprocess mode only)."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


@contextmanager
def observe_stage(stage: str) -> Iterator[None]:
    """Count a message in and time it; the caller records processed/failed."""
    STAGE_RECEIVED.labels(stage).inc()
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_DURATION.labels(stage).observe(time.perf_counter() - started)
