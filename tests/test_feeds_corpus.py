"""parse_feed on feedparser's own test feeds (tests/feed_corpus/feedparser, BSD licence): every file
is read as feedparser reads it, or refused with one clear reason; no encoding is refused for being
multi-byte, and every entry feedparser finds is taken or counted as skipped with a reason."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest

from kabar_ingest.feeds import FeedError, parse_feed

CORPUS = Path(__file__).parent / "feed_corpus" / "feedparser"
FILES = sorted(path for path in CORPUS.rglob("*.xml"))
_HEADER = re.compile(rb"^Header:\s*Content-type:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
URL = "http://feeds.example/feed.xml"


def content_type_of(data: bytes) -> str:
    """The Content-Type the test file says it was served with (its leading comment), if any."""
    match = _HEADER.search(data[:2000])
    return match.group(1).decode("latin-1").strip() if match else ""


def test_the_corpus_is_there() -> None:
    assert len(FILES) > 500
    assert (CORPUS / "LICENSE").exists()


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(CORPUS)))
def test_a_real_world_feed_is_read_as_feedparser_reads_it(path: Path) -> None:
    data = path.read_bytes()
    content_type = content_type_of(data)
    reference = feedparser.parse(data, response_headers={"content-type": content_type or "application/xml",
                                                         "content-location": URL})
    try:
        parsed = parse_feed(data, URL, content_type)
    except FeedError as exc:
        reason = str(exc)
        assert "multi-byte" not in reason and "LookupError" not in reason, reason
        if not reason.startswith("refused:"):  # entity declarations are refused on purpose (defusedxml)
            assert not reference.entries, f"feedparser read {len(reference.entries)} entries: {reason}"
        return
    assert len(parsed.entries) + parsed.skipped == len(reference.entries)
    assert parsed.skipped == sum(parsed.skipped_reasons.values())
