"""The search API over real HTTP (uvicorn), on both backends: the seeds end to end, the
OpenAPI document, and bad input, which always gets a 4xx problem detail."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from articles import NEWSROOM, seed_articles
from conftest import EngineUnderTest, engine_launcher, free_port
from kabar.api import create_app
from kabar.contract.messages import EnrichedArticle
from kabar.contract.settings import KabarSettings
from kabar_search.backend import open_backend
from kabar_search.query import words_of
from search_support import backend_settings, problem_mismatch


@dataclass
class Api:
    url: str
    settings: KabarSettings

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=30)

    def search(self, **params: Any) -> dict[str, Any]:
        response = self.get("/search", **params)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


@contextmanager
def serve(settings: KabarSettings) -> Iterator[str]:
    """The API app under a real uvicorn server on a free port, in a thread of this process."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def indexed(settings: KabarSettings, articles: list[EnrichedArticle]) -> None:
    backend = open_backend(settings)
    try:
        assert all(outcome.changed for outcome in backend.upsert_many(articles, refresh=True))
    finally:
        backend.close()


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def seeds_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    settings = backend_settings(request.param, request, tmp_path)
    indexed(settings, seed_articles())
    with serve(settings) as url:
        yield Api(url, settings)


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def newsroom_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    settings = backend_settings(request.param, request, tmp_path)
    indexed(settings, NEWSROOM)
    with serve(settings) as url:
        yield Api(url, settings)


# -- the seeds, end to end --------------------------------------------------------------------

def test_kim_jong_un_finds_all_five_seeds_in_two_stories(seeds_api: Api) -> None:
    flat = seeds_api.search(q="Kim Jong Un", limit=50)
    assert flat["total"] == 5
    assert {hit["id"] for hit in flat["hits"]} == {f"seed-00{n}" for n in range(5)}
    collapsed = seeds_api.search(q="Kim Jong Un", collapse="true", limit=50)
    assert collapsed["total"] == 5
    assert collapsed["total_stories"] == 2
    assert {hit["story_id"]: hit["story_articles"] for hit in collapsed["hits"]} == {
        "story-lavrov-visit": 4, "story-inews": 1}


def stems_indonesian(settings: KabarSettings) -> bool:
    """Whether this backend's server has the Indonesian analyzer (OpenSearch; not SQLite, not ES's test build)."""
    if settings.search_engine is None:
        return False
    backend: Any = open_backend(settings)
    try:
        return "kabar_id" not in backend.features.missing_analysis
    finally:
        backend.close()


def test_nuklir_comes_back_highlighted(seeds_api: Api) -> None:
    # Whole words; with Indonesian stemming also "nuklirnya" (the possessive -nya comes off).
    forms = {"nuklir", "nuklirnya"} if stems_indonesian(seeds_api.settings) else {"nuklir"}
    expected = {a.id for a in seed_articles() if forms & set(words_of(f"{a.title} {a.text}"))}
    assert expected
    result = seeds_api.search(q="nuklir")
    assert {hit["id"] for hit in result["hits"]} == expected
    for hit in result["hits"]:
        assert re.search(r"<mark>nuklir(nya)?</mark>", hit["highlight"].lower()), hit["highlight"]


def test_temu_finds_every_seed_that_says_bertemu_on_opensearch(opensearch_engine: EngineUnderTest,
                                                                tmp_path: Path) -> None:
    settings = opensearch_engine.settings(data_dir=tmp_path)
    saying = {a.id for a in seed_articles() if "bertemu" in words_of(f"{a.title} {a.text}")}
    other_forms = {"temu", "temui", "pertemuan"}
    only_bertemu = {a.id for a in seed_articles() if not other_forms & set(words_of(f"{a.title} {a.text}"))} & saying
    assert only_bertemu, "the seeds must have an article that says only bertemu, else this proves nothing"
    indexed(settings, seed_articles())
    with serve(settings) as url:
        response = httpx.get(f"{url}/search", params={"q": "temu", "limit": 50}, timeout=30)
    assert response.status_code == 200, response.text
    found = {hit["id"] for hit in response.json()["hits"]}
    assert saying <= found


