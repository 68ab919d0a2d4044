"""Build the table of Indonesian institutions' acronyms that the news defines (``acronyms.tsv``).

Indonesian news names its institutions by acronym ("KPK", "PSSI", "BMKG") and spells each out only now
and then ("Komisi Pemberantasan Korupsi (KPK)"). An article that spells it out gets one entity for both;
one that does not got "KPK" as an entity of its own, and the facet split the commission in two. This
script reads those definitions in the IndoSum corpus (``../shared/corpus/indosum.jsonl``, CC BY-SA 4.0,
read, never copied) with the Schwartz-Hearst algorithm (the ``abbreviations`` package) and keeps an
acronym where:

- it is written in capitals, 3 to 6 letters (two-letter ones, "MA" or "MK", are too often something else),
  is not one of ``AMBIGUOUS``, and does not spell a common English word (wordfreq Zipf >= ``ENGLISH_WORD_ZIPF``:
  "BIG", Badan Informasi Geospasial, is a headline's "BIG" too);
- at least ``MIN_ARTICLES`` articles define it, and ``MIN_SHARE`` of its definitions agree;
- its definition names an organisation: it holds an organisation's word ("Komisi", "Badan", "Partai",
  "Bank"; ``ORGANISATION_HEADS``), so "Anggaran Pendapatan dan Belanja Negara (APBN)" or
  "Nusa Tenggara Barat (NTB)" are left out.

Writes ``acronyms.tsv`` next to this script (committed; ``build_names.py`` reads it): the acronym and the
spelt-out name, each mapped to the spelt-out name, kind "institution". Deterministic. Without the corpus it
says so and leaves the file as it is.

    python services/enrich/training/build_acronyms.py
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import wordfreq
from abbreviations import schwartz_hearst

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus" / "indosum.jsonl"
OUTPUT = Path(__file__).with_name("acronyms.tsv")
MIN_ARTICLES = 3
# A party's boards are each its own "DPD" (Dewan Pimpinan Daerah), "DPP", "DPW" and "DPC": not one institution,
# though three articles spell "DPD" out as the regional senate.
AMBIGUOUS = frozenset({"DPD", "DPP", "DPW", "DPC"})
MIN_SHARE = 0.6
ENGLISH_WORD_ZIPF = 5.0
KIND = "institution"
_ACRONYM = re.compile(r"[A-Z]{3,6}")

sys.path.insert(0, str(ROOT / "services" / "enrich"))
from kabar_enrich.canonical import INSTITUTION_WORDS, name_key  # noqa: E402

# Words that make a spelt-out name an organisation's, beside kabar_enrich.canonical's institution words.
ORGANISATION_HEADS = INSTITUTION_WORDS | frozenset({
    "front", "otoritas", "direktorat", "konsulat", "kedutaan", "bursa", "perserikatan", "perkumpulan", "federasi",
    "komite", "pusat", "liga", "gerakan", "organisasi", "ikatan", "himpunan", "jamaah", "korps", "kesatuan",
})


def definitions(lines: list[str]) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Each acronym's definitions (as written) and how many articles define it."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    articles: Counter[str] = Counter()
    logging.disable(logging.WARNING)  # the package logs every sentence it cannot parse
    for line in lines:
        text = json.loads(line)["text"]
        pairs = schwartz_hearst.extract_abbreviation_definition_pairs(doc_text=text)
        for acronym, definition in pairs.items():
            if _ACRONYM.fullmatch(acronym):
                found[acronym][" ".join(definition.split())] += 1
                articles[acronym] += 1
    return found, articles


def institutions(found: dict[str, Counter[str]], articles: Counter[str]) -> dict[str, str]:
    """Acronym -> spelt-out name, for the acronyms kept (see the module's docstring)."""
    kept: dict[str, str] = {}
    for acronym in sorted(found):
        by_key: Counter[str] = Counter()
        written: dict[str, str] = {}
        for definition, count in found[acronym].most_common():
            by_key[name_key(definition)] += count
            written.setdefault(name_key(definition), definition)
        key, count = min(by_key.items(), key=lambda item: (-item[1], item[0]))
        name = written[key]
        agreed = count >= MIN_SHARE * sum(by_key.values())
        english_word = wordfreq.zipf_frequency(acronym.lower(), "en") >= ENGLISH_WORD_ZIPF
        if acronym not in AMBIGUOUS and not english_word and articles[acronym] >= MIN_ARTICLES and agreed \
                and name[:1].isupper() \
                and not ORGANISATION_HEADS.isdisjoint(name.lower().split()):
            kept[acronym] = name
    return kept


def main() -> None:
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found; {OUTPUT.name} is unchanged")
        return
    kept = institutions(*definitions(CORPUS.read_text(encoding="utf-8").splitlines()))
    rows = [f"{acronym}\t{name}\t{KIND}\n{name}\t{name}\t{KIND}" for acronym, name in sorted(kept.items())]
    OUTPUT.write_text(
        "# Institutions' acronyms as Indonesian news defines them, built by build_acronyms.py from the\n"
        "# IndoSum corpus (CC BY-SA 4.0; see kabar_enrich/models/NOTICE). alias<TAB>canonical<TAB>kind\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(kept)} acronyms -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
