"""Stories as first-class objects, on both search backends: summaries, lists by recency and growth, filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kabar.contract.messages import EnrichedArticle, Entity, EntityLabel
from kabar_search.backend import SearchBackend, open_backend
from kabar_search.request import Filters, epoch_millis
from kabar_search.story_query import StoryQuery
from search_support import backend_settings

DAY = datetime(2025, 7, 10, 8, tzinfo=UTC)


def article(article_id: str, story: str, title: str, days: float, *, source: str = "kompas.com",
            language: str = "id", names: tuple[tuple[str, EntityLabel], ...] = (),
            duplicate_of: str | None = None) -> EnrichedArticle:
    text = f"{title}. " + " ".join(name for name, _ in names)
    entities, at = [], len(title) + 2
    for name, label in names:
        entities.append(Entity(text=name, label=label, start=at, end=at + len(name), canonical=name))
        at += len(name) + 1
    return EnrichedArticle(
        id=article_id, url=f"https://{source}/{article_id}", source_domain=source, title=title, text=text,
        content_hash=f"hash-{article_id}", published_at=DAY + timedelta(days=days), received_at=DAY,
        language=language, language_confidence=0.99, entities=entities, fingerprint="AAAA",
        duplicate_of=duplicate_of, story_id=story,
    )


KIM = ("Kim Jong Un", "PER")
LAVROV = ("Sergei Lavrov", "PER")
WONSAN = ("Wonsan", "LOC")
ARTICLES = [
    # s-summit: four days, three outlets, two languages, a near-copy
    article("k1", "s-summit", "Lavrov tiba di Wonsan", 0, names=(LAVROV, WONSAN)),
    article("k2", "s-summit", "Lavrov bertemu Kim Jong Un", 1, source="antaranews.com", names=(LAVROV, KIM, WONSAN)),
    article("k3", "s-summit", "Lavrov bertemu Kim Jong Un di Wonsan", 1.1, source="copy.example",
            names=(LAVROV, KIM), duplicate_of="k2"),
    article("k4", "s-summit", "Lavrov meets Kim Jong Un", 3, source="reuters.com", language="en",
            names=(LAVROV, KIM)),
    # s-rice: an older story, one article
    article("r1", "s-rice", "Harga beras naik", -5, names=(("Jakarta", "LOC"),)),
    # s-flood: newest, two articles on its last day
    article("f1", "s-flood", "Banjir di Bekasi", 2, names=(("Bekasi", "LOC"),)),
    article("f2", "s-flood", "Banjir Bekasi meluas", 3.5, source="detik.com", names=(("Bekasi", "LOC"),)),
    article("f3", "s-flood", "Pengungsi banjir Bekasi", 3.6, source="tempo.co", names=(("Bekasi", "LOC"),)),
]


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    opened = open_backend(backend_settings(request.param, request, tmp_path))
    opened.upsert_many(ARTICLES, refresh=True)
    yield opened
    opened.close()


def test_a_story_has_a_summary_a_timeline_and_its_articles(backend: SearchBackend) -> None:
    found = backend.story("s-summit", 100)
    assert found is not None and found.summary is not None
    summary = found.summary
    assert summary.headline == "Lavrov tiba di Wonsan"
    assert (summary.first_seen, summary.last_updated) == (DAY, DAY + timedelta(days=3))
    assert (summary.articles, summary.duplicates) == (4, 1)
    assert [(b.value, b.count) for b in summary.outlets] == [
        ("antaranews.com", 1), ("copy.example", 1), ("kompas.com", 1), ("reuters.com", 1)]
    assert [(b.value, b.count) for b in summary.languages] == [("id", 3), ("en", 1)]
    assert [(e.name, e.id, e.label, e.articles) for e in summary.entities] == [
        ("Sergei Lavrov", "per:sergei-lavrov", "PER", 4), ("Kim Jong Un", "per:kim-jong-un", "PER", 3),
        ("Wonsan", "loc:wonsan", "LOC", 2)]
    assert [(b.start, b.count) for b in found.timeline] == [
        (date(2025, 7, 10), 1), (date(2025, 7, 11), 2), (date(2025, 7, 13), 1)]
    assert [item.id for item in found.articles] == ["k1", "k2", "k3", "k4"]
    assert [item.is_duplicate for item in found.articles] == [False, False, True, False]


def test_the_headline_skips_near_copies(backend: SearchBackend) -> None:
    backend.upsert_many([article("c0", "s-copy", "Salinan lebih dulu", 0, duplicate_of="elsewhere"),
                         article("c1", "s-copy", "Berita asli", 1)], refresh=True)
    found = backend.story("s-copy", 10)
    assert found is not None and found.summary is not None
    assert found.summary.headline == "Berita asli"


def test_stories_by_recency(backend: SearchBackend) -> None:
    listed = backend.stories(StoryQuery())
    assert listed.total == 3
    assert [story.story_id for story in listed.stories] == ["s-flood", "s-summit", "s-rice"]
    assert listed.stories[0].articles == 3 and listed.stories[0].recent_articles is None
    assert listed.next_offset is None


def test_stories_page_with_offset(backend: SearchBackend) -> None:
    first = backend.stories(StoryQuery(limit=2))
    assert [story.story_id for story in first.stories] == ["s-flood", "s-summit"]
    assert first.next_offset == 2
    second = backend.stories(StoryQuery(limit=2, offset=2))
    assert [story.story_id for story in second.stories] == ["s-rice"]
    assert second.next_offset is None


def test_stories_by_growth_count_only_the_window(backend: SearchBackend) -> None:
    since = epoch_millis(DAY + timedelta(days=2, hours=12))  # from the middle of day 3
    listed = backend.stories(StoryQuery(sort="growth", growth_since_ms=since))
    assert [(story.story_id, story.recent_articles) for story in listed.stories] == [("s-flood", 2), ("s-summit", 1)]
    assert listed.total == 2
    assert listed.stories[0].articles == 3  # the summary is of the whole story


@pytest.mark.parametrize(("filters", "expected"), [
    (Filters(languages=("en",)), ["s-summit"]),
    (Filters(entities=("Kim Jong Un",)), ["s-summit"]),
    (Filters(entities=("Bekasi",)), ["s-flood"]),
    (Filters(entity_ids=("per:kim-jong-un", "loc:wonsan")), ["s-summit"]),
    (Filters(since_ms=epoch_millis(DAY - timedelta(days=6)), until_ms=epoch_millis(DAY - timedelta(days=4))),
     ["s-rice"]),
    (Filters(sources=("detik.com", "reuters.com")), ["s-flood", "s-summit"]),
    (Filters(languages=("ms",)), []),
])
def test_story_filters(backend: SearchBackend, filters: Filters, expected: list[str]) -> None:
    listed = backend.stories(StoryQuery(filters=filters))
    assert [story.story_id for story in listed.stories] == expected
    assert listed.total == len(expected)


def test_an_unknown_story_is_none(backend: SearchBackend) -> None:
    assert backend.story("no-such-story", 10) is None
