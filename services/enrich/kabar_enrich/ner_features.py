"""Feature extraction for the NER models, shared by the training script and the recogniser.

A token's CRF features come in two kinds, kept apart because they cost differently at run time:

* **word features** depend on one word only: its form, shape, affixes, distributional clusters,
  and the features it lends its neighbours up to :data:`OFFSETS` away. The recogniser adds up
  their weights once per distinct word and reuses the sums (``kabar_enrich.entities``);
* **sentence features** depend on the words around the token together: position in the
  sentence, gazetteer matches, the capitalised run the token is part of, word bigrams. These are
  looked up for every token.

Training asks for both as one list per token (:meth:`FeatureExtractor.sentence_features`), so the
model and the recogniser can never disagree about what a feature means.
"""

from __future__ import annotations

import gzip
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

__all__ = ["GAZETTEER_FILE", "OFFSETS", "FeatureExtractor", "WordFeatures", "document_features", "lexicon_file",
           "read_lines"]

GAZETTEER_FILE = "gazetteer.tsv.gz"  # "<type>\t<lower-cased, space-joined tokens>"
#: Positions, relative to a token, of the neighbours whose word features it sees.
OFFSETS = (-2, -1, 1, 2)
#: (own features, features lent to the neighbour at each of OFFSETS, lower-cased form)
WordFeatures = tuple[tuple[str, ...], tuple[tuple[str, ...], ...], str]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Title / trigger words whose presence just before a capitalised token predicts the entity type.
# The CRF learns weights for them; grouping them into one feature generalises to rare titles.
_PER_CUES = _words(
    """
    presiden wapres wakil menteri menlu menhan mendagri menkeu gubernur wagub bupati walikota wali
    ketua sekjen direktur dirut kepala kapolri kapolda kapolres panglima jenderal jendral kolonel
    letjen mayjen brigjen irjen kombes akbp kompol ajun pak bu bapak ibu saudara sdr tuan nyonya
    raja ratu pangeran syekh kiai kh ustaz ustad habib pendeta paus perdana pm senator anggota juru
    bicara jubir pelatih striker kiper gelandang penyanyi aktor aktris artis sutradara mr mrs ms dr
    prof president minister secretary governor mayor senator chairman ceo chief king queen prince
    general sir lord pope coach spokesman spokeswoman
    """
)
_LOC_CUES = _words(
    """
    kota kabupaten kab provinsi desa kelurahan kecamatan kampung pulau gunung sungai danau selat
    teluk laut jalan jl negara wilayah kawasan daerah di ke dari menuju city province state county
    island river mount lake in at from near
    """
)
_ORG_CUES = _words(
    """
    pt cv partai universitas univ kementerian kemenlu departemen dinas badan lembaga komisi bank
    klub tim fakultas sekolah sma smp sd rs rumah yayasan perusahaan organisasi dewan mahkamah
    pengadilan kejaksaan kepolisian polda polres polsek pemerintah pemkot pemkab pemprov kantor
    majelis fraksi company university ministry party bank club council department agency committee
    association
    """
)


@lru_cache(maxsize=65536)
def _shape(word: str) -> str:
    """Collapsed word shape: "Jakarta" -> "Xx", "PDI" -> "X", "12/7" -> "d.d", "iPhone" -> "xXx"."""
    out: list[str] = []
    for ch in word:
        if ch.isupper():
            c = "X"
        elif ch.isalpha():
            c = "x"
        elif ch.isdigit():
            c = "d"
        else:
            c = "."
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _word_features(word: str) -> list[str]:
    """Features of the token itself (cached per extractor: news vocabularies are Zipfian)."""
    lower = word.lower()
    feats = [
        "w=" + lower,
        "sh=" + _shape(word),
        "p2=" + lower[:2],
        "p3=" + lower[:3],
        "s2=" + lower[-2:],
        "s3=" + lower[-3:],
        "s4=" + lower[-4:],
        "len=" + str(min(len(word), 8)),
    ]
    if word[:1].isupper():
        feats.append("title")
    if word.isupper() and len(word) > 1:
        feats.append("upper")
    if word[:1] in "@#":
        feats.append("social=" + word[0])
    if not word[:1].isalnum() and word[:1] not in "@#":
        feats.append("punct")
    if any(ord(ch) > 0x24F for ch in word):
        feats.append("script=" + unicodedata.name(word[0], "?").split(" ")[0])
    return feats


