"""HTTP push and the feed API over a real server: the search API with the ingest routes installed
(``kabar.api.create_app``), run by uvicorn in a subprocess, in the embedded and the services mode."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from conftest import SEEDS, Process, free_port, wait_until
from kabar.contract import batch
from kabar.contract.messages import RawDocument
from kabar_ingest.identity import canonical_url
from kabar_ingest.stage import build_article
from test_feeds_support import article_html, seed_stories

SERVER = """
import sys, uvicorn
from kabar.contract.settings import get_settings
from kabar.api import create_app
settings = get_settings()
app = create_app(settings)  # mounts the ingest routes (push, feeds, versions)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


API_KEY = "kunci-rahasia-push"


class Api:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = Process("push-api", [sys.executable, "-c", SERVER, str(port)], env, log_dir)
        wait_until(self._up, 60, "the API")

    def _up(self) -> bool:
        if self.process.popen.poll() is not None:
            raise AssertionError(self.process.log())
        return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": API_KEY, **kwargs.pop("headers", {})}
        return httpx.post(self.url + path, timeout=120, headers=headers, **kwargs)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)


@pytest.fixture
def api(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[Api]:
    env = {**embedded_env, "KABAR_PUSH_MAX_BYTES": "300000", "KABAR_PUSH_MAX_ITEMS": "3",
           "KABAR_FETCH_ALLOW_HOSTS": "127.0.0.1", "KABAR_API_KEY": API_KEY}
    running = Api(env, tmp_path)
    yield running
    running.process.stop()


def seed_item(number: int, **extra: Any) -> dict[str, Any]:
    seed = sorted(SEEDS.glob("*.txt"))[number]
    return {"url": f"https://news.example.id/read/{seed.stem}?utm_source=push", "text": seed.read_text(), **extra}


def assert_problem(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"], response.json()


def test_a_pushed_batch_is_indexed_under_the_ids_the_push_returned(api: Api) -> None:
    response = api.post("/articles", json=[seed_item(0), seed_item(1, title="Judul dari push")])
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["accepted"] == 2
    for item, pushed in zip([seed_item(0), seed_item(1)], result["articles"], strict=True):
        expected = canonical_url(item["url"])
        assert pushed["url"] == expected and pushed["id"] == hashlib.sha256(expected.encode()).hexdigest()
        assert pushed["status"] == "indexed"
        stored = api.get(f"/articles/{pushed['id']}")
        assert stored.status_code == 200 and stored.json()["url"] == expected
    assert api.get(f"/articles/{result['articles'][1]['id']}").json()["title"] == "Judul dari push"

    again = api.post("/articles", json=seed_item(0)).json()
    assert again["articles"][0]["status"] == "repeat" and again["articles"][0]["id"] == result["articles"][0]["id"]


def test_raw_html_with_its_url_honours_the_canonical_link_and_keeps_the_page(api: Api, embedded_env: dict[str, str],
                                                                            ) -> None:
    story = seed_stories()[2]
    page = article_html(story, canonical="https://news.example.id/read/2025/asli")
    response = api.post("/articles", params={"url": "https://m.news.example.id/amp/read/2025/asli?amp=1&x=1"},
                        content=page.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
    assert response.status_code == 202, response.text
    pushed = response.json()["articles"][0]
    assert pushed["url"] == "https://news.example.id/read/2025/asli"
    stored = api.get(f"/articles/{pushed['id']}").json()
    assert stored["title"] == story.title and stored["published_at"].startswith("2025-07-12")
    raw = Path(embedded_env["KABAR_DATA_DIR"]) / "raw" / f"{pushed['id']}.html.gz"
    assert gzip.decompress(raw.read_bytes()).decode() == page

    for _ in range(3):  # the same page again and again stays a repeat (no extraction state across calls)
        by_header = api.post("/articles", content=page.encode(), headers={
            "Content-Type": "text/html", "X-Kabar-Url": "https://news.example.id/read/2025/asli"})
        assert by_header.json()["articles"][0] == {**pushed, "status": "repeat"}


def test_text_without_a_url_is_identified_by_its_text(api: Api) -> None:
    text = (SEEDS / "003_b201987eaa6d5b4b.txt").read_text()
    response = api.post("/articles", content=text.encode(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 202, response.text
    pushed = response.json()["articles"][0]
    assert pushed["url"] is None
    assert pushed["id"] == build_article(RawDocument(source="x", format="text", content=text)).id
    assert api.get(f"/articles/{pushed['id']}").status_code == 200


def test_bad_pushes_get_problem_details_and_nothing_of_them_is_kept(api: Api) -> None:
    before = api.get("/healthz").json()["articles"]
    assert_problem(api.post("/articles", json={**seed_item(0), "author": "x"}), 422, "unknown fields: author")
    assert_problem(api.post("/articles", json=[seed_item(0), {"url": "https://a.example/x", "text": " "}]), 422,
                   "item 1")
    assert_problem(api.post("/articles", json=[seed_item(0), seed_item(1, url="https://user:pw@a.example/x")]), 422,
                   "item 1: bad URL: URL carries credentials")
    assert_problem(api.post("/articles", json={"url": "https://a.example/x", "html": "<html><nav>menu</nav></html>"}),
                   422, "no article text found")
    assert_problem(api.post("/articles", json={"text": "x", "published_at": "2999-01-01"}), 422, "in the future")
    assert_problem(api.post("/articles", json=[seed_item(0)] * 4), 413,
                   "4 articles in one request, over the limit of 3")
    assert_problem(api.post("/articles", content=b"x" * 400_000, headers={"Content-Type": "text/plain"}), 413,
                   "over the 0.3 MB limit")
    assert_problem(api.post("/articles", content=b"<a/>", headers={"Content-Type": "application/xml"}), 415,
                   "application/xml")
    assert_problem(api.post("/articles", content=b"", headers={"Content-Type": "application/json"}), 422, "empty")
    assert_problem(api.post("/articles", content=b"{nope", headers={"Content-Type": "application/json"}), 422,
                   "invalid JSON")
    assert_problem(api.post("/articles", content="café".encode("latin-1"), headers={"Content-Type": "text/plain"}),
                   422, "not valid UTF-8")
    assert api.get("/healthz").json()["articles"] == before


def test_writes_need_the_api_key(api: Api) -> None:
    for headers, status in [({"X-API-Key": ""}, 401), ({"X-API-Key": "salah"}, 401)]:
        refused = httpx.post(f"{api.url}/articles", json=seed_item(0), headers=headers, timeout=10)
        assert refused.status_code == status, refused.text
    assert httpx.post(f"{api.url}/articles", json=seed_item(0), timeout=10).status_code == 401
    assert api.get("/feeds").status_code == 200  # reads stay open unless KABAR_API_READ_REQUIRES_KEY


def test_feeds_through_the_api(api: Api) -> None:
    created = api.post("/feeds", json={"url": "http://127.0.0.1:9/rss.xml", "name": "Lokal", "interval": 600})
    assert created.status_code == 201, created.text
    feed = created.json()
    assert feed["name"] == "Lokal" and feed["interval"] == 600
    assert api.post("/feeds", json={"url": "http://127.0.0.1:9/rss.xml"}).status_code == 200
    assert [listed["id"] for listed in api.get("/feeds").json()["feeds"]] == [feed["id"]]
    assert api.get(f"/feeds/{feed['id']}").json()["url"] == "http://127.0.0.1:9/rss.xml"
    assert_problem(api.post("/feeds", json={"url": "http://10.0.0.7/rss"}), 422, "a private address")
    assert_problem(api.post("/feeds", json={"url": "http://169.254.169.254/latest/meta-data"}), 422, "link-local")
    assert_problem(api.post("/feeds", json={"url": "file:///etc/passwd"}), 422, "only http and https")
    assert_problem(api.post("/feeds", json={"url": "http://127.0.0.1:9/a", "interval": 1}), 422, "interval")
    assert httpx.delete(f"{api.url}/feeds/{feed['id']}", timeout=5).status_code == 401  # no key
    key = {"X-API-Key": API_KEY}
    assert httpx.delete(f"{api.url}/feeds/{feed['id']}", headers=key, timeout=5).status_code == 204
    assert_problem(httpx.delete(f"{api.url}/feeds/{feed['id']}", headers=key, timeout=5), 404, "no feed")
    assert_problem(api.get("/articles/abc/versions"), 404, "no versions")
    spec = api.get("/openapi.json").json()
    assert {"/articles", "/feeds", "/feeds/{feed_id}", "/articles/{article_id}/versions"} <= set(spec["paths"])


@pytest.mark.services
def test_services_mode_queues_the_push_on_the_ingest_queue(embedded_env: dict[str, str], redis_url: str,
                                                           tmp_path: Path) -> None:
    env = {**embedded_env, "KABAR_MODE": "services", "KABAR_REDIS_URL": redis_url, "KABAR_SEARCH_BACKEND": "sqlite",
           "KABAR_API_KEY": API_KEY}
    api = Api(env, tmp_path)
    try:
        response = api.post("/articles", json=[seed_item(0), seed_item(4)])
        assert response.status_code == 202, response.text
        pushed = response.json()["articles"]
        assert [item["status"] for item in pushed] == ["queued", "queued"]
    finally:
        api.process.stop()
    queued = redis.Redis.from_url(redis_url).lrange("ingest", 0, -1)
    assert len(queued) == 1, "a pushed batch travels as one queue message"
    envelope = json.loads(queued[0])
    assert envelope["headers"]["task"] == "kabar.ingest"
    args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    payloads = batch.unpack(args[0])
    ids = [build_article(RawDocument.model_validate(payload)).id for payload in payloads]
    assert ids == [item["id"] for item in pushed]
