"""One contract, two search backends: SQLite FTS5 (embedded) and Elasticsearch (osmem-server over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kabar.contract.messages import EnrichedArticle, Entity
from kabar.contract.settings import KabarSettings
from kabar_search.backend import SearchBackend, open_backend
from kabar_search.query import QueryError, parse_query


def article(article_id: str, title: str, text: str, story: str = "s1", content_hash: str | None = None,
            language: str = "id") -> EnrichedArticle:
    start = text.find("Kim Jong Un")
    entities = [Entity(text="Kim Jong Un", label="PER", start=start, end=start + 11, canonical="Kim Jong Un")] \
        if start >= 0 else []
    return EnrichedArticle(
        id=article_id, title=title, text=text, content_hash=content_hash or f"hash-{article_id}",
        received_at=datetime(2025, 7, 12, tzinfo=UTC), language=language, language_confidence=0.99,
        entities=entities, fingerprint="AAAA", story_id=story,
    )


ARTICLES = [
    article("a1", "Lavrov bertemu Kim Jong Un", "Menlu Rusia bertemu Kim Jong Un di Wonsan membahas nuklir."),
    article("a2", "Rusia dan Korut", "Pyongyang mengirim pasukan. Kim Jong Un mendukung Rusia.", story="s1"),
    article("a3", "Harga beras naik", "Harga beras di Jakarta naik menjelang Lebaran.", story="s2"),
    article("a4", "Kremlin talks", "Russia's foreign minister met Kim Jong Un in Wonsan.", story="s1",
            language="en"),
]


@pytest.fixture(params=["sqlite", "elasticsearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    if request.param == "sqlite":
        settings = KabarSettings(search_backend="sqlite", data_dir=tmp_path)
    else:
        clone: Any = request.getfixturevalue("osmem_clone")
        settings = KabarSettings(search_backend="elasticsearch", elasticsearch_url=clone.url,
                                 elasticsearch_server_mode="serverless", data_dir=tmp_path)
    opened = open_backend(settings)
    for item in ARTICLES:
        assert opened.upsert(item) is True
    yield opened
    opened.close()


def test_search_finds_all_matching_articles(backend: SearchBackend) -> None:
    result = backend.search(parse_query("Kim Jong Un"), "Kim Jong Un", 10)
    assert result.total == 3
    assert {hit.id for hit in result.hits} == {"a1", "a2", "a4"}


def test_words_are_anded_and_exclusions_apply(backend: SearchBackend) -> None:
    assert {h.id for h in backend.search(parse_query("Kim Wonsan"), "", 10).hits} == {"a1", "a4"}
    assert {h.id for h in backend.search(parse_query("Kim -nuklir"), "", 10).hits} == {"a2", "a4"}
    assert backend.search(parse_query("beras Kim"), "", 10).total == 0


def test_phrase_query(backend: SearchBackend) -> None:
    assert {h.id for h in backend.search(parse_query('"harga beras"'), "", 10).hits} == {"a3"}
    assert backend.search(parse_query('"beras harga"'), "", 10).total == 0


def test_matches_are_highlighted(backend: SearchBackend) -> None:
    hit = backend.search(parse_query("nuklir"), "nuklir", 10).hits[0]
    assert hit.id == "a1"
    assert "<mark>nuklir</mark>" in hit.highlight


def test_title_match_ranks_first(backend: SearchBackend) -> None:
    hits = backend.search(parse_query("lavrov"), "lavrov", 10).hits
    assert hits[0].id == "a1"


def test_limit_caps_hits_not_total(backend: SearchBackend) -> None:
    result = backend.search(parse_query("Kim"), "Kim", 1)
    assert result.total == 3
    assert len(result.hits) == 1


def test_upsert_is_idempotent_and_versions_changes(backend: SearchBackend) -> None:
    assert backend.upsert(ARTICLES[0]) is False
    assert backend.count() == 4
    changed = article("a1", "Lavrov bertemu Kim Jong Un (diperbarui)", "Isi baru tentang Wonsan.",
                      content_hash="hash-a1-v2")
    assert backend.upsert(changed) is True
    stored = backend.get("a1")
    assert stored is not None
    assert stored["title"].endswith("(diperbarui)")
    assert stored["version"] == 2
    assert backend.count() == 4


def test_get_returns_the_enriched_document(backend: SearchBackend) -> None:
    stored = backend.get("a2")
    assert stored is not None
    assert stored["story_id"] == "s1"
    assert stored["entities"][0]["canonical"] == "Kim Jong Un"
    assert backend.get("missing") is None


def test_recent_lists_every_article(backend: SearchBackend) -> None:
    assert {doc["id"] for doc in backend.recent(10)} == {"a1", "a2", "a3", "a4"}


def test_query_syntax_from_users_is_never_passed_through(backend: SearchBackend) -> None:
    for raw in ['Kim AND (Jong', 'title:Kim*', 'Kim NEAR/2 Un', '"Kim Jong', "Kim) OR 1=1 --"]:
        result = backend.search(parse_query(raw), raw, 10)
        assert result.total >= 0


@pytest.mark.parametrize("raw", ["", "   ", "-kim", "!!!", "x" * 501])
def test_unsearchable_queries_are_refused(raw: str) -> None:
    with pytest.raises(QueryError):
        parse_query(raw)
