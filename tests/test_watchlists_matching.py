"""Watchlist matching gives the answer a search gives, article by article, on every backend with the
matcher it uses: the equivalent on SQLite FTS5 and on Elasticsearch's integ-test build (no
percolator), the percolator for real on OpenSearch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from articles import NEWSROOM, news, seed_articles
from conftest import EngineUnderTest
from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search.backend import SearchBackend, open_backend
from kabar_search.es_backend import ElasticsearchBackend
from kabar_search.es_compat import has_percolator
from kabar_search.request import SearchOptions
from kabar_search.watch.matching import (
    FtsMatcher,
    PercolatorMatcher,
    compile_snapshot,
    open_matcher,
    percolator_index,
)
from kabar_search.watch.models import Watchlist, WatchlistSpec
from search_support import backend_settings

# Beyond the newsroom and the seeds: case, diacritics, hyphens and punctuation.
EDGES = [
    news("e01", "Kafé baru di Jakarta", "Kafé itu dibuka oleh Kim Jong Un? Bukan: oleh warga.", "story-e1"),
    news("e02", "KAFE LAMA", "Sebuah kafe lama di Bandung ditutup; pemiliknya pindah.", "story-e2",
         source="kompas.com"),
    news("e03", "Jong-un dan Korea", "Nama Jong-un ditulis dengan tanda hubung di sini.", "story-e3",
         language="en"),
    news("e04", "São Paulo", "Berita dari São Paulo: hujan deras, banjir di jalan.", "story-e4"),
    news("e05", "Harga beras", "Beras, harga: naik lagi (lihat tabel).", "story-e5", source="detik.com"),
]
CORPUS: list[EnrichedArticle] = [*NEWSROOM, *seed_articles(), *EDGES]

WATCHLISTS: list[dict[str, Any]] = [
    {"query": "Kim Jong Un"}, {"query": '"Kim Jong Un"'}, {"query": "kim -nuklir"}, {"query": "Wonsan"},
    {"query": '"harga beras"'}, {"query": "harga beras"}, {"query": "berita"}, {"query": "beras Kim"},
    {"query": "kafe"}, {"query": "Kafé"}, {"query": "PYONGYANG"}, {"query": "sao paulo"}, {"query": '"são paulo"'},
    {"query": "jong-un"}, {"query": '"Jong Un"'}, {"query": "nuklir"}, {"query": "Rusia"}, {"query": "banjir -hujan"},
    {"query": "berita", "languages": ["en"]}, {"query": "berita", "languages": ["id", "en"]},
    {"query": "kim", "entities": ["KCNA"]}, {"query": "kim", "entities": ["Kim Jong Un", "KCNA"]},
    {"query": "berita", "sources": ["detik.com"]}, {"query": "berita", "sources": ["detik.com", "kompas.com"]},
    {"query": "kafe", "sources": ["kompas.com"], "languages": ["id"]}, {"query": "Lavrov", "entities": ["Nobody"]},
    {"query": '"Kim Jong Un" -Trump', "languages": ["id"]},
]


def make(spec: dict[str, Any]) -> Watchlist:
    return Watchlist.create(WatchlistSpec(webhook="http://127.0.0.1:9/hook", **spec))


# Queries whose answer depends on folding diacritics ("kafe" finds "Kafé"), which the equivalent
# always does and a server without the asciifolding filter (Elasticsearch's integ-test build) does not.
NEEDS_FOLDING = {"kafe", "Kafé", "sao paulo", '"são paulo"'}


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def corpus_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KabarSettings, SearchBackend]]:
    settings = backend_settings(request.param, request, tmp_path)
    backend = open_backend(settings)
    assert all(outcome.changed for outcome in backend.upsert_many(CORPUS, refresh=True))
    yield settings, backend
    backend.close()


def folds(backend: SearchBackend) -> bool:
    return not isinstance(backend, ElasticsearchBackend) or "kabar_folding" not in backend.features.missing_analysis


def test_the_matcher_in_use_matches_what_search_finds(corpus_backend: tuple[KabarSettings, SearchBackend]) -> None:
    settings, backend = corpus_backend
    matcher = open_matcher(settings, backend)
    expected_matcher = PercolatorMatcher if settings.search_backend_name == "opensearch" else FtsMatcher
    assert isinstance(matcher, expected_matcher)
    watchlists = [make(spec) for spec in WATCHLISTS]
    snapshot = compile_snapshot(1, watchlists)
    matched: dict[str, set[str]] = {watchlist.id: set() for watchlist in watchlists}
    for article in CORPUS:
        for watchlist in matcher.match(article, snapshot):
            matched[watchlist.id].add(article.id)
    checked = 0
    for watchlist, compiled in zip(watchlists, snapshot.watchlists, strict=True):
        result = backend.search(compiled.query, watchlist.query, 100, SearchOptions(filters=compiled.filters))
        assert result.total < 100
        found = {hit.id for hit in result.hits}
        where = (watchlist.query, watchlist.languages, watchlist.sources, watchlist.entities)
        if watchlist.query in NEEDS_FOLDING and not folds(backend):
            assert found <= matched[watchlist.id], where  # the equivalent folds, this server does not
        else:
            assert matched[watchlist.id] == found, where
        checked += bool(found)
    assert checked >= 20, "most watchlists match something: the comparison is not vacuous"


# Where the search of a server without a percolator (Elasticsearch's integ-test build) and SQLite's
# disagree, the equivalent sides with SQLite (docs/operations.md, kabar_search.watch.matching): SQLite
# splits "Kremlin.ru" at the dot, the standard tokenizer keeps one word; SQLite folds "Kafé" to "kafe".
DIFFERENCES = [
    ("kremlin", news("d01", "Foto", "Kim Jong Un. (commons.wikimedia.org/Kremlin.ru)", "story-d1"), True),
    ("kafe", news("d02", "Kafé baru", "Kafé itu dibuka.", "story-d2"), True),
]


@pytest.mark.parametrize(("query", "article", "sqlite_finds"), DIFFERENCES, ids=[item[0] for item in DIFFERENCES])
def test_where_the_servers_differ_the_equivalent_follows_sqlite(query: str, article: EnrichedArticle,
                                                                 sqlite_finds: bool, tmp_path: Path,
                                                                 elasticsearch_engine: EngineUnderTest) -> None:
    watchlist = make({"query": query})
    snapshot = compile_snapshot(1, [watchlist])
    sqlite = open_backend(KabarSettings(search_backend="sqlite", data_dir=tmp_path))
    es = open_backend(elasticsearch_engine.settings(data_dir=tmp_path))
    try:
        for backend in (sqlite, es):
            backend.upsert_many([article], refresh=True)
        parsed = snapshot.watchlists[0].query
        assert sqlite.search(parsed, query, 10).total == int(sqlite_finds)
        assert es.search(parsed, query, 10).total == int(not sqlite_finds), \
            "Elasticsearch no longer differs here: update the docs"
    finally:
        sqlite.close()
        es.close()
    assert FtsMatcher().match(article, snapshot) == ([watchlist] if sqlite_finds else [])


def test_the_switch_picks_the_percolator_where_the_server_has_one(tmp_path: Path, engine: EngineUnderTest) -> None:
    sqlite_settings = KabarSettings(search_backend="sqlite", data_dir=tmp_path)
    sqlite = open_backend(sqlite_settings)
    try:
        assert isinstance(open_matcher(sqlite_settings, sqlite), FtsMatcher)
    finally:
        sqlite.close()
    settings = engine.settings(data_dir=tmp_path)
    es = ElasticsearchBackend.from_settings(settings)
    index = percolator_index(settings)
    try:
        matcher = open_matcher(settings, es)
        if engine.name == "elasticsearch":  # the integ-test build has no percolator module
            assert isinstance(matcher, FtsMatcher)
            assert httpx.head(f"{engine.url}/{index}", timeout=10).status_code == 404
            return
        assert isinstance(matcher, PercolatorMatcher)
        assert has_percolator(es.client, index) is True
        mapping = httpx.get(f"{engine.url}/{index}/_mapping", timeout=10).json()[index]["mappings"]
        assert mapping["properties"]["query"] == {"type": "percolator"}
        assert mapping["properties"]["title"]["analyzer"] == "kabar_folding", "the article index's analysis"
    finally:
        es.close()


def test_the_percolator_index_follows_the_store_revision(tmp_path: Path, opensearch_engine: EngineUnderTest) -> None:
    settings = opensearch_engine.settings(data_dir=tmp_path)
    es = ElasticsearchBackend.from_settings(settings)
    index = percolator_index(settings)
    try:
        open_matcher(settings, es)  # creates the index
        first, second, third = make({"query": "kim"}), make({"query": "beras"}), make({"query": "banjir"})

        def stored() -> dict[str, int]:
            es.client.indices.refresh(index=index)
            hits = es.client.search(index=index, size=100, query={"match_all": {}})["hits"]["hits"]
            return {hit["_id"]: hit["_source"]["revision"] for hit in hits}

        newer, older = PercolatorMatcher(es.client, index), PercolatorMatcher(es.client, index)
        newer._sync(compile_snapshot(2, [first, second]))
        assert stored() == {first.id: 2, second.id: 2}
        newer._sync(compile_snapshot(3, [second, third]))  # first removed, third added
        assert stored() == {second.id: 3, third.id: 3}
        older._sync(compile_snapshot(2, [first, second]))  # a worker that has not seen revision 3 yet
        assert third.id in stored(), "an older snapshot never deletes a newer watchlist"
        query = stored_query(es, index, second.id)
        assert query["bool"]["must"][0]["bool"]["must"][0]["multi_match"]["query"] == "beras", query
    finally:
        es.close()


def stored_query(es: ElasticsearchBackend, index: str, doc_id: str) -> dict[str, Any]:
    found: dict[str, Any] = es.client.get(index=index, id=doc_id)["_source"]["query"]
    return found
