"""Prometheus metric helpers shared by every service.

Celery's prefork pool runs tasks in child processes, so workers use prometheus_client's
multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` must be set *before* prometheus_client is
imported (``kabar worker`` does that), and the parent process serves the merged values.

Naming: every metric starts with ``kabar_``, counters end in ``_total``, durations in
``_seconds``, counts of things in a store in ``_messages``. Label values are bounded
(stage names, outcome kinds, a capped set of source domains and languages), never ids,
URLs or entities. Service code calls one ``observe_*`` function per event; the queue and
dead-letter gauges are read from Redis at scrape time (``register_queue_collector``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.registry import Collector

from kabar.contract.messages import EnrichedArticle, utc_now
from kabar.contract.multiproc import MULTIPROC_ENV
from kabar.contract.queue_metrics import QueueDepthCollector
from kabar.contract.stages import STAGES

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
CORRECTIONS = Counter(
    "kabar_corrections_total", "Known articles whose content changed enough to be indexed as a new version."
)
STAGE_DURATION = Histogram(
    "kabar_stage_duration_seconds",
    "Time a stage spends on one queue message (one article, or a batch of up to KABAR_BATCH_SIZE).",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# From seconds (an idle pipeline) to a day (a backlog after an outage): the p95 alert sits at 5 min.
INGEST_TO_SEARCHABLE = Histogram(
    "kabar_ingest_to_searchable_seconds",
    "Time from receiving an article to the index stage making it searchable (new or changed content).",
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0,
             86400.0),
)
ARTICLES_BY_LANGUAGE = Counter(
    "kabar_articles_indexed_by_language_total", "Articles made searchable with new content, by language.",
    ["language"],
)
ARTICLES_BY_SOURCE = Counter(
    "kabar_articles_indexed_by_source_total", "Articles made searchable with new content, by source domain.",
    ["source_domain"],
)
NEAR_DUPLICATES = Counter(
    "kabar_near_duplicates_total", "Articles made searchable that are near-duplicates of an earlier article.",
)
NEW_STORIES = Counter("kabar_new_stories_total", "Articles made searchable that started a new story.")
SOURCE_PAGES = Counter(
    "kabar_source_pages_total", "Documents the ingest stage extracted text from, by source domain.",
    ["source_domain"],
)
SOURCE_PAGES_WITH_BODY = Counter(
    "kabar_source_pages_with_body_total", "Documents in which ingest found an article body, by source domain.",
    ["source_domain"],
)
SOURCE_FAILURES = Counter(
    "kabar_source_failures_total", "Documents ingest could not turn into an article, by source and reason.",
    ["source_domain", "reason"],
)
WATCHLIST_MATCHES = Counter(
    "kabar_watchlist_matches_total", "Articles that matched a watchlist (one per article and watchlist).",
)
ALERT_DELIVERIES = Counter(
    "kabar_alert_deliveries_total", "Watchlist alert delivery attempts, by channel and outcome.",
    ["channel", "outcome"],
)

FailureReason = Literal["no_body", "bad_url", "invalid_message", "extraction_error", "fetch_error", "other"]
AlertChannel = Literal["webhook", "email", "other"]
DeliveryOutcome = Literal["delivered", "retried", "failed"]
FAILURE_REASONS: Final[frozenset[str]] = frozenset(get_args(FailureReason))
ALERT_CHANNELS: Final[frozenset[str]] = frozenset(get_args(AlertChannel))
DELIVERY_OUTCOMES: Final[frozenset[str]] = frozenset(get_args(DeliveryOutcome))

OTHER: Final = "other"
UNKNOWN: Final = "unknown"
# Per process: a worker with N prefork children exposes at most N x this many source series.
MAX_SOURCE_LABELS: Final = 200
MAX_LANGUAGE_LABELS: Final = 100
_DOMAIN: Final = re.compile(r"[\w-]+(\.[\w-]+)*")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")


class BoundedLabels:
    """Label values as first seen, up to ``limit`` distinct ones; later newcomers become ``other``.

    First come, first kept: a label never changes its meaning during a process's life, so a
    source's counter does not jump between its own series and ``other``.
    """

    def __init__(self, limit: int, pattern: re.Pattern[str]) -> None:
        self._limit = limit
        self._pattern = pattern
        self._kept: set[str] = set()
        self._lock = threading.Lock()  # observations may come from several threads (the API's pool)

    def label(self, value: str | None) -> str:
        if not value:
            return UNKNOWN
        if not self._pattern.fullmatch(value) or value in (OTHER, UNKNOWN):
            return OTHER
        with self._lock:
            if value in self._kept:
                return value
            if len(self._kept) < self._limit:
                self._kept.add(value)
                return value
        return OTHER


_SOURCES = BoundedLabels(MAX_SOURCE_LABELS, _DOMAIN)
_LANGUAGES = BoundedLabels(MAX_LANGUAGE_LABELS, _LANGUAGE)


def domain_of(url_or_domain: str | None) -> str | None:
    """The host of a URL (or a bare domain), lower case, without ``www.``; never raises."""
    if not url_or_domain:
        return None
    text = url_or_domain.strip().lower()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:  # e.g. an unclosed IPv6 bracket: still a page from *somewhere*
            return None
    return text.removeprefix("www.").rstrip(".") or None


def source_label(url_or_domain: str | None) -> str:
    """The bounded ``source_domain`` label for a URL or domain."""
    return _SOURCES.label(domain_of(url_or_domain))


def language_label(code: str | None) -> str:
    return _LANGUAGES.label(code.strip().lower() if code else None)


def _one_of(value: str, allowed: frozenset[str]) -> str:
    # Callers are typed, but payload-derived strings reach here too: never let one become a label.
    return value if value in allowed else OTHER


# --- observations: one call per event in service code --------------------------------------------


@contextmanager
def observe_stage(stage: str, messages: int = 1) -> Iterator[None]:
    """Count the messages a queue message carries (one, or a batch) in and time it; the caller records
    processed/failed per message."""
    STAGE_RECEIVED.labels(stage).inc(messages)
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_DURATION.labels(stage).observe(time.perf_counter() - started)


def observe_indexed(article: EnrichedArticle, changed: bool, now: datetime | None = None) -> None:
    """The index stage made ``article`` searchable: lag, language, source, near-duplicate, new story.

    Only new or changed content counts: a redelivered or replayed message that changes nothing
    would otherwise count an article twice and report its original age as lag.
    """
    if not changed:
        return
    observe_searchable_lag(article.received_at, now)
    ARTICLES_BY_LANGUAGE.labels(language_label(article.language)).inc()
    ARTICLES_BY_SOURCE.labels(source_label(article.source_domain)).inc()
    if article.duplicate_of is not None:
        NEAR_DUPLICATES.inc()
    if article.story_id == article.id:  # a story is named after the article that started it
        NEW_STORIES.inc()


def observe_searchable_lag(received_at: datetime, now: datetime | None = None) -> None:
    # Clamped at 0: received_at comes from another host's clock, which may run ahead.
    lag = ((now or utc_now()) - received_at).total_seconds()
    INGEST_TO_SEARCHABLE.observe(max(0.0, lag))


def observe_page(url: str | None, has_body: bool) -> None:
    """Ingest extracted a document from ``url``'s source: the denominator and numerator of its yield."""
    label = source_label(url)
    SOURCE_PAGES.labels(label).inc()
    # inc(0) still creates the series: a source whose pages never had a body must show 0%, not nothing.
    SOURCE_PAGES_WITH_BODY.labels(label).inc(1 if has_body else 0)


