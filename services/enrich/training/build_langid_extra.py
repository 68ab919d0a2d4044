"""Build the extra Malay/Indonesian training text for the language-ID model.

The language-ID dev set has little Malaysian Malay. This script takes licensed
parallel Malay/Indonesian text from two public repositories and writes it, with
its sources, to ``langid_extra.jsonl.gz`` next to this script (committed, so
``train_langid.py`` retrains deterministically from a clean clone):

* TICO-19 translation memories ``data/TM/all.en-{ms,id}.tmx`` (CC0 1.0):
  3,071 COVID-19 sentences (PubMed, Wikipedia, Wikinews, ...) translated by
  professionals into Malay and into Indonesian;
* TALPCo ``{zsm,ind}/data_{zsm,ind}.txt`` (CC BY 4.0): 1,372 everyday
  sentences in Malay and Indonesian;
* FLORES-200 ``{zsm,ind}.{dev,devtest}`` (CC BY-SA 4.0), as kept in
  Helsinki-NLP/OPUS-MT-testsets: 2,009 sentences of Wikinews, Wikivoyage and
  Wikibooks translated by professionals into Malaysian Malay and into Indonesian.

Leakage guard: the held-out half of the kabar language-ID set is drawn from
Tatoeba (LASER ``data/tatoeba/v1``), NusaX, NusaWrites, lingua's test data,
IndoSum, fundus' test pages and NTREX-128. Every extra sentence that shares
its normalised text, or any run of ``SHINGLE_WORDS`` consecutive words, with
any text in those repositories, in ``../shared/corpus`` or in the dev file
itself is dropped (the NTREX and other files are read only to exclude text,
never to train). A Malay/Indonesian pair whose two sides normalise to the same
text is dropped too: it teaches nothing about the difference.

Needs the repositories as bare git mirrors (``git --git-dir=... show`` is used
to read them), one folder per repository named ``owner+name``::

    python services/enrich/training/build_langid_extra.py --mirrors /path/to/mirrors
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"
OUTPUT = Path(__file__).resolve().parent / "langid_extra.jsonl.gz"
SHINGLE_WORDS = 6
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

TICO = "tico-19+tico-19.github.io"
TALPCO = "matbahasa+TALPCo"
FLORES = "Helsinki-NLP+OPUS-MT-testsets"
# The mirror's default branch keeps only devtest; this commit of its elrc-testsets branch has both splits.
FLORES_COMMIT = "e5c23c1a978eec10ada58863602875fde801e31e"
FLORES_DIR = "testsets/flores200_dataset"
# Repositories whose text may be in the held-out half: (mirror, path prefix, file suffixes).
HELD_OUT_SOURCES = (
    ("facebookresearch+LASER", "data/tatoeba/v1/", ("",)),
    ("IndoNLP+nusax", "datasets/", (".csv",)),
    ("IndoNLP+nusa-writes", "data/", (".csv",)),
    ("pemistahl+lingua-py", "language-testdata/", (".txt",)),
    ("MicrosoftTranslator+NTREX", "NTREX-128/", (".txt",)),
    ("flairNLP+fundus", "tests/resources/parser/test_data/", (".json",)),
)
_NON_LETTER = re.compile(r"[\W\d_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def normalise(text: str) -> str:
    """Lower case, letters only, single spaces: two copies of a sentence compare equal."""
    return _NON_LETTER.sub(" ", text.lower()).strip()


def shingles(norm: str) -> set[str]:
    words = norm.split()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


class Mirror:
    """Read-only access to one bare git mirror."""

    def __init__(self, root: Path, name: str) -> None:
        self.git_dir = root / name / "repo"
        if not self.git_dir.is_dir():
            raise SystemExit(f"mirror {name} not found under {root}")

    def files(self, prefix: str) -> list[str]:
        out = subprocess.run(["git", "--git-dir", str(self.git_dir), "ls-tree", "-r", "--name-only", "HEAD", prefix],
                             check=True, capture_output=True, text=True).stdout
        return out.splitlines()

    def read(self, path: str, commit: str = "HEAD") -> str:
        data = subprocess.run(["git", "--git-dir", str(self.git_dir), "show", f"{commit}:{path}"],
                              check=True, capture_output=True).stdout
        return data.decode("utf-8", errors="replace")

    def head(self) -> str:
        return subprocess.run(["git", "--git-dir", str(self.git_dir), "rev-parse", "HEAD"],
                              check=True, capture_output=True, text=True).stdout.strip()


# ------------------------------------------------------------------ what must not be trained on
def _strings(value: object) -> Iterator[str]:
    """Every string inside a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _texts_of(path: str, content: str) -> Iterator[str]:
    if path.endswith(".csv"):
        csv.field_size_limit(1 << 24)
        for row in csv.reader(io.StringIO(content)):
            yield from row
    elif path.endswith(".json"):
        try:
            yield from _strings(json.loads(content))
        except json.JSONDecodeError:
            yield content
    else:
        yield from content.splitlines()


def _shared_texts() -> Iterator[str]:
    """The dev file (so our own held-out split stays clean) and the IndoSum corpus."""
    for path in (SHARED / "eval" / "langid" / "langid.jsonl", SHARED / "corpus" / "indosum.jsonl"):
        if not path.is_file():
            print(f"warning: {path} not found; not excluded")
            continue
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                yield from _strings(json.loads(line))


