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

import hashlib
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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


# An entity id is at most this long (a keyword field's limit is far above; URLs stay readable).
MAX_ENTITY_ID_CHARS = 120


def entity_id(label: str, canonical: str) -> str:
    """The stable id of a canonical entity: its type and its canonical name, folded.

    ``("LOC", "North Korea")`` -> ``"loc:north-korea"``; case, accents and punctuation do not
    make another id (``"Wŏnsan"`` and ``"Wonsan"`` are both ``"loc:wonsan"``), the type does
    (Jordan the country is not Jordan the person). Names in any script keep their letters; a
    name with no letter or digit, or a very long one, is identified by a hash of the name.
    """
    decomposed = unicodedata.normalize("NFKD", canonical.casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    slug = "-".join("".join(char if char.isalnum() else " " for char in letters).split())
    prefix = f"{label.lower()}:"
    if not slug or len(prefix) + len(slug) > MAX_ENTITY_ID_CHARS:
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        slug = f"{slug[: MAX_ENTITY_ID_CHARS - len(prefix) - len(digest) - 1]}-{digest}".lstrip("-")
    return prefix + slug


class LanguageSpan(BaseModel):
    """A paragraph written in another language than its article (an English quote in Indonesian news)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: int = Field(ge=0, description="Character offset of the paragraph in the article text.")
    end: int = Field(ge=0)
    language: str
    confidence: float = Field(ge=0.0, le=1.0)


class Entity(BaseModel):
    """One mention of a named entity, with the canonical entity it names.

    ``id`` is the canonical entity's stable id (``entity_id``): facets, filters and
    watchlists group on it. A message from before ids (no ``id``) gets the id of its label
    and canonical name, so old messages stay valid and group with new ones.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    label: EntityLabel
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    canonical: str
    id: str = Field(default="", max_length=MAX_ENTITY_ID_CHARS,
                    description="Stable id of the canonical entity, e.g. 'loc:north-korea'.")

    @model_validator(mode="before")
    @classmethod
    def _id_of_the_canonical_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("id") and isinstance(data.get("canonical"), str):
            return {**data, "id": entity_id(str(data.get("label", "")), data["canonical"])}
        return data


class EnrichedArticle(Article):
    """An article with language, entities and near-duplicate links: the output of enrich."""

    language: str
    language_confidence: float = Field(ge=0.0, le=1.0)
    paragraph_languages: list[LanguageSpan] = Field(
        default_factory=list, description="Paragraphs whose language differs from `language`; empty for most articles.")
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

    @property
    def outcome(self) -> str:
        """What the embedded pipeline reports (``kabar.contract.stages.Receipt``)."""
        return "indexed" if self.changed else "unchanged"
