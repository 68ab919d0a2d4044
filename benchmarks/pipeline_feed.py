"""benchmarks/pipeline.py, feeding: the articles (the corpus again and again, each copy new), and how they
are queued: in batches as ``kabar ingest`` queues a folder, or one at a time at an even pace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import support

if TYPE_CHECKING:
    from pipeline_measure import LatencyProbe
    from pydantic import BaseModel

WARMUP_START = 1_000_000  # article numbers of the warm-up articles (numbers decide the copy, so the content)
article_id = support.article_id


def documents(start: int, count: int, tag: str) -> Iterator[dict[str, Any]]:
    """RawDocument fields of articles number ``start`` to ``start + count``: the corpus again and again,
    copy c of an article with its own URL and a last line naming the copy (from copy 1 on)."""
    for fields in support.corpus_copies(start, count, "pipeline.kabar.test", tag):
        yield {"source": "pipeline-benchmark", "format": "text", **fields}


def chunks(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


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