@lru_cache(maxsize=65536)
def _context_features(word: str) -> tuple[str, str, str]:
    """Compact description of a neighbouring token: lower form, shape, trigger-word class."""
    lower = word.lower()
    if lower in _PER_CUES:
        cue = "PER"
    elif lower in _ORG_CUES:
        cue = "ORG"
    elif lower in _LOC_CUES:
        cue = "LOC"
    else:
        cue = "-"
    return lower, _shape(word), cue


class FeatureExtractor:
    """Turns words and sentences into CRF feature strings.

    ``clusters`` maps a lower-cased word to its distributional cluster ids (coarse to fine), learnt
    from unlabelled text by the training script: they let the CRF generalise from names it saw to
    names it did not. ``gazetteer`` maps lower-cased token tuples to a type: place names
    (countries, provinces, cities) and MISC cues (language / nationality names); a capitalised match
    is a strong cue the CRF weighs against context. ``lexicon`` maps a lower-cased word to classes
    learnt from unlabelled text, such as how often news writes it with a capital inside a sentence
    (a name's habit, not a common word's).
    """

    _CACHE_LIMIT = 100_000

    def __init__(
        self,
        clusters: Mapping[str, Sequence[str]] | None = None,
        gazetteer: Mapping[tuple[str, ...], str] | None = None,
        lexicon: Mapping[str, Sequence[str]] | None = None,
        *,
        cache: bool = True,
    ) -> None:
        self._clusters = clusters or {}
        self._lexicon = lexicon or {}
        self._no_class: tuple[str, ...] = ("none",) if self._lexicon else ()
        self._gazetteer = dict(gazetteer or {})
        self._gaz_max = max((len(name) for name in self._gazetteer), default=0)
        self._gaz_first = frozenset(name[0] for name in self._gazetteer)
        # Training asks for the same words again and again; the recogniser keeps its own per-word
        # sums instead, so it turns this cache off (it would hold every feature string).
        self._cache: dict[str, WordFeatures] | None = {} if cache else None

    @classmethod
    def load(cls, directory: Path, language: str, *, cache: bool = True) -> FeatureExtractor:
        """Read the cluster, gazetteer and lexicon files written by the trainer."""
        clusters: dict[str, list[str]] = {}
        for line in read_lines(directory / f"clusters_{language}.tsv.gz"):
            word, *ids = line.split("\t")
            clusters[word] = ids
        gazetteer: dict[tuple[str, ...], str] = {}
        for line in read_lines(directory / GAZETTEER_FILE):
            kind, _, name = line.partition("\t")
            gazetteer.setdefault(tuple(name.split(" ")), kind)
        lexicon: dict[str, list[str]] = {}
        for line in read_lines(directory / lexicon_file(language)):
            word, *classes = line.split("\t")
            lexicon[word] = classes
        return cls(clusters, gazetteer, lexicon, cache=cache)

    def word_features(self, word: str) -> WordFeatures:
        """The word's own features, those it lends each neighbour, and its lower-cased form."""
        cached = self._cache.get(word) if self._cache is not None else None
        if cached is None:
            lower, shape, cue = _context_features(word)
            ids = self._clusters.get(lower) or ("none",)
            classes = self._lexicon.get(lower) or self._no_class
            own = (
                "bias",
                *_word_features(word),
                *(f"c{level}={cid}" for level, cid in enumerate(ids)),
                *(f"lx{kind}={value}" for kind, value in enumerate(classes)),
            )
            lent = []
            for offset in OFFSETS:
                feats = [f"{offset}w={lower}", f"{offset}sh={shape}", f"{offset}cue={cue}"]
                if offset in (-1, 1):  # the immediate neighbours also give their cluster and classes
                    feats.append(f"{offset}c={ids[-1]}")
                    feats.extend(f"{offset}lx{kind}={value}" for kind, value in enumerate(classes))
                lent.append(tuple(feats))
            cached = (own, tuple(lent), lower)
            if self._cache is not None:
                if len(self._cache) >= self._CACHE_LIMIT:  # bound memory on adversarial input
                    self._cache.clear()
                self._cache[word] = cached
        return cached

    def sentence_level(self, words: Sequence[str], lowers: Sequence[str]) -> list[list[str]]:
        """Features that depend on more than one word, for each token of one sentence."""
        gaz = self._gazetteer_tags(words, lowers) if self._gazetteer else [""] * len(words)
        runs = _capital_runs(words, lowers)
        n = len(words)
        out: list[list[str]] = []
        for i in range(n):
            feats = [*runs[i]]
            if i == 0:
                feats.append("BOS")
            else:
                feats.append(f"-1w|w={lowers[i - 1]}|{lowers[i]}")
            if i == n - 1:
                feats.append("EOS")
            else:
                feats.append(f"w|+1w={lowers[i]}|{lowers[i + 1]}")
            if gaz[i]:
                feats.append("gaz=" + gaz[i])
            out.append(feats)
        return out

    def sentence_features(self, words: Sequence[str]) -> list[list[str]]:
        """All CRF feature strings of each token of one sentence (what the model is trained on)."""
        info = [self.word_features(w) for w in words]
        out = self.sentence_level(words, [x[2] for x in info])
        n = len(words)
        for i, feats in enumerate(out):
            feats.extend(info[i][0])
            for slot, offset in enumerate(OFFSETS):
                j = i + offset
                if 0 <= j < n:
                    feats.extend(info[j][1][slot])
        return out

    def _gazetteer_tags(self, words: Sequence[str], lowered: Sequence[str]) -> list[str]:
        """Greedy longest match of capitalised gazetteer names: "B-loc"/"I-loc"... per token, "" outside."""
        tags = [""] * len(words)
        i = 0
        while i < len(words):
            size, kind = 0, ""
            if words[i][:1].isupper() and lowered[i] in self._gaz_first:
                for n in range(min(self._gaz_max, len(words) - i), 0, -1):
                    kind = self._gazetteer.get(tuple(lowered[i : i + n]), "")
                    if kind:
                        size = n
                        break
            if size:
                tags[i : i + size] = ["B-" + kind] + ["I-" + kind] * (size - 1)
            i += max(size, 1)
        return tags


