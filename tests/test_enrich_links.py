"""Enrichment state: publication dates, near-duplicate links and same-story grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from kabar_enrich import story_store
from kabar_enrich.dates import date_from_html, date_from_text
from kabar_enrich.fingerprint import fingerprint
from kabar_enrich.neardup import LinkStore, NearDuplicateIndex, RedisLinkStore, SqliteLinkStore
from kabar_enrich.stories import Story, StoryGrouper, StoryStore
from kabar_enrich.story_features import StoryFeatures, default_vectorizer
from kabar_enrich.story_store import RedisStoryStore, SqliteStoryStore
from kabar_ingest.cleaning import clean_text

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
WIB = "+07:00"


@pytest.mark.parametrize(("text", "expected"), [
    ("dilansir AFP, Sabtu (12/7/2025).", f"2025-07-12T00:00:00{WIB}"),
    ("Kamis, 19 Oktober 2023 - 16:08:00 WIB\nRusia", f"2023-10-19T16:08:00{WIB}"),
    ("Kemenlu Rusia pada Minggu (13/7/2025) saat", f"2025-07-13T00:00:00{WIB}"),
    ("Selasa, 5 Maret 2024 10:15 WITA", "2024-03-05T10:15:00+08:00"),
    ("Saturday, July 12, 2025 10:00 GMT", "2025-07-12T10:00:00+00:00"),
])
def test_dates_in_text_are_read_in_their_zone_and_stored_in_utc(text: str, expected: str) -> None:
    found = date_from_text(text)
    assert found == datetime.fromisoformat(expected)
    assert found is not None and found.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", [
    "Novanto ditetapkan KPK pada 17 Juli 2017.",  # an event date in the prose, no weekday
    "Sabtu (13/7/2025) pertemuan",  # 13 July 2025 was a Sunday: a misreading
    "Kamis, 31 Februari 2023",  # no such day
    "Senin (1/1/2199)",  # in the future
    "tanpa tanggal sama sekali",
])
def test_no_date_rather_than_a_guess(text: str) -> None:
    assert date_from_text(text) is None


def test_seed_dates() -> None:
    found = [date_from_text(seed.read_text()) for seed in SEEDS]
    assert found[0] == datetime(2025, 7, 11, 17, tzinfo=UTC)
    assert found[1] is None
    assert found[4] == datetime(2023, 10, 19, 9, 8, tzinfo=UTC)


def test_date_from_html_metadata() -> None:
    html = ('<html><head><meta property="article:published_time" content="2025-07-12T10:30:00+07:00">'
            "</head><body><p>Isi</p></body></html>")
    assert date_from_html(html) == datetime(2025, 7, 12, 3, 30, tzinfo=UTC)
    assert date_from_html("<html><body><p>Tanpa tanggal</p></body></html>") is None


@pytest.fixture(params=["sqlite", "redis"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[LinkStore, StoryStore]:
    if request.param == "sqlite":
        return SqliteLinkStore(tmp_path / "state.db"), SqliteStoryStore(tmp_path / "state.db")
    url: str = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    return RedisLinkStore(client, "kabar-test"), RedisStoryStore(client, "kabar-test")


def seed_text(index: int) -> tuple[str, str]:
    cleaned = clean_text(SEEDS[index].read_text())
    return cleaned.title, cleaned.text


def test_copies_and_teasers_link_to_the_first_seen_article(stores: tuple[LinkStore, StoryStore]) -> None:
    index = NearDuplicateIndex(stores[0])
    title, text = seed_text(1)
    paragraphs = text.split("\n\n")
    teaser = "\n\n".join(paragraphs[: len(paragraphs) // 2])
    furniture = "Iklan - Scroll untuk Melanjutkan\n\n" + text + "\n\nBaca juga: berita lain hari ini"
    assert index.link("original", fingerprint(title, text, 128)) is None
    assert index.link("copy", fingerprint(title, furniture, 128)) == "original"
    assert index.link("teaser", fingerprint(title, teaser, 128)) == "original"
    assert index.link("copy-of-copy", fingerprint(title, furniture + " Tambahan.", 128)) == "original"
    # The same story told by another outlet is not a near-duplicate.
    assert index.link("other", fingerprint(*seed_text(0), 128)) is None
    # Asking again gives the first answer.
    assert index.link("teaser", fingerprint("x", "y z", 128)) == "original"


RECEIVED = datetime(2025, 7, 12, 6, tzinfo=UTC)


def features(title: str, text: str, moment: datetime | None = None) -> StoryFeatures:
    """As the enrich stage gives them: the date in the text unless one is given (seed 001 has none)."""
    return default_vectorizer().features(title, text, [], moment or date_from_text(text), RECEIVED)


def test_seed_stories_follow_content_and_time(stores: tuple[LinkStore, StoryStore]) -> None:
    grouper = StoryGrouper(stores[1], join_probability=0.5, window=timedelta(days=7))
    stories = [grouper.assign(seed.name, features(*seed_text(number)), None) for number, seed in enumerate(SEEDS)]
    assert len(set(stories[:4])) == 1, stories
    assert stories[4] != stories[0]
    assert grouper.assign(SEEDS[2].name, features("anything", "else entirely"), None) == stories[2]


def test_a_near_duplicate_joins_its_originals_story(stores: tuple[LinkStore, StoryStore]) -> None:
    grouper = StoryGrouper(stores[1], join_probability=0.5, window=timedelta(days=7))
    first = grouper.assign("a", features(*seed_text(4)), None)
    assert grouper.assign("b", features("Harga beras", "teks yang sangat berbeda tentang harga beras"), "a") == first


def filed_story(story_id: str, term: str, moment: datetime) -> Story:
    """A one-article story filed under ``term`` (its strongest word) and dated ``moment``."""
    story = Story(story_id=story_id)
    story.absorb(StoryFeatures(body={term: 1.0}, lead={term: 1.0}, names={}, moment=moment))
    return story


def test_candidates_are_the_newest_stories_within_the_window(stores: tuple[LinkStore, StoryStore],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(story_store, "POSTING_LIMIT", 4)
    monkeypatch.setattr(story_store, "MAX_CANDIDATES", 3)
    store = stores[1]
    for number in range(8):  # one a day, the newest last
        store.save(filed_story(f"s{number}", "banjir", RECEIVED - timedelta(days=7 - number)), f"a{number}", [])
    store.save(filed_story("old", "banjir", RECEIVED - timedelta(days=40)), "a-old", [])
    found = store.lookup("new", None, ["banjir"], RECEIVED, timedelta(days=7))
    assert found.known is None
    # At most 4 stories read from the posting list, the newest; 3 of them scored.
    assert [story.story_id for story in found.candidates] == ["s4", "s5", "s6"]
    assert store.lookup("new", None, ["banjir"], RECEIVED - timedelta(days=38), timedelta(days=7)).candidates[0] \
        .story_id == "old"
    assert store.lookup("new", None, ["kebakaran"], RECEIVED, timedelta(days=7)).candidates == []


def test_redis_posting_lists_keep_only_the_newest_stories(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(story_store, "POSTING_KEEP", 5)
    client = redis.Redis.from_url(redis_url)
    store = RedisStoryStore(client, "kabar-test")
    for number in range(8):
        store.save(filed_story(f"s{number}", "gempa", RECEIVED + timedelta(hours=number)), f"a{number}", [])
    kept = [member.decode() for member in client.zrange("kabar-test:stories:post:gempa", 0, -1)]
    assert kept == ["s3", "s4", "s5", "s6", "s7"]


def test_a_story_moves_its_postings_when_its_terms_change(stores: tuple[LinkStore, StoryStore]) -> None:
    store = stores[1]
    story = filed_story("s", "banjir", RECEIVED)
    store.save(story, "a1", [])
    old_terms = list(story.index_terms)
    story.absorb(StoryFeatures(body={"gempa": 5.0}, lead={}, names={}, moment=RECEIVED))
    story.absorb(StoryFeatures(body={"gempa": 5.0}, lead={}, names={}, moment=RECEIVED))
    story.index_terms = ["gempa"]
    store.save(story, "a2", old_terms)
    assert store.lookup("x", None, ["banjir"], RECEIVED, timedelta(days=1)).candidates == []
    assert [s.story_id for s in store.lookup("x", None, ["gempa"], RECEIVED, timedelta(days=1)).candidates] == ["s"]


def test_grouping_is_the_same_for_the_same_arrival_order(tmp_path: Path) -> None:
    def grouped(path: Path) -> list[str]:
        grouper = StoryGrouper(SqliteStoryStore(path), join_probability=0.5, window=timedelta(days=7))
        return [grouper.assign(seed.name, features(*seed_text(number)), None) for number, seed in enumerate(SEEDS)]

    assert grouped(tmp_path / "first.db") == grouped(tmp_path / "second.db")


def test_an_undated_article_joins_without_moving_the_storys_dates(stores: tuple[LinkStore, StoryStore]) -> None:
    grouper = StoryGrouper(stores[1], join_probability=0.5, window=timedelta(days=7))
    title, text = seed_text(0)
    dated = grouper.assign("dated", features(title, text, RECEIVED - timedelta(days=30)), None)
    undated = default_vectorizer().features(title, text, [], None, RECEIVED)
    assert grouper.assign("undated", undated, None) == dated
    story = stores[1].lookup("another", None, ["lavrov"], None, timedelta(days=7)).candidates[0]
    assert (story.first, story.last, story.size) == (RECEIVED - timedelta(days=30), RECEIVED - timedelta(days=30), 2)


def test_a_story_without_dates_is_filed_by_when_its_article_arrived(stores: tuple[LinkStore, StoryStore]) -> None:
    grouper = StoryGrouper(stores[1], join_probability=0.5, window=timedelta(days=7))
    title, text = seed_text(1)  # no date in the text
    first = grouper.assign("undated", default_vectorizer().features(title, text, [], None, RECEIVED), None)
    assert grouper.assign("dated-copy", features(title, text, RECEIVED + timedelta(hours=3)), None) == first
    assert grouper.assign("much-later", features(title, text, RECEIVED + timedelta(days=30)), None) != first


def test_the_same_report_too_many_days_later_starts_a_new_story(stores: tuple[LinkStore, StoryStore]) -> None:
    grouper = StoryGrouper(stores[1], join_probability=0.5, window=timedelta(days=7))
    title, text = seed_text(0)
    first = grouper.assign("first", features(title, text, RECEIVED), None)
    assert grouper.assign("next-day", features(title, text, RECEIVED + timedelta(days=1)), None) == first
    assert grouper.assign("much-later", features(title, text, RECEIVED + timedelta(days=9)), None) != first
