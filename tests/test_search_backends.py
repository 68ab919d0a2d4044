"""One contract, three search backends: SQLite FTS5 (embedded), Elasticsearch and OpenSearch (real, over HTTP)."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from articles import KIM, NEWSROOM, day, news
from kabar.contract.messages import EnrichedArticle, Entity, entity_id
from kabar_search.backend import SearchBackend, open_backend
from kabar_search.query import QueryError, parse_query, words_of
from kabar_search.request import (
    Cursor,
    Filters,
    PageTokenError,
    SearchOptions,
    decode_token,
    encode_token,
    epoch_millis,
)
from kabar_search.sqlite_backend import SqliteBackend
from search_support import backend_settings


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


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    opened = open_backend(backend_settings(request.param, request, tmp_path))
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
    for raw, expected in [("Kim AND (Jong)", 0), ("title:Kim*", 0), ("Kim NEAR/2 Un", 0), ("{Kim} [Jong] (Un)", 3),
                          ("Kim OR 1=1 --", 0), ('"Kim Jong" +Un!', 3), ("Kim~ Jong?", 3)]:
        result = backend.search(parse_query(raw), raw, 10)
        assert result.total == expected, raw


@pytest.mark.parametrize("raw", ["", "   ", "-kim", "!!!", "x" * 501, '"Kim Jong', 'Kim "Jong" "Un',
                                 "Kim AND (Jong", "Kim) OR 1=1 --", "[Kim", "(Kim]", "Kim}", "((Kim)"])
def test_unsearchable_queries_are_refused(raw: str) -> None:
    with pytest.raises(QueryError):
        parse_query(raw)


# ---------------------------------------------------------------------------------------------
# The full contract: filters, facets, collapse by story, search_after pages, stories, versions.
# Expected values come from an oracle over NEWSROOM in plain Python, never from a backend.
# ---------------------------------------------------------------------------------------------

def matches(item: EnrichedArticle, words: list[str]) -> bool:
    tokens = set(words_of(f"{item.title} {item.text} {' '.join(e.canonical for e in item.entities)}"))
    return all(word in tokens for word in words)


def dated(item: EnrichedArticle) -> datetime:
    return item.published_at or item.received_at


def top(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda pair: (-pair[1], pair[0]))[:10]


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def newsroom(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    opened = open_backend(backend_settings(request.param, request, tmp_path))
    outcomes = opened.upsert_many(NEWSROOM, refresh=True)
    assert [outcome.status for outcome in outcomes] == ["created"] * len(NEWSROOM)
    yield opened
    opened.close()


def search(backend: SearchBackend, raw: str, limit: int = 50, **options: Any) -> Any:
    return backend.search(parse_query(raw), raw, limit, SearchOptions(**options))


def every_page(backend: SearchBackend, raw: str, limit: int, **options: Any) -> list[Any]:
    hits, token, pages = [], None, 0
    query = parse_query(raw)
    while True:
        after: Cursor | None = decode_token(token, query, SearchOptions(**options)) if token else None
        result = backend.search(query, raw, limit, SearchOptions(**options, after=after))
        hits += result.hits
        token, pages = result.next_search_after, pages + 1
        assert pages <= 20, "paging does not end"
        if token is None:
            return hits


def test_filters_narrow_the_results(newsroom: SearchBackend) -> None:
    def ids(**filters: Any) -> set[str]:
        return {hit.id for hit in search(newsroom, "berita", filters=Filters(**filters)).hits}

    assert ids(languages=("en",)) == {"n04"}
    assert ids(sources=("reuters.com", "kompas.com")) == {"n03", "n04", "n06", "n09"}
    assert ids(entities=("Kim Jong Un", "Wonsan")) == {"n01", "n04"}
    assert ids(entities=("KCNA",), sources=("detik.com",)) == {"n05"}
    assert ids(story_ids=("story-c",)) == {"n06", "n07"}
    july_12 = Filters(since_ms=epoch_millis(day(12, hour=0)), until_ms=epoch_millis(day(13, hour=0)))
    assert ids(since_ms=july_12.since_ms, until_ms=july_12.until_ms) == {"n01", "n04"}
    # n07 has no publication date: it is dated by its receipt (20 July)
    assert ids(since_ms=epoch_millis(day(20, hour=0)), until_ms=epoch_millis(day(21, hour=0))) == {"n07"}
    assert ids(languages=("fr",)) == set()


def test_facets_count_every_matching_article(newsroom: SearchBackend) -> None:
    for raw in ("berita", "kim", "jakarta -banjir"):
        words = [w for w in raw.split() if not w.startswith("-")]
        hits = [item for item in NEWSROOM if matches(item, words) and not (
            "-banjir" in raw and matches(item, ["banjir"]))]
        result = search(newsroom, raw, facets=True, interval="month")
        facets = result.facets
        assert result.total == len(hits)
        assert [(b.value, b.count) for b in facets.language] == top(Counter(item.language for item in hits))
        assert [(b.value, b.count) for b in facets.source] == top(Counter(i.source_domain for i in hits
                                                                          if i.source_domain))
        for label in ("PER", "ORG", "LOC", "MISC"):
            expected = top(Counter(name for item in hits for name in {e.canonical for e in item.entities
                                                                      if e.label == label}))
            assert [(b.value, b.count) for b in facets.entities[label]] == expected, (raw, label)
        months = Counter(dated(item).date().replace(day=1) for item in hits)
        assert [(b.start, b.count) for b in facets.dates] == sorted(months.items())


def test_date_histogram_intervals(newsroom: SearchBackend) -> None:
    for interval in ("day", "week", "year"):
        buckets = search(newsroom, "berita", facets=True, interval=interval).facets.dates
        starts = [dated(item).date() for item in NEWSROOM]
        if interval == "week":
            starts = [d - timedelta(days=d.weekday()) for d in starts]
        if interval == "year":
            starts = [d.replace(month=1, day=1) for d in starts]
        assert [(b.start, b.count) for b in buckets] == sorted(Counter(starts).items()), interval


def test_collapse_gives_one_hit_per_story_with_its_article_count(newsroom: SearchBackend) -> None:
    flat = search(newsroom, "kim").hits
    collapsed = search(newsroom, "kim", collapse=True)
    expected = Counter(item.story_id for item in NEWSROOM if matches(item, ["kim"]))
    assert collapsed.total == sum(expected.values())
    assert collapsed.total_stories == len(expected)
    assert [hit.story_id for hit in collapsed.hits] == list(dict.fromkeys(hit.story_id for hit in flat))
    for hit in collapsed.hits:
        assert hit.story_articles == expected[hit.story_id]
        best = next(flat_hit for flat_hit in flat if flat_hit.story_id == hit.story_id)
        assert hit.id == best.id, "a story is represented by its best hit"


@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize("collapse", [False, True])
def test_search_after_pages_cover_every_hit_once_in_order(newsroom: SearchBackend, sort: str,
                                                          collapse: bool) -> None:
    whole = search(newsroom, "berita", limit=100, sort=sort, collapse=collapse)
    assert whole.next_search_after is None
    for size in (1, 3):
        paged = every_page(newsroom, "berita", size, sort=sort, collapse=collapse)
        assert [hit.id for hit in paged] == [hit.id for hit in whole.hits], size
    expected = len({i.story_id for i in NEWSROOM}) if collapse else len(NEWSROOM)
    assert len(whole.hits) == expected


def test_sort_by_date_is_newest_first(newsroom: SearchBackend) -> None:
    hits = search(newsroom, "berita", sort="date").hits
    expected = sorted(NEWSROOM, key=lambda item: (-dated(item).timestamp(), item.id))
    assert [hit.id for hit in hits] == [item.id for item in expected]


def test_title_matches_are_highlighted_too(newsroom: SearchBackend) -> None:
    hit = search(newsroom, "banjir").hits[0]
    assert hit.id == "n08"
    assert hit.title_highlight == "<mark>Banjir</mark> di Jakarta"
    assert "<mark>banjir</mark>" in hit.highlight


def test_story_lists_all_coverage_oldest_first_with_duplicates_marked(newsroom: SearchBackend) -> None:
    story = newsroom.story("story-a", 100)
    assert story is not None
    expected = sorted((item for item in NEWSROOM if item.story_id == "story-a"), key=lambda i: (dated(i), i.id))
    assert [a.id for a in story.articles] == [item.id for item in expected]
    assert story.total == len(expected)
    assert {a.id for a in story.articles if a.is_duplicate} == {"n03"}
    first_two = newsroom.story("story-a", 2)
    assert first_two is not None
    assert first_two.total == len(expected)
    assert len(first_two.articles) == 2
    assert newsroom.story("no-such-story", 10) is None


def test_a_batch_reports_each_article_and_applies_in_order(newsroom: SearchBackend) -> None:
    fresh = news("n20", "Gempa di Sulawesi", "Berita: gempa mengguncang Sulawesi.", "story-f")
    changed = news("n20", "Gempa di Sulawesi (update)", "Berita: gempa 6,1 mengguncang Sulawesi.", "story-f",
                   content_hash="hash-n20-v2")
    outcomes = newsroom.upsert_many([NEWSROOM[0], fresh, fresh, changed, NEWSROOM[1]], refresh=True)
    assert [(o.id, o.status, o.version) for o in outcomes] == [
        ("n01", "unchanged", 1), ("n20", "created", 1), ("n20", "unchanged", 1), ("n20", "updated", 2),
        ("n02", "unchanged", 1)]
    assert newsroom.count() == len(NEWSROOM) + 1
    assert search(newsroom, "gempa").hits[0].title == "Gempa di Sulawesi (update)"


def test_each_content_change_is_a_new_version_keeping_the_previous_hashes(newsroom: SearchBackend) -> None:
    for version in (2, 3):
        edited = news("n08", f"Banjir di Jakarta (v{version})", "Berita: banjir surut.", "story-d",
                      content_hash=f"hash-n08-v{version}")
        assert newsroom.upsert(edited) is True
    stored = newsroom.get("n08")
    assert stored is not None
    assert stored["version"] == 3
    assert stored["content_hash"] == "hash-n08-v3"
    assert stored["previous_content_hashes"] == ["hash-n08", "hash-n08-v2"]
    assert newsroom.count() == len(NEWSROOM)
    assert search(newsroom, "surut").total == 1
    assert search(newsroom, "melanda").total == 0, "the old text is no longer searchable"


def test_a_token_from_another_query_is_refused() -> None:
    query, other = parse_query("kim"), parse_query("rusia")
    token = encode_token(query, SearchOptions(), Cursor(key=1.5, id="n01"))
    assert decode_token(token, query, SearchOptions()) == Cursor(key=1.5, id="n01")
    for wrong_query, wrong_options in [(other, SearchOptions()), (query, SearchOptions(sort="date")),
                                       (query, SearchOptions(collapse=True)),
                                       (query, SearchOptions(filters=Filters(languages=("en",))))]:
        with pytest.raises(PageTokenError, match="different query"):
            decode_token(token, wrong_query, wrong_options)


@pytest.mark.parametrize("token", ["", "x", "!!!!", "e30", "W10", "eyJ2IjoxfQ", "a" * 2000])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(PageTokenError):
        decode_token(token or "=", parse_query("kim"), SearchOptions())


def test_a_token_with_a_forged_sort_key_is_refused() -> None:
    query = parse_query("kim")
    fingerprint_of = encode_token(query, SearchOptions(sort="date"), Cursor(key=1, id="a")).rstrip("=")
    body = json.loads(base64.urlsafe_b64decode(fingerprint_of + "=" * (-len(fingerprint_of) % 4)))
    for key, article_id in [(1e300, "a"), ("1", "a"), (1.5, "a"), (1, ""), (1, 7), (True, "a")]:
        forged = base64.urlsafe_b64encode(json.dumps({**body, "k": key, "i": article_id}).encode()).decode()
        with pytest.raises(PageTokenError):
            decode_token(forged, query, SearchOptions(sort="date"))


def test_an_index_from_before_facets_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE articles (id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
                               language TEXT, story_id TEXT, published_at TEXT, doc TEXT NOT NULL);
        CREATE VIRTUAL TABLE articles_fts USING fts5(id UNINDEXED, title, text, entities);""")
    item = NEWSROOM[0]
    old.execute("INSERT INTO articles VALUES (?, ?, 4, ?, ?, NULL, ?)",
                (item.id, item.content_hash, item.language, item.story_id, item.model_dump_json()))
    old.execute("INSERT INTO articles_fts VALUES (?, ?, ?, ?)", (item.id, item.title, item.text, "Kim Jong Un"))
    old.commit()
    old.close()
    upgraded = SqliteBackend(path)
    try:
        assert search(upgraded, "wonsan", facets=True).facets.entities["PER"][0].value == "Kim Jong Un"
        stored = upgraded.get(item.id)
        assert stored is not None and stored["version"] == 4
        assert upgraded.upsert(item) is False
    finally:
        upgraded.close()


