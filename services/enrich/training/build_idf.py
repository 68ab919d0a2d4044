"""Build the document-frequency table the story grouper weighs words with.

Reads the IndoSum articles in ``../shared/corpus/indosum.jsonl`` (CC-BY-SA 4.0, see
models/NOTICE) and writes ``kabar_enrich/models/idf.json``: the number of documents and,
for every word in at least ``MIN_DF`` of them, in how many it occurs. Reproducible: the
output depends only on the corpus file.

    python services/enrich/training/build_idf.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus" / "indosum.jsonl"
OUTPUT = ROOT / "services" / "enrich" / "kabar_enrich" / "models" / "idf.json"
MIN_DF = 3
MAX_WORDS = 40_000

sys.path.insert(0, str(ROOT / "services" / "enrich"))
from kabar_enrich.fingerprint import words  # noqa: E402


def main() -> None:
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return
    document_frequency: Counter[str] = Counter()
    documents = 0
    with CORPUS.open(encoding="utf-8") as lines:
        for line in lines:
            document_frequency.update(set(words(json.loads(line)["text"])))
            documents += 1
    kept = {word: count for word, count in document_frequency.most_common(MAX_WORDS) if count >= MIN_DF}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({"documents": documents, "df": kept}, ensure_ascii=False, sort_keys=True,
                                 separators=(",", ":")), encoding="utf-8")
    print(f"{documents} documents, {len(kept)} words -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
