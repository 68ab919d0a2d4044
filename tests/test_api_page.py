"""The search page in a real browser: headless Chromium (Debian's) driven by Playwright.

Searches the seeds, follows a facet, opens an article and a story, and checks that
article text full of HTML is shown as text while highlights stay marked. Saves a
screenshot to test-artifacts/search-page.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from articles import seed_articles
from conftest import ROOT
from kabar.contract.messages import EnrichedArticle, Entity
from search_support import backend_settings
from test_api_search import indexed, serve

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium: install Debian's (apt-get install -y chromium) to test the search page",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package (test extra) is not installed")

HOSTILE = EnrichedArticle(
    id="hostile-1", title='<script>alert("title")</script> Kim Jong Un <b>bold</b>',
    text='Kim Jong Un <img src=x onerror="alert(1)"> menulis <mark>tanda</mark> & "kutipan" </p><script>alert(2)'
         "</script> tentang nuklir.",
    content_hash="hash-hostile", url="javascript:alert(3)", source_domain="<i>evil</i>.example",
    received_at=datetime(2025, 7, 13, tzinfo=UTC), language="id", language_confidence=0.9,
    entities=[Entity(text="Kim Jong Un", label="PER", start=0, end=11, canonical="Kim Jong Un")],
    fingerprint="AAAA", story_id='story-"><script>alert(4)</script>',
)


@pytest.fixture(params=["sqlite", "elasticsearch"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    settings = backend_settings(request.param, request, tmp_path)
    indexed(settings, [*seed_articles(), HOSTILE])
    with serve(settings) as url:
        yield url


@contextmanager
def browser_context(site: str) -> Iterator[Any]:
    """A fresh headless Chromium (Debian's) with a context whose relative URLs go to ``site``."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_context(base_url=site, viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


@pytest.fixture
def page(site: str) -> Iterator[Any]:
    with browser_context(site) as context:
        opened = context.new_page()
        opened.dialogs = []
        opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
        yield opened


def test_search_facets_article_and_story_views(page: Any, request: pytest.FixtureRequest) -> None:
    page.goto("/")
    page.get_by_role("searchbox", name="Search").fill("Kim Jong Un")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("article.story")

    cards = page.locator("article.story")
    assert cards.count() == 3, "five seeds in two stories, plus the hostile article's story"
    assert "6 article(s) in 3 story(ies)" in page.locator("p.summary").inner_text()
    lavrov_visit = page.locator('article.story[data-story="story-lavrov-visit"]')
    assert lavrov_visit.locator(".coverage").inner_text() == "4 article(s) in this story"
    assert page.locator("article.story .snippet mark").count() >= 3
    assert page.locator("article.story .snippet mark").first.inner_text().lower() in {"kim", "jong", "un"}

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"search-page-{request.node.callspec.id}.png"), full_page=True)

    page.locator('ul.facet[data-facet="entity"] a', has_text="Sergei Lavrov").click()
    page.wait_for_selector(".active")
    assert "entity: Sergei Lavrov" in page.locator(".active").inner_text()
    assert "entity_id=per%3Asergei-lavrov" in page.url, "an entity facet filters on the entity's id"
    with_lavrov = {a.story_id for a in seed_articles() if any(e.canonical == "Sergei Lavrov" for e in a.entities)}
    assert page.locator("article.story").count() == len(with_lavrov)

    lavrov_visit.locator("h2 a").click()
    page.wait_for_selector("article.full h1")
    assert "Lavrov" in page.locator("article.full").inner_text()
    page.get_by_role("link", name="the whole story").click()
    page.wait_for_selector("ol.coverage")
    rows = page.locator("ol.coverage li")
    assert rows.count() == 4
    assert rows.nth(3).locator(".dup").inner_text() == "duplicate"
    assert page.dialogs == []


def test_html_in_articles_is_shown_as_text_and_never_runs(page: Any) -> None:
    page.goto("/?q=nuklir+tanda")
    card = page.locator("article.story", has_text='alert("title")')
    assert card.count() == 1
    assert card.get_attribute("data-story") == HOSTILE.story_id
    title = card.locator("h2").inner_text()
    assert '<script>alert("title")</script>' in title and "<b>bold</b>" in title
    snippet = card.locator(".snippet")
    assert '<img src=x onerror="alert(1)">' in snippet.inner_text()
    marked = [text.lower() for text in snippet.locator("mark").all_inner_texts()]
    assert "nuklir" in marked and "tanda" in marked
    assert snippet.locator("img, script, b").count() == 0
    assert "<i>evil</i>.example" in card.locator(".meta").inner_text()

    card.locator("h2 a").click()
    page.wait_for_selector("article.full h1")
    assert page.locator("a", has_text="original").count() == 0, "a javascript: URL is never a link"
    assert page.locator("script").count() == 0
    page.get_by_role("link", name="the whole story").click()
    page.wait_for_selector("ol.coverage")
    assert page.dialogs == []


def test_a_bad_query_is_explained_on_the_page(page: Any) -> None:
    response = page.goto('/?q="unfinished')
    assert response.status == 400
    assert "unbalanced quote" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("searchbox", name="Search").input_value() == '"unfinished'
