"""The search page when reads need the key (issue #14), in a real browser: headless Chromium (Debian's)
driven by Playwright. The page asks for the key once, sends it as a header on every page, never puts it
in a URL, and keeps it in the tab's sessionStorage only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from articles import seed_articles
from kabar.contract.settings import KabarSettings
from test_api_page import browser_context
from test_api_search import indexed, serve

KEY = "kunci-baca-halaman"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    settings = KabarSettings(search_backend="sqlite", data_dir=tmp_path, api_key=SecretStr(KEY),
                             api_read_requires_key=True)
    indexed(settings, seed_articles())
    with serve(settings) as url:
        yield url


@pytest.fixture
def context(site: str) -> Iterator[Any]:
    with browser_context(site) as opened:
        yield opened


def test_the_page_asks_for_the_key_once_and_sends_it_as_a_header(context: Any) -> None:
    page = context.new_page()
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))  # noqa: PLW0108 - playwright wants a function
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)

    page.goto("/")
    page.fill("#kabar-key-input", "wrong key")
    page.click("#kabar-key button")
    page.wait_for_selector("#kabar-key-error:not([hidden])")
    assert "not accepted" in page.inner_text("#kabar-key-error")

    page.fill("#kabar-key-input", KEY)
    page.click("#kabar-key button")
    page.wait_for_selector("text=Search every indexed article")

    page.fill("input[name=q]", "Lavrov")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".story")
    assert "q=Lavrov" in page.url
    page.click(".story h2 a")
    page.wait_for_selector("article.full")
    assert "/view/articles/" in page.url
    page.go_back()
    page.wait_for_selector(".story")

    page.reload()  # the same tab: asked once, the key is still there
    page.wait_for_selector(".story")
    assert page.query_selector("#kabar-key") is None

    assert page.evaluate("window.sessionStorage.getItem('kabar-api-key')") == KEY
    assert page.evaluate("window.localStorage.length") == 0
    assert context.cookies() == []
    assert all(KEY not in request.url for request in requests)
    fetched = [request for request in requests if request.resource_type == "fetch"]
    assert fetched and all(request.headers.get("x-api-key") in (KEY, "wrong key") for request in fetched)
    assert violations == []

    other_tab = context.new_page()  # sessionStorage is per tab: a new tab asks again
    other_tab.goto("/")
    other_tab.wait_for_selector("#kabar-key-input")
