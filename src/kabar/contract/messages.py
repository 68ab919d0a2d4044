"""Pydantic models of the messages that travel between stages.

Every message carries ``schema_version``; a worker refuses a version it does not know
(a permanent error, so the message goes to the dead-letter store instead of looping).
Messages travel as JSON (Celery's JSON serializer) produced by ``model_dump(mode="json")``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

DocumentFormat = Literal["text", "html"]
EntityLabel = Literal["PER", "ORG", "LOC", "MISC"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of all stage messages: strict about unknown fields, versioned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION


class RawDocument(Message):
    """A document as received (from a file, a push or a feed), already decoded to text."""

    source: str = Field(description="Where it came from: a file path, a feed URL or 'push'.")
    format: DocumentFormat
    content: str
    url: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    received_at: datetime = Field(default_factory=utc_now)


class Article(Message):
    """A cleaned article with its stable id: the output of ingest."""

    id: str
    url: str | None = None
    source_domain: str | None = None
    title: str
    text: str
    content_hash: str
    published_at: datetime | None = None
    received_at: datetime
    ingested_at: datetime = Field(default_factory=utc_now)


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    label: EntityLabel
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    canonical: str


class EnrichedArticle(Article):
    """An article with language, entities and near-duplicate links: the output of enrich."""

    language: str
    language_confidence: float = Field(ge=0.0, le=1.0)
    entities: list[Entity] = Field(default_factory=list)
    fingerprint: str = Field(description="Base64 of the MinHash signature (uint32 values).")
    duplicate_of: str | None = None
    story_id: str
    enriched_at: datetime = Field(default_factory=utc_now)


class DeadLetter(BaseModel):
    """A message that could not be processed, kept with its reason so it can be replayed."""

    model_config = ConfigDict(extra="forbid")

    id: str
    stage: str
    error_type: str
    reason: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    message: dict[str, object]


class IndexReceipt(Message):
    """What the last stage reports: the article is searchable (``changed``: new content)."""

    id: str
    changed: bool
