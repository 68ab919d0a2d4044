"""The quality gate: scores on the gold data in ../shared/eval must not drop below pinned floors.

The floors sit a little under the measured figures (benchmarks/quality.py prints them);
raise a floor when a change improves a score. Skips where ../shared/eval is absent.
"""

from __future__ import annotations

import importlib.util
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


def test_language_identification_floors() -> None:
    scores = section("language")
    assert scores["overall"] >= 0.87, scores
    for language in ("en", "jv", "su", "tl", "vi"):
        assert scores["by_language"][language] >= 0.90, (language, scores)
    assert scores["by_language"]["id"] >= 0.86, scores
    # Malay misses its 0.90 target: most "ms" rows from the lingua/Leipzig source are Indonesian
    # text (see benchmarks/langid.py); this floor only guards against getting worse.
    assert scores["by_language"]["ms"] >= 0.40, scores
    assert scores["id_ms_confusion"] <= 0.30, scores
    assert scores["regional_as_indonesian"] <= 0.05, scores


def test_named_entity_floors() -> None:
    scores = section("ner")
    # Targets are 0.85 / 0.72 / 0.65; idner-news-2k and Wikigold miss them (see benchmarks/ner.py).
    assert scores["id_idner-news-2k_dev"]["ALL"]["f1"] >= 0.82, scores
    assert scores["id_nergrit_valid"]["ALL"]["f1"] >= 0.73, scores
    assert scores["en_wikigold_last20pct"]["ALL"]["f1"] >= 0.58, scores
    assert scores["id_idner-news-2k_dev"]["PER"]["f1"] >= 0.90, scores
