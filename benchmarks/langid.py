"""Held-out evaluation of language identifiers.

    python benchmarks/langid.py [--no-baselines]

Reads ``../shared/eval/langid/langid.jsonl`` (relative to the repo root),
evaluates ONLY on the *test* quarter of the three-way split defined in
``services/enrich/training/train_langid.py`` (never fitted on, and no setting
was tuned on it: the train half is fitted on, the validation quarter tunes;
NTREX rows are split by ``split_key``, so a sentence, its translation and the
3-sentence run holding them are on one side), and prints per-language /
per-length accuracy, news paragraphs, id<->ms confusion, the rate at which
regional languages are called Indonesian, and microseconds per call.
Baselines (py3langid, pycld2, lingua) are measured when installed.

Then, for kabar alone, whole articles: mixed articles built from test
paragraphs (four news paragraphs in Indonesian or Malay with one English
paragraph among them) should keep the article's language and report the English
paragraph, and the IndoSum corpus articles (Indonesian news) should report no
paragraph in another language; with CPU milliseconds per corpus article.
Exits 0 with a message when the data set is absent.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import support  # benchmarks/support.py
from quality import FOCUS, NEWS_SOURCES, REGIONAL  # the eval set's groups, named once

REPO_ROOT, CORPUS = support.ROOT, support.CORPUS
support.use_source_tree("services/enrich", "services/enrich/training")

from train_langid import DATA_FILE, load_rows, split  # noqa: E402

BUCKETS = ("short", "sentence", "paragraph")
# The 23 languages of the eval set that lingua supports.
LINGUA_LANGS: tuple[str, ...] = ("id", "ms", "en", "tl", "vi", "th", "ja", "ko", "zh", "fr", "de", "es")
LINGUA_LANGS += ("pt", "nl", "it", "ru", "ar", "hi", "tr", "sw", "yo", "so", "af")

Predict = Callable[[str], tuple[str, bool]]


@dataclass
class Result:
    name: str
    preds: list[str]
    reliable: list[bool]
    us_per_call: float
    us_per_article: float


def kabar_predictor() -> Predict:
    from kabar_enrich.language import LanguageDetector  # noqa: PLC0415 - after sys.path set-up

    detector = LanguageDetector()

    def predict(text: str) -> tuple[str, bool]:
        guess = detector.detect(text)
        return guess.code, guess.reliable

    return predict


def py3langid_predictor() -> Predict:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415 - optional baseline

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def predict(text: str) -> tuple[str, bool]:
        code, prob = ident.classify(text)
        return str(code), float(prob) >= 0.9

    return predict


def cld2_predictor() -> Predict:
    import pycld2  # noqa: PLC0415 - optional baseline

    aliases = {"jw": "jv", "zh-Hant": "zh", "un": "und", "iw": "he"}

    def predict(text: str) -> tuple[str, bool]:
        try:
            reliable, _, details = pycld2.detect(text)
        except pycld2.error:
            return "und", False
        code = str(details[0][1])
        return aliases.get(code, code), bool(reliable)

    return predict


def lingua_predictor() -> Predict:
    from lingua import IsoCode639_1, LanguageDetectorBuilder  # noqa: PLC0415 - optional baseline

    codes = [getattr(IsoCode639_1, c.upper()) for c in LINGUA_LANGS]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def predict(text: str) -> tuple[str, bool]:
        lang = detector.detect_language_of(text)
        if lang is None:
            return "und", False
        return lang.iso_code_639_1.name.lower(), True

    return predict


def run(name: str, predict: Predict, texts: Sequence[str], articles: Sequence[str]) -> Result:
    predict(texts[0])  # warm-up: lazy model loading is not per-call cost
    start = time.process_time()
    out = [predict(t) for t in texts]
    per_call = (time.process_time() - start) / len(texts) * 1e6
    start = time.process_time()
    for _ in range(20):
        for article in articles:
            predict(article)
    per_article = (time.process_time() - start) / (20 * len(articles)) * 1e6
    return Result(name, [p for p, _ in out], [r for _, r in out], per_call, per_article)


def accuracy(gold: Sequence[str], pred: Sequence[str], mask: Sequence[bool]) -> str:
    n = sum(mask)
    if n == 0:
        return "-"
    hits = sum(1 for g, p, m in zip(gold, pred, mask, strict=True) if m and g == p)
    return f"{hits / n:.3f}"


def rate(gold: Sequence[str], pred: Sequence[str], src: set[str], dst: set[str]) -> float:
    idx = [i for i, g in enumerate(gold) if g in src]
    return sum(1 for i in idx if pred[i] in dst) / max(1, len(idx))


def table(rows: list[dict[str, Any]], results: list[Result]) -> None:
    gold = [r["lang"] for r in rows]
    bucket = [r["length_bucket"] for r in rows]
    langs = sorted(set(gold), key=lambda c: (c not in FOCUS, c not in REGIONAL, c))
    print(f"{'metric':34s}" + "".join(f"{r.name:>12s}" for r in results))

    def line(label: str, values: list[str]) -> None:
        print(f"{label:34s}" + "".join(f"{v:>12s}" for v in values))

    line("OVERALL accuracy", [accuracy(gold, r.preds, [True] * len(gold)) for r in results])
    for b in BUCKETS:
        mask = [x == b for x in bucket]
        line(f"  bucket {b} (n={sum(mask)})", [accuracy(gold, r.preds, mask) for r in results])
    line(
        "id<->ms confusion",
        [f"{_idms(gold, r.preds):.3f}" for r in results],
    )
    for b in BUCKETS:
        mask = [x == b for x in bucket]
        line(
            f"  id<->ms confusion, {b}", [f"{_idms(_subset(gold, mask), _subset(r.preds, mask)):.3f}" for r in results]
        )
    for lang in ("id", "ms"):
        mask = [r["lang"] == lang and r["source"] in NEWS_SOURCES for r in rows]
        line(f"news paragraphs, {lang} (n={sum(mask)})", [accuracy(gold, r.preds, mask) for r in results])
    line("regional -> 'id' rate", [f"{rate(gold, r.preds, set(REGIONAL), {'id'}):.3f}" for r in results])
    line("CPU us/call (test texts)", [f"{r.us_per_call:.0f}" for r in results])
    line("CPU us/article (seeds, whole)", [f"{r.us_per_article:.0f}" for r in results])
    for b in BUCKETS:
        mask = [x == b for x in bucket]
        line(f"  reliable share, {b}", [_share(r.reliable, mask) for r in results])
        both = [[m and ok for m, ok in zip(mask, r.reliable, strict=True)] for r in results]
        line(f"  acc when reliable, {b}", [accuracy(gold, r.preds, m) for r, m in zip(results, both, strict=True)])
    print("per-language accuracy")
    for lang in langs:
        mask = [g == lang for g in gold]
        line(f"  {lang} (n={sum(mask)})", [accuracy(gold, r.preds, mask) for r in results])


def _idms(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Share of id+ms rows labelled as the other one of the pair."""
    idx = [i for i, g in enumerate(gold) if g in ("id", "ms")]
    swapped = sum(1 for i in idx if {gold[i], pred[i]} == {"id", "ms"})
    return swapped / max(1, len(idx))


