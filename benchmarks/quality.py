"""Quality of every enrichment step on the gold data in ../shared/eval, as one table.

    python benchmarks/quality.py [--section extraction|dedup|language|ner ...] [--json FILE]

Sections:
- extraction: token-level P/R/F1 of the main text against gold bodies (scrapinghub and
  fundus pages; upstream scoring), and must/must-not snippet accuracy (trafilatura's
  pages), for kabar's extraction (the ingest stage's own) beside trafilatura's defaults on the
  same pages; and the share of kabar's titles that are the gold headline (fundus' pages, and
  trafilatura's that give one);
- dedup: pairwise P/R/F1 of near-duplicate links on the syndication set, articles fed
  in file order and shuffled, beside plain MinHash LSH (word 3-grams, threshold 0.5);
- language: accuracy by language and length bucket on the test quarter of the
  language-ID set, on Indonesian and Malay news paragraphs, id<->ms confusion,
  regional languages labelled Indonesian;
- ner: entity-level P/R/F1 per type on the dev files;
- stories: pairwise P/R/F1 of same-story grouping on the labelled dev pairs (the README's
  protocol: the pairs' articles pushed in date order, "same story_id" against ``same``),
  through the real ingest and enrich code; the same figure cross-validated (the story model
  refitted on 4/5 of the pairs, split by connected article groups, and scored on the rest);
  and the plain TF-IDF baseline (cosine >= 0.3 within 4 days) on the same pairs.

Skips cleanly (exit 0) where ../shared/eval is absent. tests/test_quality_gate.py pins
floors on these figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
for folder in ("src", "services/ingest", "services/enrich", "services/search"):
    sys.path.insert(0, str(ROOT / folder))

Results = dict[str, Any]
_TOKEN = re.compile(r"\w+", re.UNICODE)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


# ---------------------------------------------------------------- extraction
def token_f1(predicted: str, gold: str) -> tuple[float, float, float]:
    """Bag-of-tokens P/R/F1, as the scrapinghub article-extraction-benchmark scores it."""
    got, want = Counter(_TOKEN.findall(predicted.lower())), Counter(_TOKEN.findall(gold.lower()))
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def same_title(title: str, gold: str) -> bool:
    """The headline as the gold gives it, whatever the quotes, Unicode form, case and spacing."""
    def plain(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).translate(_QUOTE_FORMS).replace("\u00ad", "")
        return " ".join(text.split()).casefold()

    return plain(title) == plain(gold)


_QUOTE_FORMS = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


def kabar_extract(html: str, url: str | None) -> tuple[str, str]:
    """Title and body as the ingest stage produces them from a pushed page (none when it finds no article)."""
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar_ingest.stage import UnusableDocument, prepare  # noqa: PLC0415

    try:
        prepared = prepare(RawDocument(source="push", format="html", content=html, url=url))
    except UnusableDocument:
        return "", ""
    return prepared.title, prepared.text


def trafilatura_default(html: str, url: str | None) -> tuple[str, str]:
    import trafilatura  # noqa: PLC0415

    return "", trafilatura.extract(html, url=url) or ""


EXTRACTORS: dict[str, Callable[[str, str | None], tuple[str, str]]] = {
    "kabar": kabar_extract, "trafilatura default": trafilatura_default,
}


def extract_row(row: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Every extractor's title and body for one gold page."""
    html = gzip.decompress((EVAL / "extraction" / row["html_path"]).read_bytes()).decode("utf-8", "replace")
    return {name: extractor(html, row.get("url")) for name, extractor in EXTRACTORS.items()}


def section_extraction(limit: int | None) -> Results:
    rows = list(read_jsonl(EVAL / "extraction" / "gold.jsonl"))[:limit]
    # The pages are independent and the extractors pure: one process per core (the gate's slowest test).
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        extracted = list(pool.map(extract_row, rows, chunksize=8))
    scores: dict[str, dict[str, list[float]]] = {}
    for row, outputs in zip(rows, extracted, strict=True):
        for name, (title, text) in outputs.items():
            bucket = scores.setdefault(f"{row['benchmark']}|{name}", {"p": [], "r": [], "f1": [], "snip": [],
                                                                       "title": []})
            if row.get("gold_title") and name == "kabar":  # the baseline gives no title
                bucket["title"].append(float(same_title(title, row["gold_title"])))
            if row["gold_type"] == "full_body":
                precision, recall, f1 = token_f1(text, row["gold_body"])
                bucket["p"].append(precision)
                bucket["r"].append(recall)
                bucket["f1"].append(f1)
            else:  # snippets may come from the headline, which kabar keeps apart from the body
                article = f"{title}\n{text}"
                hits = [snippet in article for snippet in row.get("must_contain", [])]
                hits += [snippet not in article for snippet in row.get("must_not_contain", [])]
                bucket["snip"].extend(float(hit) for hit in hits)
    results: Results = {}
    for key, bucket in sorted(scores.items()):
        benchmark, name = key.split("|")
        mean = {metric: round(sum(values) / len(values), 4) for metric, values in bucket.items() if values}
        results.setdefault(benchmark, {})[name] = {**mean, "pages": max(len(bucket["f1"]), 0) or None}
    return results


