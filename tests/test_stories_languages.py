"""Across languages: an English, a Malay and an Indonesian report of one event join one story.

What translations share: the names of people, places and organisations (as words, and as
canonical names, which are the same in every language), and numbers, whose separators the
names vector drops ("1.500" and "1,500" are both "1500").
Two sets of cases, both through the real enrich stage (language ID, NER, canonical names):
- three short reports written for this test, with a same-week event of the same kind beside them;
- NTREX-128 news translations: the Indonesian and Malay sentences of the dev half of the
  language-ID set (../shared/eval, read at run time; skipped where absent) and the English
  source sentences of the same lines (tests/fixtures/ntrex_en_excerpt.jsonl, CC BY-SA 4.0).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import SHARED
from kabar.contract.messages import Article
from kabar.contract.settings import KabarSettings
from kabar_enrich.stage import Enricher, build_enricher

FIXTURES = Path(__file__).parent / "fixtures"
LANGID = SHARED / "eval" / "langid" / "langid.jsonl"
FRIDAY = datetime(2021, 1, 15, 2, tzinfo=UTC)

QUAKE = {
    "id": ("Gempa magnitudo 6,2 guncang Mamuju, 34 orang tewas",
           "Gempa bumi bermagnitudo 6,2 mengguncang Kabupaten Mamuju dan Majene, Sulawesi Barat, Jumat dini hari. "
           "Badan Nasional Penanggulangan Bencana (BNPB) mencatat 34 orang meninggal dunia dan 15.000 warga "
           "mengungsi. Kepala BNPB Doni Monardo mengatakan rumah sakit Mitra Manakarra di Mamuju rusak berat.\n\n"
           "Badan Meteorologi, Klimatologi, dan Geofisika (BMKG) menyebut pusat gempa berada 6 kilometer timur laut "
           "Majene pada kedalaman 10 kilometer. Presiden Joko Widodo memerintahkan bantuan segera dikirim."),
    "ms": ("Gempa bumi 6.2 magnitud gegar Mamuju, 34 maut",
           "Gempa bumi berukuran 6.2 magnitud menggegarkan Mamuju dan Majene di Sulawesi Barat, Indonesia pada awal "
           "pagi Jumaat. Agensi pengurusan bencana BNPB berkata 34 orang terkorban dan 15,000 penduduk dipindahkan. "
           "Ketua BNPB Doni Monardo berkata hospital Mitra Manakarra di Mamuju rosak teruk.\n\n"
           "Agensi meteorologi BMKG berkata pusat gempa terletak 6 kilometer ke timur laut Majene pada kedalaman "
           "10 kilometer. Presiden Joko Widodo mengarahkan bantuan dihantar segera."),
    "en": ("Magnitude 6.2 earthquake hits Mamuju, killing 34",
           "A magnitude 6.2 earthquake struck Mamuju and Majene in West Sulawesi, Indonesia, early on Friday. The "
           "disaster agency BNPB said 34 people were killed and 15,000 residents were displaced. BNPB chief Doni "
           "Monardo said the Mitra Manakarra hospital in Mamuju was badly damaged.\n\n"
           "The geophysics agency BMKG said the epicentre was 6 kilometres northeast of Majene at a depth of "
           "10 kilometres. President Joko Widodo ordered aid to be sent at once."),
}
FLOOD = ("Banjir rendam 7 kabupaten di Kalimantan Selatan",
         "Banjir merendam tujuh kabupaten di Kalimantan Selatan sejak Kamis. BPBD Kalimantan Selatan mencatat "
         "21.990 rumah terendam di Banjar, Tanah Laut dan Hulu Sungai Tengah. Gubernur Sahbirin Noor menetapkan "
         "status tanggap darurat.\n\nBadan Meteorologi, Klimatologi, dan Geofisika (BMKG) memperkirakan hujan "
         "lebat masih turun hingga pekan depan. Presiden Joko Widodo akan meninjau lokasi banjir.")


def enriched_story(enricher: Enricher, article_id: str, title: str, text: str, moment: datetime) -> str:
    article = Article(id=article_id, title=title, text=text, content_hash=f"hash-{article_id}",
                      published_at=moment, received_at=moment)
    return enricher.enrich(article).story_id


@pytest.fixture
def enricher(tmp_path: Path) -> Enricher:
    return build_enricher(KabarSettings(mode="embedded"), sqlite_path=tmp_path / "state.db")


def test_three_languages_one_event_one_story(enricher: Enricher) -> None:
    flood = enriched_story(enricher, "flood-id", *FLOOD, FRIDAY - timedelta(hours=20))
    stories = {language: enriched_story(enricher, f"quake-{language}", title, text,
                                        FRIDAY + timedelta(hours=2 * number))
               for number, (language, (title, text)) in enumerate(QUAKE.items())}
    assert len(set(stories.values())) == 1, stories
    assert flood not in stories.values()


@pytest.mark.skipif(not LANGID.exists(), reason="../shared/eval/langid is not here")
def test_ntrex_translations_join_one_story_per_document(enricher: Enricher) -> None:
    english = [json.loads(line) for line in (FIXTURES / "ntrex_en_excerpt.jsonl").read_text().splitlines()]
    parallel: dict[int, dict[str, str]] = defaultdict(dict)
    with LANGID.open(encoding="utf-8") as rows:
        for row in map(json.loads, rows):
            if row["source"] == "ntrex-128-news":
                parallel[int(row["parallel_id"].removeprefix("ntrex-"))][row["lang"]] = row["text"]
    documents: dict[int, list[int]] = defaultdict(list)
    for row in english:
        parallel[row["line"]]["en"] = row["text"]
        documents[row["doc"]].append(row["line"])
    stories: dict[int, set[str]] = defaultdict(set)
    moment = datetime(2018, 9, 30, 6, tzinfo=UTC)
    for language in ("id", "en", "ms"):  # one outlet after another, documents interleaved
        for document, lines in sorted(documents.items()):
            title, *body = [parallel[line][language] for line in lines]
            moment += timedelta(minutes=7)
            stories[document].add(enriched_story(enricher, f"{language}-{document}", title, "\n\n".join(body),
                                                 moment))
    assert all(len(found) == 1 for found in stories.values()), stories
    assert len({next(iter(found)) for found in stories.values()}) == len(documents), stories