def _capital_runs(words: Sequence[str], lowers: Sequence[str]) -> list[tuple[str, ...]]:
    """Describe each maximal run of capitalised tokens to the tokens inside it.

    Indonesian names are capitalised runs whose first or last word gives the type away
    ("Kementerian ... Rusia" is ORG, "... Utara" is LOC); single-token context cannot see that far.
    """
    out: list[tuple[str, ...]] = [()] * len(words)
    i = 0
    while i < len(words):
        if not words[i][:1].isupper():
            i += 1
            continue
        j = i
        while j + 1 < len(words) and words[j + 1][:1].isupper():
            j += 1
        size = j - i + 1
        common = (f"run_len={min(size, 4)}", f"run_first={lowers[i]}", f"run_last={lowers[j]}")
        for k in range(i, j + 1):
            position = "S" if size == 1 else "B" if k == i else "E" if k == j else "I"
            out[k] = (*common, "run_pos=" + position)
        i = j + 1
    return out


def lexicon_file(language: str) -> str:
    """The file of a language's word classes (capitalisation habit, frequency band), next to the models."""
    return f"lexicon_{language}.tsv.gz"


def read_lines(path: Path) -> list[str]:
    """Lines of a gzipped UTF-8 text file; [] when it does not exist."""
    return gzip.decompress(path.read_bytes()).decode("utf-8").splitlines() if path.is_file() else []




#: Order in which a tie between document votes is broken.
_VOTE_ORDER = ("PER", "ORG", "LOC", "MISC", "O")


def document_features(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> list[list[list[str]]]:
    """Second-pass features: how a first pass tagged each capitalised word in the OTHER sentences.

    An article names "I Wayan Budjana" once and "Budjana" ten times; a word's majority type
    elsewhere in the article ("doc=PER") lets the second pass tag the bare surname consistently.
    A capitalised word the first pass left untagged inside a sentence votes "O". Only other
    sentences vote, so a one-sentence text gets no document features at all.
    """
    total: dict[str, Counter[str]] = {}
    own: list[dict[str, Counter[str]]] = []
    for words, labels in zip(sentences, tags, strict=True):
        mine: dict[str, Counter[str]] = {}
        for i, (word, tag) in enumerate(zip(words, labels, strict=True)):
            if not word[:1].isupper() or (i == 0 and tag == "O"):
                continue
            vote = tag[2:] if tag != "O" else "O"
            lower = word.lower()
            mine.setdefault(lower, Counter())[vote] += 1
            total.setdefault(lower, Counter())[vote] += 1
        own.append(mine)
    out: list[list[list[str]]] = []
    for words, mine in zip(sentences, own, strict=True):
        feats: list[list[str]] = []
        for word in words:
            lower = word.lower()
            votes = total.get(lower) if word[:1].isupper() else None
            if votes is not None and lower in mine:
                votes = votes - mine[lower]
            if votes:
                top = max(_VOTE_ORDER, key=lambda kind: (votes[kind], -_VOTE_ORDER.index(kind)))
                feats.append(["doc=" + top])
            else:
                feats.append([])
        out.append(feats)
    return out
