"""Enrichment never crashes on strange text and says honestly when it cannot tell."""

from __future__ import annotations

from pathlib import Path

import pytest

from kabar.contract.messages import Article, utc_now
from kabar.contract.settings import KabarSettings
from kabar_enrich.stage import Enricher, build_enricher


@pytest.fixture(scope="module")
def enricher(tmp_path_factory: pytest.TempPathFactory) -> Enricher:
    return build_enricher(KabarSettings(data_dir=tmp_path_factory.mktemp("data")), Path(":memory:"))


def article(article_id: str, text: str) -> Article:
    return Article(id=article_id, title="", text=text, content_hash=article_id, received_at=utc_now())


@pytest.mark.parametrize(("name", "text"), [
    ("unknown script", "ᐃᓄᒃᑎᑐᑦ ᑎᑎᕋᐅᓯᖅ ᐊᒥᓱᓂᒃ ᐅᖃᐅᓯᖃᖅᑐᖅ " * 20),
    ("emoji only", "😀🎉🔥🙏 " * 50),
    ("one repeated word", "berita " * 150_000),
    ("control characters", "Jakarta\x00\x01\x02 \u202eberita\u202c hari ini " * 30),
])
def test_strange_text_gets_valid_output_with_low_confidence(enricher: Enricher, name: str, text: str) -> None:
    enriched = enricher.enrich(article(name, text))
    assert 0.0 <= enriched.language_confidence <= 1.0
    if name in ("unknown script", "emoji only"):
        assert enriched.language in ("und", "iu") or enriched.language_confidence <= 0.5
    for entity in enriched.entities:
        assert text[entity.start:entity.end] == entity.text
    assert enriched.fingerprint and enriched.story_id


def test_emoji_only_is_undetermined(enricher: Enricher) -> None:
    enriched = enricher.enrich(article("emoji", "😀🎉🔥🙏"))
    assert enriched.language == "und"
    assert enriched.language_confidence == 0.0
    assert enriched.entities == []


def test_mixed_language_text_is_not_confident(enricher: Enricher) -> None:
    text = ("Presiden Joko Widodo meresmikan jalan tol baru di Jawa Tengah pada hari Senin. " * 3
            + "The European Central Bank left interest rates unchanged on Thursday, officials said. " * 3)
    enriched = enricher.enrich(article("mixed", text))
    assert enriched.language in ("id", "en")
    assert enriched.language_confidence <= 0.5