# ---------------------------------------------------------------- dedup
def section_dedup() -> Results:
    from kabar_enrich.fingerprint import fingerprint, shingles, words  # noqa: PLC0415
    from kabar_enrich.neardup import NearDuplicateIndex, SqliteLinkStore  # noqa: PLC0415
    from kabar_ingest.cleaning import clean_text  # noqa: PLC0415

    docs = []
    for row in read_jsonl(EVAL / "dedup" / "docs.jsonl"):
        cleaned = clean_text(row["text"])
        docs.append((row["doc_id"], cleaned.title, cleaned.text))
    pairs = list(read_jsonl(EVAL / "dedup" / "pairs.jsonl"))
    results: Results = {}
    for order in ("file order", "shuffled"):
        ordered = list(docs)
        if order == "shuffled":
            random.Random(7).shuffle(ordered)
        index = NearDuplicateIndex(SqliteLinkStore(Path(":memory:")))
        started = time.perf_counter()
        root = {doc_id: index.link(doc_id, fingerprint(title, text, 128)) or doc_id
                for doc_id, title, text in ordered}
        per_doc_ms = (time.perf_counter() - started) * 1000 / len(ordered)
        results[f"kabar ({order})"] = {**score_pairs(pairs, lambda a, b, root=root: root[a] == root[b]),
                                       "ms_per_doc": round(per_doc_ms, 2)}
    from datasketch import MinHash, MinHashLSH  # noqa: PLC0415

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    hashes = {}
    for doc_id, title, text in docs:
        minhash = MinHash(num_perm=128)
        minhash.update_batch(list(shingles(words(f"{title}\n{text}"))))
        hashes[doc_id] = minhash
        lsh.insert(doc_id, minhash)
    results["plain MinHash LSH 0.5"] = score_pairs(pairs, lambda a, b: b in lsh.query(hashes[a]))
    return results


def score_pairs(pairs: list[dict[str, Any]], linked: Callable[[str, str], bool]) -> Results:
    tp = fp = fn = 0
    missed: Counter[str] = Counter()
    for pair in pairs:
        predicted = linked(pair["a"], pair["b"])
        if pair["label"] == 1 and predicted:
            tp += 1
        elif pair["label"] == 1:
            fn += 1
            missed[pair["kind"]] += 1
        elif predicted:
            fp += 1
    teasers = [pair for pair in pairs if pair["kind"] == "partial"]
    teaser_recall = 1 - missed["partial"] / len(teasers) if teasers else 0.0
    return {**prf(tp, fp, fn), "teaser_recall": round(teaser_recall, 4), "missed": dict(missed)}


# ---------------------------------------------------------------- language
REGIONAL = ("jv", "su", "min", "ban", "ace", "bjn", "mad", "bug", "bbc", "nij")
FOCUS = ("id", "ms", "en", "jv", "su", "tl", "vi")
NEWS_SOURCES = ("ntrex-128-news-3sent", "indosum-news-paragraph", "fundus-gold-news-paragraph")


