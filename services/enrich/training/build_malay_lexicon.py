"""Build the list of words Malay writes in lower case (``kabar_enrich/models/lowercase_ms.txt``).

The Indonesian recogniser reads Malay news well, but tags a sentence's first word a person where
that word is a Malay common noun the Indonesian data never showed it ("Haiwan", "Kebimbangan",
"Simptom" in FLORES-200 and TICO-19 Malay). IndoSum's capitalisation lexicon (``lexicon_id``) cannot
tell, since Indonesian writes these words otherwise ("hewan", "kekhawatiran", "gejala"). This script
reads the Malay sentences of ``langid_extra.jsonl.gz`` (TICO-19, CC0; TALPCo, CC BY 4.0;
FLORES-200, CC BY-SA 4.0; see its NOTICE) and keeps each word seen inside a sentence at least
``MIN_SEEN`` times, in lower case at least ``MIN_LOWER_SHARE`` of them: capitals after a
sentence's end, a colon, a quote or a bracket are not counted.

    python services/enrich/training/build_malay_lexicon.py

Deterministic; the input is committed, so it runs from a clean clone.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXTRA = Path(__file__).with_name("langid_extra.jsonl.gz")
OUTPUT = ROOT / "services" / "enrich" / "kabar_enrich" / "models" / "lowercase_ms.txt"
MIN_SEEN = 2
MIN_LOWER_SHARE = 0.8
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_OPENERS = frozenset('.!?:"“‘([')


def malay_sentences() -> list[str]:
    with gzip.open(EXTRA, "rt", encoding="utf-8") as lines:
        return [row["text"] for row in map(json.loads, lines) if row["lang"] == "ms"]


def lower_case_words(sentences: list[str]) -> list[str]:
    lower: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    for sentence in sentences:
        words = list(_WORD.finditer(sentence))
        for before, word in itertools.pairwise(words):
            if _OPENERS.intersection(sentence[before.end():word.start()]):
                continue  # a capital here says nothing
            text = word.group()
            if text[0].isupper():
                capital[text.lower()] += 1
            elif text[0].islower():
                lower[text] += 1
    return sorted(word for word, seen in lower.items()
                  if seen + capital[word] >= MIN_SEEN and seen >= MIN_LOWER_SHARE * (seen + capital[word]))


def main() -> None:
    words = lower_case_words(malay_sentences())
    OUTPUT.write_text("# Words Malay writes in lower case, from the Malay sentences of services/enrich/training/\n"
                      "# langid_extra.jsonl.gz (TICO-19, TALPCo, FLORES-200); built by build_malay_lexicon.py.\n"
                      + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
