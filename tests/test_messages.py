"""The stage messages' datetimes: a datetime without an offset is taken as UTC, an offset is kept,
and what is not a datetime is refused, however the message reached the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kabar.contract.messages import (
    MAX_ENTITY_ID_CHARS,
    Article,
    DeadLetter,
    EnrichedArticle,
    Entity,
    RawDocument,
    entity_id,
)
from kabar_enrich.stories import StoryGrouper
from kabar_enrich.story_features import default_vectorizer
from kabar_enrich.story_store import SqliteStoryStore
from kabar_ingest.stage import build_article

WIB = timezone(timedelta(hours=7))
TEXT = ("Pemerintah kota menyiapkan pompa air tambahan menjelang musim hujan. Warga di bantaran sungai "
        "diminta waspada terhadap kenaikan debit air pada malam hari.")
ARTICLE: dict[str, Any] = {"id": "a1", "title": "Pompa air", "text": TEXT, "content_hash": "h1",
                           "received_at": "2024-03-01T10:05:00Z"}
ENRICHED: dict[str, Any] = {**ARTICLE, "language": "id", "language_confidence": 0.9, "fingerprint": "AAAA",
                            "story_id": "a1"}
LETTER: dict[str, Any] = {"id": "0" * 24, "stage": "ingest", "error_type": "ValueError", "reason": "bad",
                          "attempts": 1, "first_failed_at": "2024-03-01T10:00:00Z",
                          "last_failed_at": "2024-03-01T10:00:00Z", "message": {}}
RAW: dict[str, Any] = {"source": "push", "format": "text", "content": TEXT}
# Every datetime field of every message, with a valid message around it.
FIELDS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (RawDocument, RAW, "published_at"), (RawDocument, RAW, "received_at"),
    (Article, ARTICLE, "published_at"), (Article, ARTICLE, "received_at"), (Article, ARTICLE, "ingested_at"),
    (EnrichedArticle, ENRICHED, "published_at"), (EnrichedArticle, ENRICHED, "enriched_at"),
    (DeadLetter, LETTER, "first_failed_at"), (DeadLetter, LETTER, "last_failed_at"),
]
FIELD_IDS = [f"{model.__name__}.{name}" for model, _, name in FIELDS]


@pytest.mark.parametrize(("model", "valid", "name"), FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize("naive", ["2024-03-01T10:00:00", datetime(2024, 3, 1, 10)], ids=["json", "python"])
def test_a_datetime_without_an_offset_is_taken_as_utc(model: type[BaseModel], valid: dict[str, Any], name: str,
                                                      naive: str | datetime) -> None:
    value = getattr(model.model_validate({**valid, name: naive}), name)
    assert value == datetime(2024, 3, 1, 10, tzinfo=UTC) and value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("model", "valid", "name"), FIELDS, ids=FIELD_IDS)
def test_a_datetime_with_an_offset_is_kept(model: type[BaseModel], valid: dict[str, Any], name: str) -> None:
    value = getattr(model.model_validate({**valid, name: "2024-03-01T17:00:00+07:00"}), name)
    assert value == datetime(2024, 3, 1, 17, tzinfo=WIB) and value.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("absurd", ["kemarin sore", "2024-13-01T00:00:00", "2024-02-30T10:00:00",
                                    "10000-01-01T00:00:00", "", "2024-03-01T25:00:00", [2024, 3, 1]])
@pytest.mark.parametrize(("model", "valid", "name"), FIELDS, ids=FIELD_IDS)
def test_what_is_not_a_datetime_is_still_refused(model: type[BaseModel], valid: dict[str, Any], name: str,
                                                  absurd: object) -> None:
    with pytest.raises(ValidationError, match=name):
        model.model_validate({**valid, name: absurd})


def test_a_message_round_trips_with_its_offset() -> None:
    article = Article.model_validate({**ARTICLE, "published_at": "2024-03-01T10:00:00"})
    dumped = article.model_dump(mode="json")
    assert dumped["published_at"] == "2024-03-01T10:00:00Z"
    assert Article.model_validate(dumped) == article


def test_a_naive_date_pushed_on_the_ingest_queue_comes_out_aware() -> None:
    article = build_article(RawDocument.model_validate({**RAW, "url": "https://kabar.test/pompa",
                                                        "published_at": "2024-03-01T10:00:00"}))
    assert article.published_at == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_story_grouping_compares_a_naive_date_with_an_aware_one(tmp_path: Path) -> None:
    """The failure this prevents: enrich comparing dates of one story raised TypeError."""
    grouper = StoryGrouper(SqliteStoryStore(tmp_path / "stories.sqlite3"), join_probability=0.5,
                           window=timedelta(days=3))
    first = Article.model_validate({**ARTICLE, "published_at": "2024-03-01T17:00:00+07:00"})
    second = Article.model_validate({**ARTICLE, "id": "a2", "published_at": "2024-03-01T12:00:00"})
    assert first.published_at is not None and second.published_at is not None
    vectorizer = default_vectorizer()
    story = grouper.assign(first.id, vectorizer.features(first.title, first.text, [], first.published_at), None)
    assert grouper.assign(second.id, vectorizer.features(second.title, second.text, [], second.published_at),
                          None) == story


def test_an_entity_from_before_ids_gets_the_id_of_its_canonical_name() -> None:
    old = Entity.model_validate({"text": "Korut", "label": "LOC", "start": 0, "end": 5, "canonical": "North Korea"})
    assert old.id == entity_id("LOC", "North Korea") == "loc:north-korea"
    new = Entity(text="Korut", label="LOC", start=0, end=5, canonical="North Korea", id="loc:north-korea")
    assert new == old
    assert Entity.model_validate_json(new.model_dump_json()) == new


@pytest.mark.parametrize(("label", "canonical", "expected"), [
    ("LOC", "Wŏnsan", "loc:wonsan"), ("PER", "Kim Jong-un", "per:kim-jong-un"), ("ORG", "東京電力", "org:東京電力"),
    ("PER", "Jordan", "per:jordan"), ("LOC", "Jordan", "loc:jordan"),
])
def test_entity_ids_fold_case_accents_and_punctuation_but_keep_the_type(label: str, canonical: str,
                                                                       expected: str) -> None:
    assert entity_id(label, canonical) == expected


def test_entity_ids_stay_short_and_never_empty() -> None:
    long_name = entity_id("ORG", "Kementerian " * 40)
    assert len(long_name) <= MAX_ENTITY_ID_CHARS and long_name != entity_id("ORG", "Kementerian " * 41)
    assert entity_id("MISC", "!!!").startswith("misc:") and len(entity_id("MISC", "!!!")) > len("misc:")
