"""Corrections: a known article whose content changed becomes a new version; small edits do not."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from conftest import run_kabar
from kabar.contract.messages import Article, RawDocument
from kabar_ingest.corrections import (
    RedisVersionStore,
    SqliteVersionStore,
    Version,
    VersionStore,
    compare,
    history_view,
    token_change,
)
from kabar_ingest.identity import canonical_url
from kabar_ingest.pages import RawHtmlStore
from kabar_ingest.repeats import SqliteSeenStore
from kabar_ingest.stage import IngestHandler
from test_feeds_support import PUB_DATE, Site, Story, article_html, rss, seed_stories
from test_push import Api

URL = "https://news.example.id/read/2025/07/12/lavrov"


def edited(story: Story, words: int) -> Story:
    """The story with its first ``words`` words of the body replaced."""
    tokens = " ".join(story.paragraphs).split()
    changed = ["diralat"] * words + tokens[words:]
    return Story(story.title, [" ".join(changed)])


def test_token_change_measures_the_share_of_changed_words() -> None:
    assert token_change("satu dua tiga", "Satu  dua\ntiga") == 0.0
    before = " ".join(f"kata{n}" for n in range(200))
    one_word = before.replace("kata7 ", "ganti ")
    assert 0.004 < token_change(before, one_word) < 0.006
    tenth = " ".join(["baru"] * 20 + before.split()[20:])
    assert 0.09 < token_change(before, tenth) < 0.11
    assert token_change("", "apa saja") == 1.0


def test_a_title_change_is_a_correction_even_with_the_same_body() -> None:
    version = Version(version=1, content_hash="h", title="Judul lama", text="isi " * 100)
    assert compare(version, "Judul baru", "isi " * 100, 0.02).significant
    assert not compare(version, "judul  LAMA", "isi " * 100, 0.02).significant


@pytest.fixture
def sqlite_versions(tmp_path: Path) -> Iterator[SqliteVersionStore]:
    store = SqliteVersionStore(tmp_path / "versions.sqlite3", keep=3)
    yield store
    store.close()


def _exercise_versions(store: VersionStore) -> None:
    assert store.latest("a") is None and store.history("a") == []
    for number in range(1, 6):
        store.add("a", Version(version=number, content_hash=f"h{number}", title=f"t{number}", text=f"x{number}"))
    store.add("a", Version(version=5, content_hash="h5", title="t5", text="x5"))  # redelivered: replaced, not added
    assert [version.version for version in store.history("a")] == [3, 4, 5]  # keep=3
    latest = store.latest("a")
    assert latest is not None and latest.content_hash == "h5"


def test_sqlite_version_store(sqlite_versions: SqliteVersionStore) -> None:
    _exercise_versions(sqlite_versions)


def test_redis_version_store(redis_url: str) -> None:
    _exercise_versions(RedisVersionStore(redis.Redis.from_url(redis_url), "kabar-test", keep=3))


def ingest(handler: IngestHandler, story: Story) -> Article | None:
    payload = RawDocument(source="t", format="html", content=article_html(story), url=URL).model_dump(mode="json")
    article = handler.handle(payload)
    if article is not None:
        handler.after_forward(article)
    return article


def test_the_ingest_stage_passes_corrections_and_skips_small_edits(tmp_path: Path,
                                                                   sqlite_versions: SqliteVersionStore) -> None:
    raw = RawHtmlStore(tmp_path / "raw")
    handler = IngestHandler(SqliteSeenStore(tmp_path / "state.sqlite3"), sqlite_versions, raw, 0.02)
    story = seed_stories()[0]
    first = ingest(handler, story)
    assert first is not None and first.id == hashlib.sha256(canonical_url(URL).encode()).hexdigest()
    assert ingest(handler, story) is None  # exact repeat
    assert ingest(handler, edited(story, 2)) is None  # two words of hundreds: a small edit, skipped
    corrected = ingest(handler, edited(story, 40))
    assert corrected is not None and corrected.id == first.id and corrected.content_hash != first.content_hash
    retitled = ingest(handler, Story("Ralat: " + story.title, edited(story, 40).paragraphs))
    assert retitled is not None

    history = sqlite_versions.history(first.id)
    assert [version.version for version in history] == [1, 2, 3]
    assert history[1].changed_share is not None and history[1].changed_share > 0.02 and not history[1].title_changed
    assert history[2].title_changed and history[2].changed_share == 0.0
    view = history_view(first.id, history)
    assert view.versions[0].diff is None
    assert "-" + story.paragraphs[0][:30] in (view.versions[1].diff or "")
    assert "+diralat diralat" in (view.versions[1].diff or "")
    assert (view.versions[2].diff or "").startswith("--- version 2\n+++ version 3")
    assert "Ralat: " in gzip.decompress(raw.path(first.id).read_bytes()).decode()  # the latest page is kept


def test_a_changed_article_in_a_feed_becomes_a_new_version(embedded_env: dict[str, str], tmp_path: Path) -> None:
    site = Site()
    try:
        story = seed_stories()[1]
        site.static("/berita/1", article_html(story))
        site.static("/rss.xml", rss("x", [(story.title, site.url("/berita/1"), PUB_DATE)]), "application/rss+xml",
                    etag='"1"')
        env = {**embedded_env, "KABAR_FETCH_ALLOW_HOSTS": "127.0.0.1", "KABAR_FETCH_HOST_INTERVAL": "0"}
        assert run_kabar(["feeds", "add", site.url("/rss.xml")], env).returncode == 0
        first = run_kabar(["feeds", "poll"], env)
        assert "pages: 1 indexed" in first.stdout, first.stdout + first.stderr

        changed = edited(story, 60)
        site.static("/berita/1", article_html(changed))
        site.static("/rss.xml", rss("x", [(story.title, site.url("/berita/1"), "Sat, 12 Jul 2025 14:00:00 +0700")]),
                    "application/rss+xml", etag='"2"')
        second = run_kabar(["feeds", "poll"], env)
        assert "1 new, 1 sent" in second.stdout and "pages: 1 indexed" in second.stdout, second.stdout + second.stderr

        api = Api(env, tmp_path)
        try:
            article_id = hashlib.sha256(canonical_url(site.url("/berita/1")).encode()).hexdigest()
            indexed = api.get(f"/articles/{article_id}").json()
            assert indexed["version"] == 2 and indexed["text"].startswith("diralat")
            versions = api.get(f"/articles/{article_id}/versions").json()
            assert [version["version"] for version in versions["versions"]] == [1, 2]
            assert versions["versions"][1]["changed_share"] > 0.02
            assert "+diralat" in versions["versions"][1]["diff"]
            with_text = api.get(f"/articles/{article_id}/versions?include_text=true").json()
            assert with_text["versions"][0]["text"].startswith(story.paragraphs[0][:40])
        finally:
            api.process.stop()
    finally:
        site.close()