def _share(flags: Sequence[bool], mask: Sequence[bool]) -> str:
    n = sum(mask)
    return f"{sum(1 for f, m in zip(flags, mask, strict=True) if f and m) / max(1, n):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    rows = load_rows()
    if rows is None:
        print(f"langid data not found at {DATA_FILE}; skipping benchmark")
        return 0
    held_out = split(rows).test
    texts = [r["text"] for r in held_out]
    seeds = sorted((REPO_ROOT / "seeds").glob("*.txt")) or sorted((REPO_ROOT.parent / "shared" / "seeds").glob("*.txt"))
    seed_texts = [p.read_text(encoding="utf-8") for p in seeds] or texts[:5]
    factories: list[tuple[str, Callable[[], Predict]]] = [("kabar", kabar_predictor)]
    if not args.no_baselines:
        factories += [
            ("py3langid", py3langid_predictor),
            ("pycld2", cld2_predictor),
            ("lingua-23", lingua_predictor),
        ]
    results = []
    for name, factory in factories:
        try:
            results.append(run(name, factory(), texts, seed_texts))
        except ImportError as exc:
            print(f"skipping {name}: {exc}")
    print(f"test rows: {len(held_out)} (of {len(rows)}; never fitted or tuned on)")
    table(held_out, results)
    by_source(held_out, results[0])
    articles(held_out)
    return 0


