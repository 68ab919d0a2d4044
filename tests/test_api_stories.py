"""``GET /stories`` and ``GET /stories/{id}`` over real HTTP, on both backends, and the stories pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from search_support import backend_settings, problem_mismatch
from test_api_search import Api, indexed, serve
from test_search_stories import ARTICLES, DAY


@pytest.fixture(params=["sqlite", "elasticsearch", "opensearch"])
def stories_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    settings = backend_settings(request.param, request, tmp_path)
    indexed(settings, ARTICLES)
    with serve(settings) as url:
        yield Api(url, settings)


def test_stories_are_listed_newest_first_with_their_summaries(stories_api: Api) -> None:
    response = stories_api.get("/stories")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed["total"] == 3 and listed["sort"] == "recent"
    assert [story["story_id"] for story in listed["stories"]] == ["s-flood", "s-summit", "s-rice"]
    summit = listed["stories"][1]
    assert summit["headline"] == "Lavrov tiba di Wonsan"
    assert summit["articles"] == 4 and summit["duplicates"] == 1
    assert {bucket["value"] for bucket in summit["languages"]} == {"id", "en"}
    assert summit["entities"][0] == {"name": "Sergei Lavrov", "id": "per:sergei-lavrov", "label": "PER", "articles": 4}


def test_growth_counts_the_hours_before_to(stories_api: Api) -> None:
    end = (DAY + timedelta(days=3, hours=23)).isoformat()
    listed = stories_api.get("/stories", sort="growth", growth_hours=36, to=end).json()
    assert [(s["story_id"], s["recent_articles"]) for s in listed["stories"]] == [("s-flood", 2), ("s-summit", 1)]
    assert listed["growth_since"].startswith("2025-07-12T19:00:00")


def test_story_filters_over_http(stories_api: Api) -> None:
    def ids(**params: object) -> list[str]:
        response = stories_api.get("/stories", **params)
        assert response.status_code == 200, response.text
        return [story["story_id"] for story in response.json()["stories"]]

    assert ids(language="en") == ["s-summit"]
    assert ids(entity="Bekasi") == ["s-flood"]
    assert ids(entity_id="loc:bekasi") == ["s-flood"]
    assert ids(**{"from": "2025-07-04", "to": "2025-07-06"}) == ["s-rice"]
    assert ids(limit=1, offset=1) == ["s-summit"]


BAD_STORY_LISTS: list[tuple[dict[str, object], int]] = [
    ({"sort": "popular"}, 422), ({"limit": 0}, 422), ({"limit": 101}, 422), ({"offset": 5000}, 422),
    ({"growth_hours": 0}, 422), ({"from": "yesterday"}, 400), ({"from": "2025-07-10", "to": "2025-07-01"}, 400),
    ({"q": "banjir"}, 400),
]


def test_bad_story_list_parameters_are_problems(stories_api: Api) -> None:
    # One index and server per backend for all the cases; every case that fails is reported.
    wrong = {str(params): mismatch for params, status in BAD_STORY_LISTS
             if (mismatch := problem_mismatch(stories_api.get("/stories", **params), status))}
    assert not wrong, wrong


def test_one_story_has_its_summary_and_timeline(stories_api: Api) -> None:
    story = stories_api.get("/stories/s-summit").json()
    assert story["summary"]["headline"] == "Lavrov tiba di Wonsan"
    assert story["timeline"] == [{"start": "2025-07-10", "count": 1}, {"start": "2025-07-11", "count": 2},
                                 {"start": "2025-07-13", "count": 1}]
    assert [a["is_duplicate"] for a in story["articles"]] == [False, False, True, False]


def test_the_stories_page_lists_stories_and_links_each(stories_api: Api) -> None:
    page = stories_api.get("/view/stories", sort="growth", to="2025-07-13", growth_hours=48)
    assert page.status_code == 200, page.text
    html = page.text
    assert html.index("Banjir di Bekasi") < html.index("Lavrov tiba di Wonsan")
    assert 'href="/view/stories/s-flood"' in html
    assert "Harga beras naik" not in html  # no article in the window
    filtered = stories_api.get("/view/stories", entity="Kim Jong Un").text
    assert "Lavrov tiba di Wonsan" in filtered and "Banjir di Bekasi" not in filtered


def test_the_story_page_is_a_timeline_with_near_copies_marked(stories_api: Api) -> None:
    html = stories_api.get("/view/stories/s-summit").text
    assert "Lavrov tiba di Wonsan" in html
    for day in ("2025-07-10", "2025-07-11", "2025-07-13"):
        assert day in html
    assert html.count('class="dup"') == 1
    assert "reuters.com" in html and "Sergei Lavrov" in html


def test_a_bad_stories_page_request_is_explained(stories_api: Api) -> None:
    page = stories_api.get("/view/stories", **{"from": "not a date"})
    assert page.status_code == 400
    assert 'role="alert"' in page.text