def section_language() -> Results:
    """The test quarter only: training/train_langid.py fits on the train half and tunes on the
    validation quarter of its three-way split, never on this one."""
    sys.path.insert(0, str(ROOT / "services" / "enrich" / "training"))
    from train_langid import load_rows, split  # noqa: PLC0415

    from kabar_enrich.language import LanguageDetector  # noqa: PLC0415

    rows = load_rows()
    if rows is None:
        return {}
    held_out = split(rows).test
    detector = LanguageDetector()
    started = time.process_time()
    predicted = [detector.detect(row["text"]).code for row in held_out]
    cpu_ms = (time.process_time() - started) * 1000 / len(held_out)
    gold = [row["lang"] for row in held_out]
    correct = [g == p for g, p in zip(gold, predicted, strict=True)]

    def accuracy(keep: Callable[[dict[str, Any]], bool]) -> float:
        picked = [ok for ok, row in zip(correct, held_out, strict=True) if keep(row)]
        return round(sum(picked) / len(picked), 4) if picked else 0.0

    id_ms = [p for g, p in zip(gold, predicted, strict=True) if g in ("id", "ms")]
    confused = sum(1 for g, p in zip(gold, predicted, strict=True) if {g, p} == {"id", "ms"})
    regional = [p for g, p in zip(gold, predicted, strict=True) if g in REGIONAL]
    return {
        "rows": len(held_out),
        "overall": accuracy(lambda _row: True),
        "by_language": {lang: accuracy(lambda row, lang=lang: row["lang"] == lang) for lang in FOCUS},
        "by_length": {bucket: accuracy(lambda row, bucket=bucket: row["length_bucket"] == bucket)
                      for bucket in ("short", "sentence", "paragraph")},
        "news_paragraphs": {lang: accuracy(lambda row, lang=lang: row["lang"] == lang
                                           and row["source"] in NEWS_SOURCES) for lang in ("id", "ms")},
        "id_ms_confusion": round(confused / len(id_ms), 4) if id_ms else 0.0,
        "regional_as_indonesian": round(regional.count("id") / len(regional), 4) if regional else 0.0,
        "cpu_ms_per_text": round(cpu_ms, 3),
    }


# ---------------------------------------------------------------- ner
def section_ner() -> Results:
    """The shipped models on the dev files (train_ner.py trains on the train files only)."""
    sys.path[:0] = [str(ROOT / "services" / "enrich" / "training"), str(ROOT / "benchmarks")]
    from entity_rules import score_through_rules  # noqa: PLC0415  (benchmarks/entity_rules.py)
    from train_ner import DATA_DIR, SECOND_PASS_LANGUAGES, load_corpus, score_documents, score_sentences  # noqa: PLC0415

    from kabar_enrich.entities import EntityRecognizer  # noqa: PLC0415

    if not DATA_DIR.is_dir():
        return {}
    recognizer = EntityRecognizer()
    results: Results = {}
    for language in ("id", "en"):
        for name, dev in load_corpus(language).dev.items():
            tag = lambda doc, lang=language: recognizer.tag_sentences(doc, lang)  # noqa: E731
            results[name] = _ner_scores(score_documents(tag, name, dev))
            if language in SECOND_PASS_LANGUAGES:  # each sentence alone, as a one-sentence text
                results[f"{name}_sentences"] = _ner_scores(score_sentences(tag, dev))
            # As `kabar enrich --jsonl` (the held-out sets' path) gives them: after the rules and canonical names.
            _, ruled, _ = score_through_rules(recognizer, language, dev)
            results[f"{name}_through_rules"] = {"ALL": prf(ruled["tp"], ruled["fp"], ruled["fn"])}
    return results


def _ner_scores(scores: Any) -> Results:
    return {item.label: {"precision": round(item.precision, 4), "recall": round(item.recall, 4),
                         "f1": round(item.f1, 4), "support": item.support}
            for item in scores}


# ---------------------------------------------------------------- stories
STORY_FOLDS = 5
BASELINE_COSINE = 0.3
BASELINE_DAYS = 4.0


def section_stories() -> Results:
    """Dev half only: the story model is fitted on these pairs, so the full-dev figure is not held out."""
    sys.path.insert(0, str(ROOT / "services" / "enrich" / "training"))
    import fit_story_model as fitting  # noqa: PLC0415

    if not fitting.PAIRS.exists() or not fitting.CORPUS.exists():
        return {}
    pairs = fitting.scored_pairs()
    rows = fitting.pair_articles(pairs)
    prepared = fitting.prepare(rows)
    return {
        "pairs": len(pairs), "same": sum(int(pair["same"]) for pair in pairs),
        "kabar (full dev, fitted on it)": _score_stories(pairs, _stories_as_pushed(rows)),
        f"kabar ({STORY_FOLDS}-fold cross-validated)": _cross_validated(pairs, prepared, fitting),
        "plain TF-IDF >= 0.3 within 4 days": _score_stories_pairwise(pairs, _tfidf_baseline(rows)),
    }