def test_seed_facet_counts_are_right(seeds_api: Api) -> None:
    articles = seed_articles()
    facets = seeds_api.search(q="Kim Jong Un", facets="true", interval="day")["facets"]
    assert facets["language"] == [{"value": "id", "count": 5}]
    assert sorted((b["value"], b["count"]) for b in facets["source"]) == sorted(
        Counter(a.source_domain for a in articles).items())
    for label in ("PER", "LOC", "ORG"):
        expected = Counter(name for a in articles for name in {e.canonical for e in a.entities if e.label == label})
        got = {b["value"]: b["count"] for b in facets["entities"][label]}
        assert got == dict(expected), label
    assert facets["dates"] == [{"start": "2025-07-12", "count": 5}]


def test_a_story_lists_its_coverage_with_duplicates_marked(seeds_api: Api) -> None:
    story = seeds_api.get("/stories/story-lavrov-visit").json()
    assert story["total"] == 4
    assert [a["id"] for a in story["articles"]] == ["seed-000", "seed-001", "seed-002", "seed-003"]
    assert [a["is_duplicate"] for a in story["articles"]] == [False, False, False, True]
    assert story["articles"][3]["duplicate_of"] == "seed-002"


def test_an_article_comes_back_whole(seeds_api: Api) -> None:
    article = seeds_api.get("/articles/seed-001").json()
    assert article["story_id"] == "story-lavrov-visit"
    assert article["version"] == 1
    assert any(e["canonical"] == "Sergei Lavrov" for e in article["entities"])
    assert "entity_names" not in article and "dated_at" not in article


# -- the API's contract over HTTP ----------------------------------------------------------------

def test_pages_follow_next_search_after_to_the_end(newsroom_api: Api) -> None:
    for params in ({}, {"collapse": "true"}, {"sort": "date"}):
        whole = newsroom_api.search(q="berita", limit=100, **params)
        seen, token = [], None
        while True:
            page = newsroom_api.search(q="berita", limit=2, **params, **({"search_after": token} if token else {}))
            seen += [hit["id"] for hit in page["hits"]]
            token = page["next_search_after"]
            if token is None:
                break
        assert seen == [hit["id"] for hit in whole["hits"]], params


def test_filters_and_sorting_over_http(newsroom_api: Api) -> None:
    result = newsroom_api.search(q="berita", entity=["Kim Jong Un", "KCNA"], sort="date")
    assert [hit["id"] for hit in result["hits"]] == ["n05", "n03", "n02"]
    result = newsroom_api.search(q="berita", language="en", source=["reuters.com"], **{"from": "2025-07-12",
                                                                                      "to": "2025-07-12"})
    assert [hit["id"] for hit in result["hits"]] == ["n04"]


def test_openapi_documents_the_search_api(newsroom_api: Api) -> None:
    spec = newsroom_api.get("/openapi.json").json()
    search = spec["paths"]["/search"]["get"]
    names = {parameter["name"] for parameter in search["parameters"]}
    assert names == {"q", "language", "source", "entity", "entity_id", "story_id", "from", "to", "sort", "collapse",
                     "facets", "interval", "limit", "search_after"}
    assert "application/problem+json" in search["responses"]["400"]["content"]
    assert {"/articles/{article_id}", "/stories/{story_id}"} <= set(spec["paths"])
    assert "/" not in spec["paths"], "the HTML page is not part of the JSON API"


