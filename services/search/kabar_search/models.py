"""What a search returns, whichever backend answered."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    id: str
    title: str
    url: str | None = None
    source_domain: str | None = None
    language: str
    published_at: datetime | None = None
    story_id: str
    duplicate_of: str | None = None
    score: float
    highlight: str = Field(description="A passage with the matched words in <mark> tags.")


class SearchResult(BaseModel):
    query: str
    total: int
    hits: list[SearchHit]
