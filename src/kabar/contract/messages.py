"""Pydantic models of the messages that travel between stages.

Every message carries ``schema_version``; a worker refuses a version it does not know
(a permanent error, so the message goes to the dead-letter store instead of looping).
Messages travel as JSON (Celery's JSON serializer) produced by ``model_dump(mode="json")``.

Every datetime field is time-zone aware: a datetime without an offset is taken as UTC, as
the reader does for dates in files. A producer that puts ``"2024-03-01T10:00:00"`` straight
on a queue would otherwise hand the later stages a naive datetime, and comparing it with an
aware one (story grouping compares publication dates) raises ``TypeError``. Values that do
not parse as a datetime at all are refused as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

DocumentFormat = Literal["text", "html"]
EntityLabel = Literal["PER", "ORG", "LOC", "MISC"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def assume_utc(moment: datetime) -> datetime:
    """``moment`` itself if it has an offset; a datetime without an offset is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# The type of every datetime field of a message: never naive (see the module's docstring).
ZonedDatetime = Annotated[datetime, AfterValidator(assume_utc)]


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
    published_at: ZonedDatetime | None = None
    received_at: ZonedDatetime = Field(default_factory=utc_now)


class Article(Message):
    """A cleaned article with its stable id: the output of ingest."""

    id: str
    url: str | None = None
    source_domain: str | None = None
    title: str
    text: str
    content_hash: str
    published_at: ZonedDatetime | None = None
    received_at: ZonedDatetime
    ingested_at: ZonedDatetime = Field(default_factory=utc_now)


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
    enriched_at: ZonedDatetime = Field(default_factory=utc_now)


class DeadLetterSummary(BaseModel):
    """A dead letter without the message it holds (what a listing shows)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    stage: str
    error_type: str
    reason: str
    attempts: int
    first_failed_at: ZonedDatetime
    last_failed_at: ZonedDatetime


class DeadLetter(DeadLetterSummary):
    """A message that could not be processed, kept with its reason so it can be replayed."""

    message: dict[str, object]


class IndexReceipt(Message):
    """What the last stage reports: the article is searchable (``changed``: new content)."""

    id: str
    changed: bool
