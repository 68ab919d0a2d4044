"""Property tests (issue #14): every entry point driven with generated bad input.

The invariants, for folders of files (the CLI's reader and the embedded pipeline), the push API,
watchlists, query strings, feeds (XML) and dead-letter replay:
- never a 500, never a traceback (nothing raised; nothing in the server's log);
- every bad item named with its reason (an error line, a 4xx problem detail, a dead letter);
- every good item indexed exactly once;
- nothing dropped without a dead letter.

Example counts are small and derandomized (the same examples every CI run: see conftest's
``ci`` profile); ``KABAR_HYPOTHESIS_PROFILE=hunt`` runs 25 times as many, randomized, for local
hunting. The services-mode folder property is in test_properties_services.py.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bad_input_strategies import (
    SEED_TEXTS,
    HugeNumber,
    InputFile,
    dump,
    examples,
    folders,
    json_values,
    materialize,
    text_strings,
)
from kabar.contract.deadletter import SqliteDeadLetterStore, replay
from kabar.contract.settings import KabarSettings
from kabar.contract.surrogates import escape_text
from kabar_ingest.feeds import FeedError, ParsedFeed, parse_feed
from kabar_ingest.reader import read_path
from kabar_ingest.stage import build_article
from kabar_search.backend import open_backend
from test_push import API_KEY, Api


def slow(count: int) -> settings:
    """``examples(count)`` examples of a test that runs real parts (files, stores, a server): no deadline."""
    return settings(max_examples=examples(count), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


# Folders of files: the CLI's reader and the embedded pipeline ---------------------------------------------

def ingest_folder(folder: Path, settings_: KabarSettings, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> tuple[list[str], dict[str, int], SqliteDeadLetterStore]:
    """What ``kabar ingest FOLDER`` does in the embedded mode, in this process, against ``settings_``."""
    import kabar.embedded  # noqa: PLC0415
    from kabar.cli import _read_all, _run_inline  # noqa: PLC0415

    store = SqliteDeadLetterStore(settings_.data_dir / "deadletters.sqlite3")
    monkeypatch.setattr(kabar.embedded, "dead_letters", lambda: store)  # this example's store, not the process's
    capsys.readouterr()
    documents, bad_files = _read_all(folder, settings_.max_document_bytes)
    counts, failed = _run_inline(documents, settings_)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == bad_files + failed, errors
    return errors, {"read": len(documents), **counts}, store


@slow(12)
@given(files=folders())
def test_a_folder_of_anything_indexes_each_good_file_once_and_names_every_bad_one(
        files: list[InputFile], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="kabar-property-") as workdir:
        folder = Path(workdir) / "inbox"
        folder.mkdir()
        paths = {file: file.write(folder) for file in files}
        settings_ = KabarSettings(data_dir=Path(workdir) / "data", keep_raw_html=False)
        errors, counts, store = ingest_folder(folder, settings_, monkeypatch, capsys)

        good_ids = [build_article(read_path(paths[file], settings_.max_document_bytes).documents[0]).id
                    for file in files if file.good]
        backend = open_backend(settings_)
        try:
            assert all(backend.get(article_id) is not None for article_id in good_ids), (errors, counts)
            assert backend.count() == counts.get("indexed", 0)  # each indexed once: no more rows than outcomes
        finally:
            backend.close()
        assert counts.get("indexed", 0) >= len(good_ids)
        outcomes = sum(count for status, count in counts.items() if status != "read")
        assert outcomes == counts["read"]  # every document read came out somewhere
        for file in files:  # every file refused is named, with its reason
            refused = read_path(paths[file], settings_.max_document_bytes).error
            if refused:
                shown = re.sub("[\x00-\x1f\x7f]", lambda match: f"\\x{ord(match.group()):02x}",
                               escape_text(f"error: {paths[file]}: "))
                assert any(line.startswith(shown) for line in errors), (file, errors)
        assert store.count() >= (1 if counts.get("failed") else 0)  # what failed in the pipeline is a dead letter
        for letter in store.list(1000):
            assert letter.reason and letter.message is not None  # every letter readable, with its reason
        store._db.close()


# Dead-letter replay --------------------------------------------------------------------------------------

@slow(25)
@given(payload=json_values, stage=st.sampled_from(["feeds", "ingest", "enrich", "index", "alert"]))
@example(payload={"title": float("inf")}, stage="ingest")  # found by the hunt profile: stored as null, replayed changed
@example(payload={"title": "x \ud800", "n": HugeNumber()}, stage="ingest")
def test_any_message_can_be_dead_lettered_and_replayed_and_keeps_its_first_failure(payload: Any,
                                                                                   stage: str) -> None:
    with tempfile.TemporaryDirectory(prefix="kabar-property-") as workdir:
        store = SqliteDeadLetterStore(Path(workdir) / "deadletters.sqlite3")
        letter = store.put(stage, materialize(payload), ValueError("bad message"), 1)
        assert store.get(letter.id) == letter
        json.dumps(letter.model_dump(mode="json")).encode()  # writable anywhere

        def fails_again(stage_: str, message: Any) -> str:
            store.put(stage_, message, ValueError("still bad"), 1)
            return "failed"

        result = replay(store, letter.id, fails_again)
        assert result.status == "replayed"
        again = store.get(letter.id)
        assert again is not None and again.first_failed_at == letter.first_failed_at
        assert replay(store, letter.id, fails_again).status == "replayed"  # the new failure can be replayed too
        store._db.close()


# Feeds: any bytes -----------------------------------------------------------------------------------------

feed_documents = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda title, encoding, declared: (
        (f'<?xml version="1.0" encoding="{declared}"?>' if declared else "")
        + f'<rss version="2.0"><channel><title>{title}</title><item><title>{title}</title>'
          f"<link>https://news.example/{abs(hash(title))}</link></item></channel></rss>"
    ).encode(encoding, "replace"), text_strings.map(lambda text: text.encode("utf-8", "replace").decode()),
        st.sampled_from(["utf-8", "utf-16", "big5", "koi8-r", "latin-1", "shift_jis"]),
        st.sampled_from(["", "utf-8", "utf-16", "big5", "koi8-r", "x-unknown", "latin-1"])),
    st.text(st.sampled_from("<>/=\"' rsfeditmlnk&;#x!-[]ENTITY"), max_size=400).map(str.encode),
)


@settings(max_examples=examples(200), deadline=None)
@given(data=feed_documents, content_type=st.sampled_from(["", "application/rss+xml", "text/xml; charset=big5",
                                                           "application/atom+xml; charset=x-bogus"]))
def test_any_bytes_as_a_feed_are_entries_or_one_clear_refusal(data: bytes, content_type: str) -> None:
    try:
        parsed = parse_feed(data, "https://news.example/feed.xml", content_type)
    except FeedError as exc:
        assert str(exc).strip()
        return
    assert isinstance(parsed, ParsedFeed)
    assert parsed.skipped == sum(parsed.skipped_reasons.values())
    for entry in parsed.entries:
        assert entry.link.startswith(("http://", "https://"))
        json.dumps(entry.title).encode()


# The HTTP API: push, watchlists, query strings -----------------------------------------------------------

@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    import os  # noqa: PLC0415

    from conftest import LOOPBACK_WEBHOOKS  # noqa: PLC0415

    workdir = tmp_path_factory.mktemp("api-properties")
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({"KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(workdir / "data"), "KABAR_API_KEY": API_KEY,
                **LOOPBACK_WEBHOOKS})
    running = Api(env, workdir)
    yield running
    running.process.stop()
    log = running.process.log()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-4000:]


def refused_clearly(response: httpx.Response) -> bool:
    """A 4xx problem detail with a reason."""
    return (400 <= response.status_code < 500 and response.headers["content-type"].startswith("application/problem")
            and bool(response.json().get("detail")))


push_bodies = st.one_of(
    json_values.map(lambda value: ("application/json", dump(value))),
    st.lists(st.fixed_dictionaries({"text": st.sampled_from(SEED_TEXTS) | text_strings},
                                   optional={"title": text_strings, "url": text_strings,
                                             "published_at": text_strings | st.integers()}), max_size=4)
    .map(lambda items: ("application/json", dump(items))),
    st.binary(max_size=500).map(lambda body: ("application/json", body)),
    st.tuples(st.sampled_from(["text/html", "text/plain", "text/html; charset=x-nope", "application/pdf", ""]),
              st.binary(max_size=500) | st.sampled_from(SEED_TEXTS).map(str.encode)),
)


@slow(40)
@given(body=push_bodies, url=st.none() | text_strings.map(lambda text: text.encode("utf-8", "replace").decode()))
def test_any_push_is_accepted_with_ids_or_refused_with_a_reason(api: Api, body: tuple[str, bytes],
                                                                url: str | None) -> None:
    content_type, content = body
    params = {"url": url} if url is not None and content_type.startswith("text/") else {}
    response = api.post("/articles", content=content, headers={"Content-Type": content_type}, params=params)
    assert response.status_code < 500, response.text
    if response.status_code == 202:
        for article in response.json()["articles"]:
            assert article["id"] and (article["status"] != "failed" or article["reason"]), article
    else:
        assert refused_clearly(response), response.text


watchlist_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"query": text_strings, "webhook": text_strings | st.just("https://example.com/h")},
                          optional={"name": text_strings, "languages": st.lists(text_strings, max_size=3),
                                    "sources": st.lists(text_strings, max_size=3),
                                    "entities": st.lists(text_strings, max_size=3),
                                    "entity_ids": st.lists(text_strings, max_size=3)}),
)


@slow(40)
@given(body=watchlist_bodies)
def test_any_watchlist_is_created_or_refused_with_a_reason(api: Api, body: Any) -> None:
    response = api.post("/watchlists", content=dump(body), headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 201) or refused_clearly(response), response.text


query_values = st.text(st.characters() | st.sampled_from('"-*():^~\\'), max_size=80)


@slow(40)
@given(path=st.sampled_from(["/search", "/", "/watchlists/preview"]),
       params=st.dictionaries(st.sampled_from(["q", "language", "source", "entity", "entity_id", "story_id", "from",
                                               "to", "sort", "limit", "search_after", "facets", "collapse"]),
                              query_values, max_size=5),
       raw=st.binary(max_size=60))
def test_any_query_string_is_answered_or_refused_with_a_reason(api: Api, path: str, params: dict[str, str],
                                                               raw: bytes) -> None:
    response = httpx.get(api.url + path, params=params, timeout=30)
    assert response.status_code < 500, response.text
    # Bytes no client library would send: percent-escapes of invalid UTF-8 and stray characters.
    escaped = "".join(f"%{byte:02X}" for byte in raw)
    assert httpx.get(f"{api.url}{path}?q={escaped}", timeout=30).status_code < 500
