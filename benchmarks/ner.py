"""NER benchmark: entity-level P/R/F1 per type and overall on each dev file, plus ms per article.

    python benchmarks/ner.py

Scores the SHIPPED models (services/enrich/kabar_enrich/models) through the runtime module. Dev
data is read from <repo>/../shared/eval/ner (never copied into the repo); when it is absent the
accuracy part is skipped with a message (exit 0). The English dev set is the last 20% of
en_wikigold_train.bio, which the shipped English model did not train on (see train_ner.py).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "services" / "enrich"))
sys.path.insert(0, str(REPO_ROOT / "services" / "enrich" / "training"))

from train_ner import DATA_DIR, load_corpus, score  # noqa: E402

from kabar_enrich.entities import EntityRecognizer  # noqa: E402

SEED_DIRS = (REPO_ROOT / "seeds", REPO_ROOT.parent / "shared" / "seeds")


def accuracy(recognizer: EntityRecognizer) -> None:
    if not DATA_DIR.is_dir():
        print(f"skipping accuracy: NER dev data not found at {DATA_DIR}")
        return
    print(f"{'file':26} {'type':5} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}")
    for language in ("id", "en"):
        for name, dev in load_corpus(language).dev.items():
            gold = [[t for _, t in s] for s in dev]
            predicted = recognizer.tag_sentences([[w for w, _ in s] for s in dev], language)
            for s in score(gold, predicted):
                print(f"{name:26} {s.label:5} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:8d}")


def speed(recognizer: EntityRecognizer, repeats: int = 30) -> None:
    texts = [p.read_text(encoding="utf-8") for d in SEED_DIRS if d.is_dir() for p in sorted(d.glob("*.txt"))]
    if not texts:
        print("skipping speed: no seed articles found")
        return
    texts = texts[:5]
    for text in texts:  # warm caches, as a long-running worker would be
        recognizer.extract(text, "id")
    per_article: list[float] = []
    for _ in range(repeats):
        for text in texts:
            started = time.process_time()
            recognizer.extract(text, "id")
            per_article.append((time.process_time() - started) * 1000 * 2500 / len(text))
    print(
        f"speed: {statistics.median(per_article):.2f} ms CPU per 2,500 chars (median; p90 "
        f"{statistics.quantiles(per_article, n=10)[-1]:.2f}) over {len(texts)} seed articles x {repeats}"
    )


def main() -> int:
    started = time.perf_counter()
    recognizer = EntityRecognizer()
    print(f"models loaded in {(time.perf_counter() - started) * 1000:.0f} ms")
    accuracy(recognizer)
    speed(recognizer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
