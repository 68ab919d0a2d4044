"""The interface every search backend implements, and the choice between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search.models import IndexOutcome, SearchResult, StoryList, StoryResult
from kabar_search.query import SimpleQuery
from kabar_search.request import SearchOptions
from kabar_search.story_query import StoryQuery

MAX_PAGE_SIZE = 100
MAX_STORY_ARTICLES = 500


class SearchBackend(Protocol):
    def ensure_ready(self) -> None:
        """Create indices/tables if missing (idempotent)."""

    def upsert(self, article: EnrichedArticle) -> bool:
        """Store one article under its id, searchable on return; False when that content was stored already."""

    def upsert_many(self, articles: Sequence[EnrichedArticle], refresh: bool = False) -> list[IndexOutcome]:
        """Store a batch; one outcome per article, in order. ``refresh``: searchable on return."""

    def refresh(self) -> None:
        """Make every write so far visible to searches."""

    def get(self, article_id: str) -> dict[str, Any] | None: ...

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The most recently ingested articles, newest first."""

    def story(self, story_id: str, limit: int) -> StoryResult | None:
        """One story: its summary, articles per day, and its articles oldest first; None when it has none."""

    def stories(self, query: StoryQuery) -> StoryList:
        """Summaries of the stories with articles matching the query's filters, ranked by recency or growth."""

    def search(self, query: SimpleQuery, raw_query: str, limit: int,
               options: SearchOptions | None = None) -> SearchResult:
        """Without options: the best ``limit`` articles by relevance, no facets, not collapsed."""

    def count(self) -> int: ...

    def close(self) -> None: ...


def open_backend(settings: KabarSettings) -> SearchBackend:
    if settings.search_engine is not None:  # Elasticsearch or OpenSearch
        from kabar_search.es_backend import ElasticsearchBackend  # noqa: PLC0415 - heavy client, lazily

        return ElasticsearchBackend.from_settings(settings)
    from kabar_search.sqlite_backend import SqliteBackend  # noqa: PLC0415

    return SqliteBackend(settings.sqlite_index_path)
