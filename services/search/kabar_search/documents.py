"""The stored form of an article, the same for every backend.

The document is an explicit projection of ``EnrichedArticle`` (a field added to the
message later does not break the strict mapping), plus what search needs:
- ``entity_per|org|loc|misc``: canonical entity names per type (the ``entity`` filter by name);
- ``entity_ids``: the stable ids of the entities (``Entity.id``, the ``entity_id`` filter) and
  ``entity_per|org|loc|misc_key``: ``<id>\x1f<canonical name>`` per type, which the facets group
  on: by id, with the name to show (one name per id and article, so counts add up);
- ``entity_names``: the same names as text, so a search for a person finds articles
  that only mention them by another spelling;
- ``dated_at``: the publication date, or the receipt date when the source gave none, so
  sorting, date filters and histograms never have to deal with a missing date;
- ``is_duplicate`` and the revision: ``version`` counts content changes and
  ``previous_content_hashes`` keeps what the content hashed to before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kabar.contract.messages import EnrichedArticle, Entity
from kabar_search.models import EntityType

ENTITY_FIELDS: Final[dict[EntityType, str]] = {
    "PER": "entity_per", "ORG": "entity_org", "LOC": "entity_loc", "MISC": "entity_misc",
}
ARTICLE_FIELDS: Final = frozenset({
    "schema_version", "id", "url", "source_domain", "title", "text", "content_hash", "published_at",
    "received_at", "ingested_at", "language", "language_confidence", "entities", "fingerprint",
    "duplicate_of", "story_id", "enriched_at",
})
ENTITY_KEY_FIELDS: Final[dict[EntityType, str]] = {label: f"{field}_key" for label, field in ENTITY_FIELDS.items()}
ENTITY_KEY_SEPARATOR: Final = "\x1f"  # never in an id (entity_id keeps letters, digits, '-' and ':')
DERIVED_FIELDS: Final = ("entity_names", *ENTITY_FIELDS.values(), "entity_ids", *ENTITY_KEY_FIELDS.values(),
                         "dated_at", "is_duplicate")
MAX_PREVIOUS_HASHES = 50


@dataclass(frozen=True, slots=True)
class Revision:
    """What is (or will be) stored for an id: its content hash and version history."""

    content_hash: str
    version: int
    previous_content_hashes: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Revision:
        return cls(str(doc["content_hash"]), int(doc.get("version", 1)),
                   tuple(doc.get("previous_content_hashes") or ()))


def next_revision(article: EnrichedArticle, current: Revision | None) -> Revision | None:
    """The revision to store, or ``None`` when the same content is already stored."""
    if current is None:
        return Revision(article.content_hash, 1)
    if current.content_hash == article.content_hash:
        return None
    history = (*current.previous_content_hashes, current.content_hash)[-MAX_PREVIOUS_HASHES:]
    return Revision(article.content_hash, current.version + 1, history)


def dated_at(article: EnrichedArticle) -> datetime:
    moment = article.published_at or article.received_at
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def entities_by_id(entities: Sequence[Entity]) -> dict[EntityType, dict[str, str]]:
    """Per type, each entity id of an article with its canonical name (the first mention's)."""
    found: dict[EntityType, dict[str, str]] = {label: {} for label in ENTITY_FIELDS}
    for entity in entities:
        found[entity.label].setdefault(entity.id, entity.canonical)
    return found


def canonical_entities(article: EnrichedArticle) -> dict[EntityType, list[str]]:
    return {label: sorted(set(names.values())) for label, names in entities_by_id(article.entities).items()}


def entity_key(entity_id: str, name: str) -> str:
    return f"{entity_id}{ENTITY_KEY_SEPARATOR}{name}"


def split_entity_key(key: str) -> tuple[str, str]:
    entity_id, _, name = key.partition(ENTITY_KEY_SEPARATOR)
    return entity_id, name or entity_id


def to_document(article: EnrichedArticle, revision: Revision, indexed_at: datetime) -> dict[str, Any]:
    doc = article.model_dump(mode="json", include=set(ARTICLE_FIELDS))
    entities = canonical_entities(article)
    for label, field in ENTITY_FIELDS.items():
        doc[field] = entities[label]
    doc["entity_names"] = " ".join(sorted({name for found in entities.values() for name in found}))
    by_id = entities_by_id(article.entities)
    doc["entity_ids"] = sorted({entity_id for found in by_id.values() for entity_id in found})
    for label, field in ENTITY_KEY_FIELDS.items():
        doc[field] = sorted(entity_key(entity_id, name) for entity_id, name in by_id[label].items())
    doc["dated_at"] = dated_at(article).isoformat()
    doc["is_duplicate"] = article.duplicate_of is not None
    doc["version"] = revision.version
    doc["previous_content_hashes"] = list(revision.previous_content_hashes)
    doc["indexed_at"] = indexed_at.isoformat()
    return doc


def public_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored document as the API shows it: the article and its revision, no search helpers."""
    return {key: value for key, value in doc.items() if key not in DERIVED_FIELDS}