def observe_source_failure(url: str | None, reason: FailureReason) -> None:
    SOURCE_FAILURES.labels(source_label(url), _one_of(reason, FAILURE_REASONS)).inc()


def observe_watchlist_match(matches: int = 1) -> None:
    """An indexed article matched ``matches`` watchlists (no watchlist id label: unbounded)."""
    if matches > 0:
        WATCHLIST_MATCHES.inc(matches)


def observe_alert_delivery(channel: AlertChannel, outcome: DeliveryOutcome) -> None:
    ALERT_DELIVERIES.labels(_one_of(channel, ALERT_CHANNELS), _one_of(outcome, DELIVERY_OUTCOMES)).inc()


# --- exposition -----------------------------------------------------------------------------------

# Collectors that read state at scrape time (queue depths); added to whichever registry is exposed.
_scrape_collectors: dict[str, Collector] = {}


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def collecting_registry() -> CollectorRegistry:
    """The registry to expose: merged over processes in multiprocess mode."""
    if not multiprocess_enabled():
        return DEFAULT_REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in _scrape_collectors.values():
        registry.register(collector)
    return registry


def register_scrape_collector(name: str, collector: Collector) -> None:
    """Expose ``collector`` from this process; registering ``name`` again replaces the previous one."""
    previous = _scrape_collectors.pop(name, None)
    if previous is not None and not multiprocess_enabled():
        DEFAULT_REGISTRY.unregister(previous)
    _scrape_collectors[name] = collector
    if not multiprocess_enabled():
        DEFAULT_REGISTRY.register(collector)


def register_queue_collector(redis_url: str, key_prefix: str, queues: Sequence[str] | None = None) -> None:
    """Expose queue, unacknowledged and dead-letter depths, read from Redis at each scrape.

    Call once in the process serving ``render_latest()`` (the API); calling again replaces it.
    """
    register_scrape_collector("queues", QueueDepthCollector.from_url(redis_url, key_prefix, queues or STAGES))


def serve_metrics(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics on a background thread of this process, on ``addr`` (KABAR_METRICS_HOST)."""
    start_http_server(port, addr=addr, registry=collecting_registry())


def render_latest() -> bytes:
    return generate_latest(collecting_registry())


def mark_process_dead(pid: int) -> None:
    """Let the live gauges of a finished child process go (multiprocess mode only)."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
