"""The index stage: ``EnrichedArticle`` in, stored in the search backend under its id.

Articles go through an ``IndexBuffer`` (see ``buffer``): concurrent tasks of one worker
process share bulk requests, and each task still answers for its own article.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ValidationError

from kabar.contract import metrics
from kabar.contract.failures import PermanentError
from kabar.contract.messages import EnrichedArticle, IndexReceipt
from kabar.contract.metrics import STAGE_SKIPPED
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import ItemResult, Payload
from kabar_search.backend import SearchBackend, open_backend
from kabar_search.buffer import IndexBuffer
from kabar_search.models import IndexOutcome
from kabar_search.watch.hook import build_watch_hook


class IndexingFailed(RuntimeError):
    """A transient failure that outlasted the bulk writer's retries: Celery retries the message."""


class IndexHandler:
    def __init__(self, backend: SearchBackend, buffer: IndexBuffer,
                 after_indexed: Callable[[EnrichedArticle], object] | None = None) -> None:
        self.backend = backend
        self.buffer = buffer
        # Runs once the article is stored (or found stored already): the watchlists (kabar_search.watch).
        self.after_indexed = after_indexed

    def handle(self, payload: Payload) -> IndexReceipt:
        article = EnrichedArticle.model_validate(payload)
        outcome = self.buffer.submit(article)
        return self._receipt(article, outcome)

    def handle_batch(self, payloads: Sequence[Payload]) -> list[ItemResult]:
        """A batch message's articles, written together (one bulk request); each answers for itself."""
        results: list[ItemResult] = []
        articles: list[tuple[int, EnrichedArticle]] = []
        for position, payload in enumerate(payloads):
            try:
                articles.append((position, EnrichedArticle.model_validate(payload)))
                results.append(None)
            except ValidationError as exc:
                results.append(exc)
        outcomes = self.buffer.submit_many([article for _, article in articles])
        for (position, article), outcome in zip(articles, outcomes, strict=True):
            try:
                results[position] = outcome if isinstance(outcome, Exception) else self._receipt(article, outcome)
            except Exception as exc:  # this article's own failure; the others are written
                results[position] = exc
        return results

    def _receipt(self, article: EnrichedArticle, outcome: IndexOutcome) -> IndexReceipt:
        if outcome.status == "rejected":
            raise PermanentError(f"the search server refused article {article.id}: {outcome.reason}")
        if outcome.status == "failed":
            raise IndexingFailed(f"article {article.id} not indexed yet: {outcome.reason}")
        if outcome.status == "unchanged":
            STAGE_SKIPPED.labels("index").inc()
        metrics.observe_indexed(article, outcome.changed)
        if self.after_indexed is not None:
            self.after_indexed(article)
        return IndexReceipt(id=article.id, changed=outcome.changed)

    def after_forward(self, result: BaseModel) -> None:
        """The last stage forwards nothing."""


def build_handler(settings: KabarSettings) -> IndexHandler:
    backend = open_backend(settings)
    buffer = IndexBuffer(backend.upsert_many, max_batch=settings.index_batch_size,
                         max_wait=settings.index_batch_wait_ms / 1000)
    return IndexHandler(backend, buffer, build_watch_hook(settings, backend))
