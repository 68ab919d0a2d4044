"""The seeds through the whole embedded pipeline, read as a newsroom reads them: ``/articles/{id}``,
entity facets grouped on entity ids, the ``entity_id`` filter, and watchlists matched on ids."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import SEEDS, run_kabar
from kabar.contract.messages import EnrichedArticle, Entity
from kabar.contract.settings import KabarSettings
from kabar_search.request import Filters
from kabar_search.watch.matching import ArticleFields, passes_filters
from test_api_search import serve

MINISTRY = "org:ministry-of-foreign-affairs-of-russia"


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    env = {**clean_env(), "KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(data)}
    result = run_kabar(["ingest", str(SEEDS)], env)
    assert result.returncode == 0, result.stderr
    with serve(KabarSettings(search_backend="sqlite", data_dir=data)) as url:
        yield url


def get(url: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{url}{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_articles_carry_entity_ids_and_read_as_a_newsroom_reads_them(api: str) -> None:
    hits = get(api, "/search", q="Lavrov", limit=10)["hits"]
    assert len(hits) == 5
    for hit in hits:
        article = get(api, f"/articles/{hit['id']}")
        for entity in article["entities"]:
            assert entity["id"] and entity["id"].startswith(entity["label"].lower() + ":")
            assert "\n" not in entity["text"]
        places = {e["canonical"] for e in article["entities"] if e["label"] == "LOC"}
        people = {e["canonical"] for e in article["entities"] if e["label"] == "PER"}
        assert not places & {"Vladimir Putin", "Kim Jong Un", "Telegram", "Yonhap", "Perbatasan Gaza"}
        assert not people & {"Anadolu Agency", "Micha Brändli"}
        assert "Sergei Lavrov" in people


def test_facets_group_on_ids_and_the_filter_takes_them(api: str) -> None:
    facets = get(api, "/search", q="Lavrov", facets="true")["facets"]["entities"]
    ministry = [bucket for bucket in facets["ORG"] if bucket["id"] == MINISTRY]
    assert ministry == [{"value": "Ministry of Foreign Affairs of Russia", "count": 4, "id": MINISTRY}]
    lavrov = [bucket for bucket in facets["PER"] if bucket["value"] == "Sergei Lavrov"]
    assert lavrov == [{"value": "Sergei Lavrov", "count": 5, "id": "per:sergei-lavrov"}]
    assert all(bucket["id"] for buckets in facets.values() for bucket in buckets)
    filtered = get(api, "/search", q="Lavrov", entity_id=[MINISTRY, "loc:wonsan"], limit=10)
    assert filtered["total"] == 3  # the seeds naming both the ministry and Wonsan
    assert get(api, "/search", q="Lavrov", entity_id="per:sergei-shoigu")["total"] == 1
    refused = httpx.get(f"{api}/search", params={"q": "Lavrov", "entity_id": "x" * 300}, timeout=30)
    assert refused.status_code == 400


def test_watchlists_match_on_entity_ids() -> None:
    article = EnrichedArticle(
        id="a", title="Lavrov di Wonsan", text="Kemlu Rusia: Lavrov di Wonsan.", content_hash="h",
        received_at="2025-07-12T00:00:00Z", language="id", language_confidence=0.9, fingerprint="AAAA",
        story_id="s", entities=[Entity(text="Kemlu Rusia", label="ORG", start=0, end=11, id=MINISTRY,
                                       canonical="Ministry of Foreign Affairs of Russia"),
                                Entity(text="Wonsan", label="LOC", start=23, end=29, canonical="Wonsan")])
    fields = ArticleFields.of(article)
    assert passes_filters(Filters(entity_ids=(MINISTRY, "loc:wonsan")), fields)
    assert not passes_filters(Filters(entity_ids=(MINISTRY, "per:sergei-lavrov")), fields)
    assert fields.document()["entity_ids"] == ["loc:wonsan", MINISTRY]


def test_a_watchlist_keeps_its_entity_ids(tmp_path: Path) -> None:
    env = {**clean_env(), "KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(tmp_path)}
    added = run_kabar(["watchlists", "add", "Lavrov", "--webhook", "https://hooks.example.com/x",
                       "--entity-id", MINISTRY], env)
    assert added.returncode == 0, added.stderr
    listed = run_kabar(["watchlists", "list"], env)
    assert f"entity_id={MINISTRY}" in listed.stdout