def test_entity_ids_filter_and_facets_group_on_them(newsroom: SearchBackend) -> None:
    def ids(*entity_ids: str) -> set[str]:
        return {hit.id for hit in search(newsroom, "berita", filters=Filters(entity_ids=entity_ids)).hits}

    assert ids("per:kim-jong-un", "loc:wonsan") == {"n01", "n04"}
    assert ids("org:kcna") == {"n02", "n03", "n05"}
    assert ids("loc:kim-jong-un") == set()  # the type is part of the id
    facets = search(newsroom, "berita", facets=True).facets
    for label in ("PER", "ORG", "LOC"):
        for bucket in facets.entities[label]:
            assert bucket.id == entity_id(label, bucket.value)
    # An article enriched before newsroom spellings: same id, another name. It groups with the others.
    older = news("n11", "Kim Jong Un di Wonsan", "Berita: Kim Jong Un di Wŏnsan.", "story-a", source="detik.com",
                 published=day(14), entities=[KIM, ("LOC", "Wŏnsan")])
    assert older.entities[1].id == "loc:wonsan"
    newsroom.upsert_many([older], refresh=True)
    wonsan = [b for b in search(newsroom, "berita", facets=True).facets.entities["LOC"] if b.id == "loc:wonsan"]
    assert [(b.value, b.count) for b in wonsan] == [("Wonsan", 3)]
    assert ids("loc:wonsan") == {"n01", "n04", "n11"}


def test_an_index_from_before_entity_ids_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    current = SqliteBackend(path)
    current.upsert_many(NEWSROOM[:2])
    current.close()
    old = sqlite3.connect(path)  # the schema-2 table: entities by name only
    old.executescript("""
        DROP TABLE article_entities;
        CREATE TABLE article_entities (article_id TEXT NOT NULL, label TEXT NOT NULL, canonical TEXT NOT NULL,
                                       PRIMARY KEY (article_id, label, canonical)) WITHOUT ROWID;
        INSERT INTO article_entities VALUES ('n01', 'PER', 'Kim Jong Un');
        PRAGMA user_version = 2;""")
    old.close()
    upgraded = SqliteBackend(path)
    try:
        kim = search(upgraded, "berita", facets=True).facets.entities["PER"][0]
        assert (kim.value, kim.count, kim.id) == ("Kim Jong Un", 2, "per:kim-jong-un")
        assert {hit.id for hit in search(upgraded, "berita", filters=Filters(entity_ids=("org:kcna",))).hits} == {
            "n02"}
    finally:
        upgraded.close()
