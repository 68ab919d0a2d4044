"""What the search service returns, whichever backend answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

EntityType = Literal["PER", "ORG", "LOC", "MISC"]
Interval = Literal["day", "week", "month", "year"]
IndexStatus = Literal["created", "updated", "unchanged", "rejected", "failed"]


class ArticleReference(BaseModel):
    """What a result list shows of an article; ``GET /articles/{id}`` has the rest."""

    id: str
    title: str
    url: str | None = None
    source_domain: str | None = None
    language: str
    published_at: datetime | None = None


class SearchHit(ArticleReference):
    story_id: str
    duplicate_of: str | None = None
    score: float
    highlight: str = Field(description="A passage of the text with the matched words in <mark> tags. The text "
                                        "itself is NOT HTML-escaped: escape it, then restore the <mark> tags.")
    title_highlight: str | None = Field(default=None, description="The title with matched words in <mark> tags "
                                                                  "(not escaped either), when the title matched.")
    story_articles: int | None = Field(default=None, description="With collapse=true: how many matching "
                                                                 "articles the story of this hit has.")


class FacetBucket(BaseModel):
    value: str
    count: int = Field(description="Matching articles with this value.")


class EntityFacetBucket(FacetBucket):
    value: str = Field(description="The entity's canonical name.")
    id: str = Field(description="The entity's stable id, which the bucket groups on (filter with entity_id).")


class DateBucket(BaseModel):
    start: date = Field(description="First day of the bucket (UTC); weeks start on Monday.")
    count: int


class Facets(BaseModel):
    language: list[FacetBucket]
    source: list[FacetBucket]
    entities: dict[EntityType, list[EntityFacetBucket]] = Field(description="Top entities per type, by id.")
    dates: list[DateBucket] = Field(description="Matching articles per interval (empty intervals left out).")
    interval: Interval


class SearchResult(BaseModel):
    query: str
    total: int = Field(description="Matching articles.")
    total_stories: int | None = Field(default=None, description="Matching stories (with collapse=true).")
    hits: list[SearchHit]
    facets: Facets | None = None
    next_search_after: str | None = Field(default=None, description="Pass as search_after, with the same query, "
                                                                    "filters and sort, for the next page.")


class StoryArticle(ArticleReference):
    duplicate_of: str | None = None
    is_duplicate: bool = Field(description="A near-copy of another article in the story.")


class StoryEntity(BaseModel):
    name: str = Field(description="Canonical name.")
    id: str = Field(description="The entity's stable id (filter with entity_id).")
    label: EntityType
    articles: int = Field(description="Articles of the story that name it.")


class StorySummary(BaseModel):
    """A story as a newsroom follows it, derived from its indexed articles."""

    story_id: str
    headline: str = Field(description="The title of the story's first article that is not a near-copy.")
    first_seen: datetime = Field(description="Date of its earliest article (published, else received).")
    last_updated: datetime = Field(description="Date of its latest article.")
    articles: int
    duplicates: int = Field(description="How many of its articles are near-copies of another.")
    outlets: list[FacetBucket] = Field(description="Source domains, most articles first (at most 10).")
    languages: list[FacetBucket]
    entities: list[StoryEntity] = Field(description="Its most-named canonical entities (at most 10).")
    recent_articles: int | None = Field(default=None, description="With sort=growth: its articles in the "
                                                                   "growth window.")


class StoryList(BaseModel):
    total: int = Field(description="Stories with at least one article matching the filters.")
    sort: Literal["recent", "growth"]
    growth_since: datetime | None = Field(default=None, description="With sort=growth: start of the window.")
    stories: list[StorySummary]
    next_offset: int | None = Field(default=None, description="Pass as offset for the next page.")


class StoryResult(BaseModel):
    story_id: str
    total: int
    summary: StorySummary | None = None
    timeline: list[DateBucket] = Field(default_factory=list, description="Articles per day (UTC), oldest first.")
    articles: list[StoryArticle] = Field(description="Oldest first; at most the requested limit.")


@dataclass(frozen=True, slots=True)
class IndexOutcome:
    """What happened to one article in a (bulk) write.

    ``rejected``: the server refused the document itself (mapping error); retrying cannot help.
    ``failed``: a transient failure that outlasted the retries; the caller should retry later.
    """

    id: str
    status: IndexStatus
    version: int | None = None
    reason: str | None = None

    @property
    def changed(self) -> bool:
        return self.status in ("created", "updated")