def _stories_as_pushed(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Each corpus row's story_id from the real enrich stage (fresh SQLite state), rows pushed in date order."""
    import fit_story_model as fitting  # noqa: PLC0415

    from kabar.contract.settings import KabarSettings  # noqa: PLC0415
    from kabar_enrich.stage import build_enricher  # noqa: PLC0415

    enricher = build_enricher(KabarSettings(mode="embedded"), sqlite_path=Path(":memory:"))
    return {row["id"]: enricher.enrich(fitting.as_pushed(row)).story_id for row in rows}


def _folds(pairs: list[dict[str, Any]]) -> list[int]:
    """A fold per pair: connected article groups stay whole (no article links a fold to another)."""
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            item = parent[item]
        return item

    for pair in pairs:
        parent[root(pair["a"])] = root(pair["b"])
    groups = sorted({root(pair["a"]) for pair in pairs})
    random.Random(17).shuffle(groups)
    fold_of = {group: index % STORY_FOLDS for index, group in enumerate(groups)}
    return [fold_of[root(pair["a"])] for pair in pairs]


def _cross_validated(pairs: list[dict[str, Any]], prepared: list[Any], fitting: Any) -> Results:
    from kabar.contract.settings import KabarSettings  # noqa: PLC0415
    from kabar_enrich.stories import StoryGrouper  # noqa: PLC0415
    from kabar_enrich.story_store import SqliteStoryStore  # noqa: PLC0415

    settings = KabarSettings()
    by_id = {item.corpus_id: item for item in prepared}
    folds = _folds(pairs)
    tp = fp = fn = 0
    for fold in range(STORY_FOLDS):
        model = fitting.fit_on([pair for pair, k in zip(pairs, folds, strict=True) if k != fold], by_id)
        grouper = StoryGrouper(SqliteStoryStore(Path(":memory:")), settings.story_join_probability,
                               timedelta(days=settings.story_window_days), model)
        story_of = {item.corpus_id: grouper.assign(item.article_id, item.features, item.duplicate_of)
                    for item in prepared}
        for pair, k in zip(pairs, folds, strict=True):
            if k == fold:
                same = story_of[pair["a"]] == story_of[pair["b"]]
                tp += same and pair["same"] == 1
                fp += same and pair["same"] == 0
                fn += not same and pair["same"] == 1
    return prf(tp, fp, fn)


def _tfidf_baseline(rows: list[dict[str, Any]]) -> Callable[[str, str], bool]:
    """Cosine of plain TF-IDF vectors (all words, the shipped document frequencies) >= 0.3, within 4 days."""
    import math  # noqa: PLC0415

    from kabar_enrich.fingerprint import words  # noqa: PLC0415
    from kabar_enrich.story_features import default_vectorizer, dot, normalise  # noqa: PLC0415

    vectorizer = default_vectorizer()
    vectors, dates = {}, {}
    for row in rows:
        counts = Counter(word for word in words(row["text"]) if len(word) > 2 and not word.isdigit())
        vectors[row["id"]] = normalise({word: (1 + math.log(n)) * vectorizer.idf(word) for word, n in counts.items()})
        dates[row["id"]] = datetime.fromisoformat(row["date_from_id"].replace("Z", "+00:00"))

    def linked(a: str, b: str) -> bool:
        days = abs((dates[a] - dates[b]).total_seconds()) / 86_400
        return days <= BASELINE_DAYS and dot(vectors[a], vectors[b]) >= BASELINE_COSINE

    return linked


def _score_stories(pairs: list[dict[str, Any]], story_of: dict[str, str]) -> Results:
    return _score_stories_pairwise(pairs, lambda a, b: story_of[a] == story_of[b])


def _score_stories_pairwise(pairs: list[dict[str, Any]], linked: Callable[[str, str], bool]) -> Results:
    tp = fp = fn = 0
    for pair in pairs:
        same = linked(pair["a"], pair["b"])
        tp += same and pair["same"] == 1
        fp += same and pair["same"] == 0
        fn += not same and pair["same"] == 1
    return {**prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn}


SECTIONS: dict[str, Callable[[int | None], Results]] = {
    "ner": lambda _limit: section_ner(),
    "language": lambda _limit: section_language(),
    "extraction": section_extraction,
    "dedup": lambda _limit: section_dedup(),
    "stories": lambda _limit: section_stories(),
}


def run(sections: list[str], limit: int | None = None) -> Results:
    if not EVAL.exists():
        return {}
    return {name: SECTIONS[name](limit) for name in sections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS), help="default: all")
    parser.add_argument("--limit", type=int, help="at most this many extraction pages")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not EVAL.exists():
        print(f"skipped: {EVAL} not found")
        return
    results = run(args.section or list(SECTIONS), args.limit)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
