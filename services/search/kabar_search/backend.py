"""The interface every search backend implements, and the choice between them."""

from __future__ import annotations

from typing import Any, Protocol

from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search.models import SearchResult
from kabar_search.query import SimpleQuery

MAX_PAGE_SIZE = 100


class SearchBackend(Protocol):
    def ensure_ready(self) -> None:
        """Create indices/tables if missing (idempotent)."""

    def upsert(self, article: EnrichedArticle) -> bool:
        """Store the article under its id; False when the same content was already stored."""

    def get(self, article_id: str) -> dict[str, Any] | None: ...

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The most recently ingested articles, newest first."""

    def search(self, query: SimpleQuery, raw_query: str, limit: int) -> SearchResult: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


def open_backend(settings: KabarSettings) -> SearchBackend:
    if settings.search_backend_name == "elasticsearch":
        from kabar_search.es_backend import ElasticsearchBackend  # noqa: PLC0415 - heavy client, lazily

        return ElasticsearchBackend.from_settings(settings)
    from kabar_search.sqlite_backend import SqliteBackend  # noqa: PLC0415

    return SqliteBackend(settings.sqlite_index_path)