BAD_SEARCHES = [
    ({"q": "x" * 10_000}, 400, "limit is 500"),
    ({"q": "kim " * 3000}, 400, "limit is 500"),
    ({"q": "é" * 10_000}, 400, "limit is 500"),
    ({"q": '"Kim Jong'}, 400, "unbalanced quote"),
    ({"q": "Kim (Jong"}, 400, "unclosed bracket"),
    ({"q": "Kim] Jong"}, 400, "unbalanced"),
    ({"q": "-kim"}, 400, "no words"),
    ({"q": "kim", "lang": "id"}, 400, "unknown parameter(s) lang"),
    ({"q": "kim", "filter": "x", "page": "2"}, 400, "unknown parameter(s) filter, page"),
    ({"q": "kim", "from": "2025-13-45"}, 400, "not a date"),
    ({"q": "kim", "to": "yesterday"}, 400, "not a date"),
    ({"q": "kim", "from": "2025-08-01", "to": "2025-07-01"}, 400, "must come before"),
    ({"q": "kim", "limit": 10**6}, 422, "limit"),
    ({"q": "kim", "limit": 0}, 422, "limit"),
    ({"q": "kim", "limit": "ten"}, 422, "limit"),
    ({"q": "kim", "sort": "random"}, 422, "sort"),
    ({"q": "kim", "collapse": "maybe"}, 422, "collapse"),
    ({"q": "kim", "interval": "decade"}, 422, "interval"),
    ({"q": "kim", "language": ["id"] * 21}, 400, "at most 20"),
    ({"q": "kim", "entity": "x" * 300}, 400, "1 to 256"),
    ({"q": "kim", "search_after": "not-a-token"}, 400, "not a token"),
    ({"q": "kim", "search_after": "x" * 5000}, 400, "too long"),
    ({}, 422, "q"),
]


# Each bad input and each date range is tried against one index per backend: an index and a server per case cost
# 55 s of the suite. Every case that fails is reported.
def test_bad_input_is_a_4xx_problem_detail(newsroom_api: Api) -> None:
    wrong = {str(params)[:80]: mismatch for params, status, detail in BAD_SEARCHES
             if (mismatch := problem_mismatch(newsroom_api.get("/search", **params), status, detail))}
    assert not wrong, wrong


DATE_RANGES = [
    ("0001-01-01", "9999-12-31", 10), ("1969-01-01", "1970-12-31", 0), ("2025-07-12T00:00:00+07:00", None, 9),
    ("2025-08-01", None, 4), (None, "2025-06-30T09:00:00Z", 1), ("2025-07-12T09:00:00.000Z", "2025-07-12", 2)]


def test_date_ranges_at_the_edges_are_searched(newsroom_api: Api) -> None:
    found = {}
    for since, until, _ in DATE_RANGES:
        params = {name: value for name, value in (("from", since), ("to", until)) if value}
        found[(since, until)] = newsroom_api.search(q="berita", limit=50, **params)["total"]
    assert found == {(since, until): expected for since, until, expected in DATE_RANGES}


def test_a_search_after_token_from_another_query_is_refused(newsroom_api: Api) -> None:
    token = newsroom_api.search(q="berita", limit=1)["next_search_after"]
    assert token
    assert newsroom_api.search(q="berita", limit=1, search_after=token)["hits"]
    for params in ({"q": "kim"}, {"q": "berita", "sort": "date"}, {"q": "berita", "collapse": "true"},
                   {"q": "berita", "language": "id"}):
        response = newsroom_api.get("/search", **params, search_after=token)
        assert response.status_code == 400, (params, response.text)
        assert "different query" in response.json()["detail"]


def test_missing_articles_and_stories_are_404_problems(newsroom_api: Api) -> None:
    for path in ("/articles/nope", "/stories/nope"):
        response = newsroom_api.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "nope" in response.json()["detail"]
    assert newsroom_api.get("/stories/story-a", limit=10**6).status_code == 422


def test_an_unreachable_search_server_is_a_503_problem(tmp_path: Path, engine: EngineUnderTest) -> None:
    proxy = engine_launcher.TcpProxy(int(engine.url.rsplit(":", 1)[1]))
    proxy.start()
    settings = KabarSettings(search_backend=engine.name, **{f"{engine.name}_url": proxy.url}, data_dir=tmp_path)
    indexed(settings, NEWSROOM[:2])
    with serve(settings) as url:
        assert httpx.get(f"{url}/search", params={"q": "kim"}, timeout=30).status_code == 200
        proxy.stop()  # the search server goes away
        response = httpx.get(f"{url}/search", params={"q": "kim"}, timeout=60)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
