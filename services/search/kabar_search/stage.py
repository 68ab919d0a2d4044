"""The index stage: ``EnrichedArticle`` in, stored in the search backend under its id."""

from __future__ import annotations

from pydantic import BaseModel

from kabar.contract.celery_app import Payload
from kabar.contract.messages import EnrichedArticle, IndexReceipt
from kabar.contract.metrics import STAGE_SKIPPED
from kabar.contract.settings import KabarSettings
from kabar_search.backend import SearchBackend, open_backend


class IndexHandler:
    def __init__(self, backend: SearchBackend) -> None:
        self._backend = backend

    def handle(self, payload: Payload) -> IndexReceipt:
        article = EnrichedArticle.model_validate(payload)
        changed = self._backend.upsert(article)
        if not changed:
            STAGE_SKIPPED.labels("index").inc()
        return IndexReceipt(id=article.id, changed=changed)

    def after_forward(self, result: BaseModel) -> None:
        """The last stage forwards nothing."""


def build_handler(settings: KabarSettings) -> IndexHandler:
    return IndexHandler(open_backend(settings))
