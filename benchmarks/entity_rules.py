"""What the entity rules and canonical names change on the NER dev sets, and what they cost.

    python benchmarks/entity_rules.py

The held-out NER sets are scored through ``kabar enrich --jsonl``, which runs the recogniser,
then ``entity_rules.refine`` and ``canonical.canonicalise`` (which may retype a mention). This
scores each dev sentence (tokens joined by spaces) both ways, entity-level exact match of
span and type, so a rule that helps newsroom text but hurts the annotated sets shows here.
Reads ../shared/eval/ner at run time; skips with a message where it is absent.

    python benchmarks/entity_rules.py --indolem /path/to/indolem

also scores NER-UI and NER-UGM (IndoLEM's copies, github.com/indolem/indolem, ner/data/), whose annotators
kabar never trained on: each of their five test folds (which together hold every sentence once), and fold 1,
on PER, ORG and LOC (NER-UGM's TIME and QUANTITY read as no entity: kabar tags neither). Not in ../shared:
point it at a checkout.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import support  # benchmarks/support.py

support.use_source_tree("src", "services/enrich", "services/enrich/training")

from train_ner import DATA_DIR, Sentence, load_corpus, read_bio, retokenize  # noqa: E402

from kabar_enrich.canonical import canonicalise  # noqa: E402
from kabar_enrich.entities import EntityRecognizer, EntitySpan, bio_to_spans  # noqa: E402
from kabar_enrich.entity_rules import refine  # noqa: E402

Span = tuple[str, int, int]


def gold_spans(words: Sequence[str], tags: Sequence[str]) -> tuple[str, set[Span]]:
    starts, offset = [], 0
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    text = " ".join(words)
    return text, {(label, starts[first], starts[last - 1] + len(words[last - 1]))
                  for label, first, last in bio_to_spans(tags)}


def as_set(spans: Sequence[EntitySpan]) -> set[Span]:
    return {(span.label, span.start, span.end) for span in spans}


def f1(counts: Counter[str]) -> tuple[float, float, float]:
    precision = counts["tp"] / (counts["tp"] + counts["fp"]) if counts["tp"] + counts["fp"] else 0.0
    recall = counts["tp"] / (counts["tp"] + counts["fn"]) if counts["tp"] + counts["fn"] else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_through_rules(recognizer: EntityRecognizer, language: str,
                        dev: Sequence[Sequence[tuple[str, str]]]) -> tuple[Counter[str], Counter[str], float]:
    """Entity counts (tp/fp/fn) of the recogniser alone and through the rules and canonical names, one
    sentence at a time, and the CPU milliseconds the rules and canonical names took."""
    plain: Counter[str] = Counter()
    ruled: Counter[str] = Counter()
    cpu_ms = 0.0
    for sentence in dev:
        text, gold = gold_spans([w for w, _ in sentence], [t for _, t in sentence])
        spans = recognizer.extract(text, language)
        started = time.process_time()
        entities = canonicalise(refine(text, spans, language=language), text=text)
        cpu_ms += (time.process_time() - started) * 1000
        for counts, found in ((plain, as_set(spans)), (ruled, {(e.label, e.start, e.end) for e in entities})):
            counts.update(tp=len(found & gold), fp=len(found - gold), fn=len(gold - found))
    return plain, ruled, cpu_ms


INDOLEM_LABELS = {"PERSON": "PER", "ORGANIZATION": "ORG", "LOCATION": "LOC"}
INDOLEM_SETS = ("nerui", "nerugm")
INDOLEM_FOLDS = 5


def indolem_sentences(path: Path) -> list[Sentence]:
    """An IndoLEM NER file with its labels as kabar's; TIME and QUANTITY (NER-UGM) as no entity."""
    def ours(tag: str) -> str:
        label = INDOLEM_LABELS.get(tag[2:]) if tag != "O" else None
        return f"{tag[:2]}{label}" if label else "O"
    return [retokenize([(token, ours(tag)) for token, tag in sentence]) for sentence in read_bio(path)]


def score_indolem(recognizer: EntityRecognizer, root: Path) -> None:
    for name in INDOLEM_SETS:
        folds = [indolem_sentences(root / "ner" / "data" / name / f"test.{fold:02d}.tsv")
                 for fold in range(1, INDOLEM_FOLDS + 1)]
        for part, dev in ((f"{name} test fold 1", folds[0]), (f"{name} all 5 test folds",
                                                               [s for fold in folds for s in fold])):
            plain, ruled, _ = score_through_rules(recognizer, "id", dev)
            for label, counts in (("recogniser", plain), ("+ rules + canonical", ruled)):
                precision, recall, score = f1(counts)
                print(f"{part:26} {label:24} {precision:6.3f} {recall:6.3f} {score:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indolem", type=Path, help="a checkout of github.com/indolem/indolem: score NER-UI/UGM")
    arguments = parser.parse_args()
    if arguments.indolem is not None:
        if not (arguments.indolem / "ner" / "data").is_dir():
            parser.error(f"no ner/data in {arguments.indolem}")
        recognizer = EntityRecognizer()
        score_indolem(recognizer, arguments.indolem)
        return
    if not DATA_DIR.is_dir():
        print(f"skipped: NER dev data not found at {DATA_DIR}")
        return
    recognizer = EntityRecognizer()
    canonicalise(refine("Presiden Rusia Vladimir Putin.", []), text="")  # load the name tables first
    print(f"{'dev set':26} {'pipeline':24} {'P':>6} {'R':>6} {'F1':>6}")
    cpu_ms = 0.0
    sentences = 0
    for language in ("id", "en"):
        for name, dev in load_corpus(language).dev.items():
            plain, ruled, spent = score_through_rules(recognizer, language, dev)
            cpu_ms += spent
            sentences += len(dev)
            for label, counts in (("recogniser", plain), ("+ rules + canonical", ruled)):
                precision, recall, score = f1(counts)
                print(f"{name:26} {label:24} {precision:6.3f} {recall:6.3f} {score:6.3f}")
    print(f"rules + canonical: {cpu_ms / sentences:.3f} ms CPU per sentence over {sentences} sentences")


if __name__ == "__main__":
    main()