def _subset(items: list[Any], keep: Sequence[bool]) -> list[Any]:
    return [x for x, k in zip(items, keep, strict=True) if k]


def by_source(rows: list[dict[str, Any]], result: Result) -> None:
    """Indonesian and Malay accuracy per source, and what the misses were called."""
    print(f"\n{result.name}: id and ms by source")
    groups: dict[tuple[str, str], list[str]] = {}
    for row, pred in zip(rows, result.preds, strict=True):
        if row["lang"] in ("id", "ms"):
            groups.setdefault((row["lang"], row["source"]), []).append(pred)
    for (lang, source), preds in sorted(groups.items()):
        misses = Counter(p for p in preds if p != lang).most_common(3)
        print(f"  {lang} {source:28s} n={len(preds):4d}  acc {preds.count(lang) / len(preds):.3f}  misses {misses}")


def articles(rows: list[dict[str, Any]]) -> None:
    """Whole-article decisions: mixed articles from test paragraphs, and the corpus."""
    from kabar_enrich.language import LanguageDetector  # noqa: PLC0415 - after sys.path set-up

    detector = LanguageDetector()
    english = [r["text"] for r in rows if r["lang"] == "en" and r["length_bucket"] == "paragraph"]
    print("\nkabar: whole articles")
    for lang in ("id", "ms"):
        news = [r["text"] for r in rows if r["lang"] == lang and r["source"] in NEWS_SOURCES]
        kept = found = spurious = total = 0
        for start in range(0, len(news) - 3, 4):
            quote = english[(start // 4) % len(english)]
            body = [*news[start : start + 2], quote, *news[start + 2 : start + 4]]
            result = detector.detect_article("\n\n".join(body))
            total += 1
            kept += result.guess.code == lang
            others = {p.guess.code for p in result.other_paragraphs}
            found += "en" in others
            spurious += bool(others - {"en"})
        print(f"  {lang} news + 1 English paragraph (n={total}): article {lang} {kept / max(1, total):.3f}, "
              f"English paragraph reported {found / max(1, total):.3f}, another paragraph reported "
              f"{spurious / max(1, total):.3f}")
    if not CORPUS.is_file():
        print(f"  {CORPUS} not found; corpus check skipped")
        return
    with CORPUS.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    started = time.process_time()
    results = [detector.detect_article(text) for text in texts]
    cpu_ms = (time.process_time() - started) * 1000 / len(texts)
    indonesian = sum(r.guess.code == "id" for r in results)
    flagged = Counter(p.guess.code for r in results for p in r.other_paragraphs)
    print(f"  IndoSum corpus (n={len(texts)}, mean {sum(map(len, texts)) / len(texts):,.0f} chars): "
          f"article id {indonesian / len(texts):.4f}, articles with a paragraph in another language "
          f"{sum(bool(r.other_paragraphs) for r in results) / len(texts):.4f} {dict(flagged)}, "
          f"CPU {cpu_ms:.2f} ms per article")


if __name__ == "__main__":
    raise SystemExit(main())
