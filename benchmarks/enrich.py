"""CPU cost of enrichment per article on the IndoSum corpus, step by step.

    python benchmarks/enrich.py [--limit N]

Runs the enrich stage in-process (fresh in-memory near-duplicate and story state) over
../shared/corpus/indosum.jsonl and prints CPU milliseconds per article for language ID,
entities, entity rules, canonical names, dates, fingerprints, near-duplicate links and stories, and the
whole. Extraction is not included: the corpus is plain text. Skips where the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import support  # benchmarks/support.py

CORPUS = support.CORPUS
support.use_source_tree("src", "services/ingest", "services/enrich")

from kabar_enrich.canonical import canonicalise  # noqa: E402
from kabar_enrich.dates import date_from_text  # noqa: E402
from kabar_enrich.entities import EntityRecognizer  # noqa: E402
from kabar_enrich.entity_rules import refine  # noqa: E402
from kabar_enrich.fingerprint import fingerprint  # noqa: E402
from kabar_enrich.language import LanguageDetector  # noqa: E402
from kabar_enrich.neardup import NearDuplicateIndex, SqliteLinkStore  # noqa: E402
from kabar_enrich.stories import StoryGrouper  # noqa: E402
from kabar_enrich.story_features import default_vectorizer  # noqa: E402
from kabar_enrich.story_store import SqliteStoryStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return
    with CORPUS.open(encoding="utf-8") as lines:
        articles = [json.loads(line) for line in lines][: args.limit]
    detector, recognizer = LanguageDetector(), EntityRecognizer()
    links = NearDuplicateIndex(SqliteLinkStore(Path(":memory:")))
    stories = StoryGrouper(SqliteStoryStore(Path(":memory:")), 0.5, timedelta(days=7))
    vectorizer = default_vectorizer()
    costs: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def step(name: str) -> Iterator[None]:
        started = time.process_time()
        yield
        costs[name].append((time.process_time() - started) * 1000)

    for article in articles:
        text = article["text"]
        with step("language"):
            guess = detector.detect(text)
        with step("entities"):
            spans = recognizer.extract(text, guess.code)
        with step("entity rules"):
            spans = refine(text, spans, language=guess.code)
        with step("canonical names"):
            entities = canonicalise(spans, text=text)
        with step("date"):
            date_from_text(text)
        with step("fingerprints"):
            prints = fingerprint("", text, 128)
        with step("near-duplicate link"):
            duplicate = links.link(article["id"], prints)
        with step("story"):
            # The corpus date stands in for the published_at a feed gives; the title is ingest's (the lead).
            published = datetime.fromisoformat(article["date_from_id"].replace("Z", "+00:00"))
            features = vectorizer.features("", text, [entity.canonical for entity in entities], published)
            stories.assign(article["id"], features, duplicate)
    chars = statistics.mean(len(article["text"]) for article in articles)
    total = [sum(values) for values in zip(*costs.values(), strict=True)]
    print(f"{len(articles)} articles, mean {chars:,.0f} characters")
    print(f"{'step':22} {'mean ms':>8} {'p50':>7} {'p95':>7}")
    for name, values in [*costs.items(), ("TOTAL", total)]:
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"{name:22} {statistics.mean(values):8.2f} {statistics.median(values):7.2f} {p95:7.2f}")


if __name__ == "__main__":
    main()
