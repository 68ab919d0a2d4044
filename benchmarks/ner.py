"""NER benchmark: entity-level P/R/F1 per type and overall on each dev file, plus ms per article.

    python benchmarks/ner.py

Scores the SHIPPED models (services/enrich/kabar_enrich/models) through the runtime module. Dev
data is read from <repo>/../shared/eval/ner (never copied into the repo); when it is absent the
accuracy part is skipped with a message (exit 0). The English dev set is the Wikigold articles
from 80 % of en_wikigold_train.bio on, which the shipped English model did not train on (see
train_ner.py); Wikigold is scored article by article, so that the second pass sees each article
whole, and again with every sentence tagged alone ("(sentences)"), as a one-sentence text is; the
Indonesian sets sentence by sentence (their sentences are shuffled). Speed is CPU
time per article of ../shared/corpus/indosum.jsonl.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time

import support  # benchmarks/support.py

support.use_source_tree("services/enrich", "services/enrich/training")

from train_ner import (  # noqa: E402
    DATA_DIR,
    SECOND_PASS_LANGUAGES,
    Score,
    documents,
    load_corpus,
    score_documents,
    score_sentences,
)

from kabar_enrich.entities import EntityRecognizer  # noqa: E402

CORPUS = support.CORPUS


def accuracy(recognizer: EntityRecognizer) -> None:
    if not DATA_DIR.is_dir():
        print(f"skipping accuracy: NER dev data not found at {DATA_DIR}")
        return
    print(f"{'file':38} {'type':5} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}")
    for language in ("id", "en"):
        for name, dev in load_corpus(language).dev.items():
            tag = lambda doc, lang=language: recognizer.tag_sentences(doc, lang)  # noqa: E731
            print_scores(name, score_documents(tag, name, dev))
            if language in SECOND_PASS_LANGUAGES:  # also as one-sentence texts: no article to learn from
                print_scores(f"{name} (sentences)", score_sentences(tag, dev))


def print_scores(name: str, scores: list[Score]) -> None:
    for s in scores:
        print(f"{name:38} {s.label:5} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:8d}")


def speed(recognizer: EntityRecognizer, limit: int = 1000) -> None:
    """CPU ms per article over the first ``limit`` corpus articles, as the enrich stage sees them
    (the word-score cache starts empty, as in a fresh worker)."""
    if not CORPUS.is_file():
        print(f"skipping speed: {CORPUS} not found")
        return
    with CORPUS.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in itertools.islice(lines, limit)]
    costs = []
    for text in texts:
        started = time.process_time()
        recognizer.extract(text, "id")
        costs.append((time.process_time() - started) * 1000)
    print(
        f"speed: {statistics.mean(costs):.2f} ms CPU per article (mean; p50 {statistics.median(costs):.2f},"
        f" p95 {statistics.quantiles(costs, n=20)[-1]:.2f}) over {len(texts)} corpus articles of"
        f" {statistics.mean(map(len, texts)):,.0f} characters on average"
    )


def speed_english(recognizer: EntityRecognizer) -> None:
    """CPU ms per English article: the Wikigold dev articles, words joined by spaces (the corpus
    has few English articles). English costs more than Indonesian: two passes, and no news text
    of its own language warms the word-score cache."""
    if not DATA_DIR.is_dir():
        return
    dev = load_corpus("en").dev["en_wikigold_dev"]
    texts = [" ".join(w for s in doc for w, _ in s) for doc in documents("en_wikigold_dev", dev)]
    started = time.process_time()
    for text in texts:
        recognizer.extract(text, "en")
    cpu_ms = (time.process_time() - started) * 1000
    print(
        f"speed (English): {cpu_ms / len(texts):.2f} ms CPU per article over {len(texts)} Wikigold dev articles"
        f" of {statistics.mean(map(len, texts)):,.0f} characters on average"
    )


def main() -> int:
    started = time.perf_counter()
    recognizer = EntityRecognizer()
    print(f"models loaded in {(time.perf_counter() - started) * 1000:.0f} ms")
    accuracy(recognizer)
    speed(recognizer)
    speed_english(recognizer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
