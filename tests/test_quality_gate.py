"""The quality gate: scores on the gold data in ../shared/eval must not drop below pinned floors.

The floors sit a little under the measured figures (benchmarks/quality.py prints them);
raise a floor when a change improves a score. Skips where ../shared/eval is absent.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache, lru_cache
from types import ModuleType
from typing import Any

import pytest

from conftest import ROOT, SHARED

pytestmark = pytest.mark.skipif(not (SHARED / "eval").exists(), reason="../shared/eval is not here")


@lru_cache(maxsize=1)
def quality() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kabar_quality", ROOT / "benchmarks" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its worker processes find their functions by module name
    spec.loader.exec_module(module)
    return module


@cache
def section(name: str) -> dict[str, Any]:
    results: dict[str, Any] = quality().run([name])[name]
    return results


def test_near_duplicates_precision_and_recall() -> None:
    for order in ("file order", "shuffled"):
        scores = section("dedup")[f"kabar ({order})"]
        assert scores["precision"] >= 0.99, scores
        assert scores["recall"] >= 0.98, scores
        assert scores["teaser_recall"] >= 0.97, scores


def test_extraction_is_at_least_trafilatura_default() -> None:
    scores = section("extraction")
    for benchmark in ("scrapinghub-aeb", "fundus-parser-tests"):
        ours, theirs = scores[benchmark]["kabar"], scores[benchmark]["trafilatura default"]
        assert ours["f1"] >= theirs["f1"], (benchmark, ours, theirs)
        assert ours["f1"] >= 0.95, (benchmark, ours)
    snippets = scores["trafilatura-eval"]
    assert snippets["kabar"]["snip"] >= snippets["trafilatura default"]["snip"], snippets
    # Titles without the site's name: 0.84 / 0.72 measured (0.68 / 0.57 when it was left on).
    assert scores["fundus-parser-tests"]["kabar"]["title"] >= 0.82, scores
    assert scores["trafilatura-eval"]["kabar"]["title"] >= 0.70, scores


def test_language_identification_floors() -> None:
    scores = section("language")  # the test quarter: never trained or tuned on
    assert scores["overall"] >= 0.93, scores
    for language in ("en", "jv", "su", "tl", "vi"):
        assert scores["by_language"][language] >= 0.90, (language, scores)
    # Targets: Malay >= 0.90 and news paragraphs >= 0.98 each (met), Indonesian >= 0.95 and
    # id<->ms confusion <= 0.05 (missed: measured 0.937 and 0.061, see docs/enrichment.md).
    # The floors sit a little under the measured figures; the misses are short lines and
    # single sentences that read the same in Malaysian Malay and Indonesian.
    assert scores["by_language"]["id"] >= 0.93, scores
    assert scores["by_language"]["ms"] >= 0.92, scores
    assert scores["news_paragraphs"]["id"] >= 0.98, scores
    assert scores["news_paragraphs"]["ms"] >= 0.98, scores
    assert scores["id_ms_confusion"] <= 0.065, scores
    assert scores["regional_as_indonesian"] <= 0.05, scores


def test_named_entity_floors() -> None:
    scores = section("ner")
    # Measured on the dev sets: 0.844 / 0.770 / 0.635, Wikigold one sentence at a time 0.636
    # (benchmarks/ner.py). The targets on the held-out test sets (0.90 / 0.76 / 0.65) are not
    # reached; see docs/enrichment.md.
    assert scores["id_idner-news-2k_dev"]["ALL"]["f1"] >= 0.84, scores
    assert scores["id_nergrit_valid"]["ALL"]["f1"] >= 0.765, scores
    assert scores["en_wikigold_dev"]["ALL"]["f1"] >= 0.63, scores
    assert scores["en_wikigold_dev_sentences"]["ALL"]["f1"] >= 0.63, scores
    assert scores["id_idner-news-2k_dev"]["PER"]["f1"] >= 0.92, scores
    assert scores["id_idner-news-2k_dev"]["ORG"]["f1"] >= 0.80, scores
    assert scores["en_wikigold_dev"]["PER"]["f1"] >= 0.77, scores
    # Through the entity rules and canonical names, one sentence at a time, as `kabar enrich --jsonl` (the held-out
    # sets' path) gives them; measured 0.851 / 0.774 / 0.681 (benchmarks/entity_rules.py). idner-news-2k was 0.861
    # before countries named alone became places (session 16): it leaves a country that acts untagged ("serangan
    # udara Israel"), NERGrit, NER-UI and NER-UGM tag it, and a newsroom needs it. NERGrit 0.770 -> 0.774, NER-UI
    # 0.718 -> 0.721 and NER-UGM 0.750 -> 0.767 (benchmarks/entity_rules.py --indolem; not in ../shared). Session 17's
    # holders found after an office that names its own field ("Wapres Boediono") took idner-news-2k to 0.851.
    assert scores["id_idner-news-2k_dev_through_rules"]["ALL"]["f1"] >= 0.85, scores
    assert scores["id_nergrit_valid_through_rules"]["ALL"]["f1"] >= 0.77, scores
    assert scores["en_wikigold_dev_through_rules"]["ALL"]["f1"] >= 0.67, scores


def test_story_grouping_floors() -> None:
    scores = section("stories")
    fitted = scores["kabar (full dev, fitted on it)"]
    crossed = scores["kabar (5-fold cross-validated)"]
    baseline = scores["plain TF-IDF >= 0.3 within 4 days"]
    # The target is 0.85 for each on the held-out pairs: missed (docs/enrichment.md gives the gap).
    # These floors guard the measured figures: fitted 0.768 / 0.827 / 0.796 (0.807 before session 17's refit),
    # cross-validated 0.768 / 0.827 / 0.796
    # (0.785-0.796 over five fold seeds), since the entities' retrained recogniser and institutions' acronyms; the
    # acronyms an article defines (session 13) and canonical names without honours and legal forms (session 15)
    # each moved one pair, in turn down and up.
    assert fitted["precision"] >= 0.75 and fitted["recall"] >= 0.81 and fitted["f1"] >= 0.78, fitted
    assert crossed["precision"] >= 0.75 and crossed["recall"] >= 0.80 and crossed["f1"] >= 0.78, crossed
    assert crossed["f1"] >= baseline["f1"] + 0.2, (crossed, baseline)
