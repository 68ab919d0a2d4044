"""Where pushed documents and feed entries go: onto the queues (services) or through the pipeline here (embedded).

- ``DocumentSink``: ``RawDocument``s → the ingest queue (in batches of ``KABAR_BATCH_SIZE``, one
  message each), or the embedded pipeline in this process (``kabar.embedded.InlinePipeline``,
  handed in by the composition root: a service never imports it).
- ``PageSink``: a feed entry's ``PageRequest`` → the ``feeds`` queue (the page is fetched by a
  feeds worker, with retries), or fetched here and run through the pipeline. Here a page that
  cannot be fetched is dead-lettered at once under the ``feeds`` stage, with its reason.
- ``poll_round``: poll the given feeds now, several at a time, so a slow feed does not hold
  up the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, Protocol

from kabar.contract.messages import RawDocument
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import Payload
from kabar_ingest.feeds import Feed, FeedPoller, FeedStore, PageRequest, PageUnavailable, PollReport, fetch_page
from kabar_ingest.fetch import Fetcher

log = logging.getLogger(__name__)

FEEDS_STAGE: Final = "feeds"  # the stage (queue, task kabar.feeds, dead letters) that fetches entries' pages


@dataclass(frozen=True, slots=True)
class Submitted:
    status: str  # "queued" (services), or the pipeline's outcome: indexed, unchanged, repeat, failed
    reason: str | None = None


DocumentSink = Callable[[Sequence[RawDocument]], list[Submitted]]  # one outcome per document, in order


class PipelineOutcome(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


class Pipeline(Protocol):
    """The embedded pipeline as this service sees it: one document through every stage."""

    def run(self, payload: Payload) -> PipelineOutcome: ...


class InlineDocuments:
    """The embedded pipeline, built on first use and run by one thread at a time."""

    def __init__(self, build_pipeline: Callable[[], Pipeline]) -> None:
        self._build_pipeline = build_pipeline
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()

    def __call__(self, documents: Sequence[RawDocument]) -> list[Submitted]:
        return [self._run(document) for document in documents]

    def _run(self, document: RawDocument) -> Submitted:
        with self._lock:
            if self._pipeline is None:
                self._pipeline = self._build_pipeline()  # loads the enrich models
            outcome = self._pipeline.run(document.model_dump(mode="json"))
        reason = f"{outcome.stage}: {outcome.reason}" if outcome.reason else None
        return Submitted(outcome.status, reason)


def queue_documents(documents: Sequence[RawDocument]) -> list[Submitted]:
    """Onto the ingest queue as ``kabar ingest`` sends a folder: up to ``KABAR_BATCH_SIZE`` per message."""
    from kabar.contract.queues import enqueue_many  # noqa: PLC0415

    enqueue_many("ingest", documents)
    return [Submitted("queued") for _ in documents]


def document_sink(settings: KabarSettings, build_pipeline: Callable[[], Pipeline]) -> DocumentSink:
    """The ingest queue (services mode), or the embedded pipeline ``build_pipeline`` makes on first use."""
    return queue_documents if settings.mode == "services" else InlineDocuments(build_pipeline)


def queue_page(request: PageRequest) -> None:
    from kabar.contract.queues import enqueue  # noqa: PLC0415

    enqueue(FEEDS_STAGE, request)


class InlinePages:
    """Fetch an entry's page here and hand it to the document sink; failures are dead-lettered."""

    def __init__(self, fetcher: Fetcher, documents: DocumentSink, max_bytes: int) -> None:
        self.fetcher = fetcher
        self.documents = documents
        self.max_bytes = max_bytes
        self.outcomes: dict[str, list[Submitted]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: PageRequest) -> None:
        from kabar.contract.deadletter import dead_letters  # noqa: PLC0415

        try:
            document = fetch_page(self.fetcher, request, self.max_bytes)
        except Exception as exc:
            letter = dead_letters().put(FEEDS_STAGE, request.model_dump(mode="json"), exc, attempts=1)
            kind = "will work later: `kabar dlq replay`" if isinstance(exc, PageUnavailable) else "dead-lettered"
            self._record(request, Submitted("failed", f"{letter.reason} ({kind} {letter.id})"))
            return
        self._record(request, self.documents([document])[0])

    def _record(self, request: PageRequest, submitted: Submitted) -> None:
        with self._lock:
            self.outcomes.setdefault(request.feed_id or request.source, []).append(submitted)


def poll_round(feeds: Iterable[Feed], store: FeedStore, fetcher: Fetcher, settings: KabarSettings,
               send: Callable[[PageRequest], None]) -> list[PollReport]:
    """Poll these feeds now, ``KABAR_FEED_POLL_CONCURRENCY`` at a time; one report per feed, in order."""
    poller = FeedPoller(store, fetcher, settings, send)
    chosen = list(feeds)
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=min(settings.feed_poll_concurrency, len(chosen)),
                            thread_name_prefix="feed") as pool:
        return list(pool.map(_safe_poll(poller), chosen))


def _safe_poll(poller: FeedPoller) -> Callable[[Feed], PollReport]:
    def poll(feed: Feed) -> PollReport:
        try:
            return poller.poll(feed)
        except Exception as exc:
            log.exception("polling feed %s failed", feed.id)
            return PollReport(feed.id, feed.url, "failed", error=f"{type(exc).__name__}: {exc}")

    return poll