class Blocklist:
    def __init__(self) -> None:
        self.sentences: set[str] = set()
        self.shingles: set[str] = set()

    def add(self, text: str) -> None:
        for piece in (text, *_SENTENCE_END.split(text)):
            norm = normalise(piece)
            if norm:
                self.sentences.add(norm)
        self.shingles |= shingles(normalise(text))

    def blocks(self, text: str) -> bool:
        norm = normalise(text)
        return norm in self.sentences or not shingles(norm).isdisjoint(self.shingles)


def build_blocklist(mirrors: Path) -> tuple[Blocklist, dict[str, str]]:
    blocklist = Blocklist()
    heads: dict[str, str] = {}
    for name, prefix, suffixes in HELD_OUT_SOURCES:
        mirror = Mirror(mirrors, name)
        heads[name] = mirror.head()
        for path in mirror.files(prefix):
            if path.endswith(suffixes):
                try:
                    content = mirror.read(path)
                except subprocess.CalledProcessError:
                    print(f"warning: {name}:{path} unreadable (absent from the mirror); not excluded")
                    continue
                for text in _texts_of(path, content):
                    blocklist.add(text)
    for text in _shared_texts():
        blocklist.add(text)
    return blocklist, heads


# ------------------------------------------------------------------ what we train on
Pair = tuple[str, str, str]  # (group, malay, indonesian)


def tico_pairs(mirror: Mirror) -> list[Pair]:
    sides: dict[str, dict[str, str]] = {}
    for lang in ("ms", "id"):
        root = ET.fromstring(mirror.read(f"data/TM/all.en-{lang}.tmx"))  # noqa: S314 - a trusted, pinned file
        for unit in root.iter("tu"):
            for variant in unit.iter("tuv"):
                seg = variant.find("seg")
                if variant.get(XML_LANG) == lang and seg is not None and seg.text:
                    sides.setdefault(str(unit.get("tuid")), {})[lang] = seg.text.strip()
    return [(f"tico:{key}", side["ms"], side["id"]) for key, side in sides.items() if {"ms", "id"} <= side.keys()]


def talpco_pairs(mirror: Mirror) -> list[Pair]:
    sides: dict[str, dict[str, str]] = {}
    for lang, code in (("ms", "zsm"), ("id", "ind")):
        for line in mirror.read(f"{code}/data_{code}.txt").splitlines():
            key, _, text = line.partition("\t")
            if text.strip():
                sides.setdefault(key.strip(), {})[lang] = text.strip()
    return [(f"talpco:{key}", side["ms"], side["id"]) for key, side in sides.items() if {"ms", "id"} <= side.keys()]


def flores_pairs(mirror: Mirror) -> list[Pair]:
    """Line i of the Malay file translates the same English sentence as line i of the Indonesian one."""
    pairs: list[Pair] = []
    for split in ("dev", "devtest"):
        malay, indonesian = (mirror.read(f"{FLORES_DIR}/{split}/{code}.{split}", FLORES_COMMIT).splitlines()
                             for code in ("zsm", "ind"))
        if len(malay) != len(indonesian):
            raise SystemExit(f"FLORES-200 {split}: {len(malay)} Malay lines but {len(indonesian)} Indonesian")
        pairs += [(f"flores:{split}:{i}", ms.strip(), id_.strip())
                  for i, (ms, id_) in enumerate(zip(malay, indonesian, strict=True)) if ms.strip() and id_.strip()]
    return pairs


def rows_from(pairs: Iterable[Pair], source: str, blocklist: Blocklist, dropped: Counter[str]) -> list[dict[str, str]]:
    rows = []
    for group, malay, indonesian in pairs:
        if normalise(malay) == normalise(indonesian):
            dropped[f"{source}: same text in ms and id"] += 1
            continue
        for lang, text in (("ms", malay), ("id", indonesian)):
            if blocklist.blocks(text):
                dropped[f"{source}: {lang} text found in a held-out source"] += 1
            else:
                rows.append({"text": text, "lang": lang, "source": source, "group": group})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, required=True, help="folder of owner+name/repo bare mirrors")
    args = parser.parse_args()
    blocklist, heads = build_blocklist(args.mirrors)
    print(f"held-out guard: {len(blocklist.sentences):,} sentences, "
          f"{len(blocklist.shingles):,} word {SHINGLE_WORDS}-grams")
    dropped: Counter[str] = Counter()
    tico, talpco = Mirror(args.mirrors, TICO), Mirror(args.mirrors, TALPCO)
    rows = rows_from(tico_pairs(tico), "tico-19", blocklist, dropped)
    rows += rows_from(talpco_pairs(talpco), "talpco", blocklist, dropped)
    rows += rows_from(flores_pairs(Mirror(args.mirrors, FLORES)), "flores-200", blocklist, dropped)
    with gzip.GzipFile(OUTPUT, "wb", mtime=0) as raw, io.TextIOWrapper(raw, encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    for reason, count in sorted(dropped.items()):
        print(f"dropped {count:5d}  {reason}")
    print(f"kept {Counter((r['source'], r['lang']) for r in rows)}")
    commits = {**heads, TICO: tico.head(), TALPCO: talpco.head(), FLORES: FLORES_COMMIT}
    print("commits: " + ", ".join(f"{name}@{sha[:7]}" for name, sha in commits.items()))
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
