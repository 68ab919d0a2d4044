"""Named-entity recognition (PER / ORG / LOC / MISC) for Indonesian, Malay and English news.

The models are linear-chain CRFs (python-crfsuite) trained by ``services/enrich/training/train_ner.py``
on the corpora credited in ``models/NOTICE``. Everything runs offline: the only runtime dependency is
``python-crfsuite``; the feature extraction below is shared with the training script so train and
runtime can never drift apart.

Tokenisation keeps character offsets and follows the training data:

* punctuation is split off (``"(Jokowi)"`` -> ``(`` ``Jokowi`` ``)``);
* hyphens are ALWAYS split: ``"Rusia-Ukraina"`` -> ``Rusia`` ``-`` ``Ukraina`` so that both countries
  can be found as separate LOC entities (NERGrit tokenises every hyphen this way, and the training
  script re-tokenises idner-news-2k to match). A multi-token name such as ``"Al-Qaeda"`` still comes
  back as one span whose text is the original ``"Al-Qaeda"``;
* URLs, @handles, #hashtags, numbers such as ``12/7/2025`` or ``1.250,5``, dotted initialisms
  (``U.S.``) and news domains (``Tribunnews.com``) stay one token.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import pycrfsuite

__all__ = [
    "MAX_CHARS",
    "EntityRecognizer",
    "EntitySpan",
    "FeatureExtractor",
    "Token",
    "split_sentences",
    "tokenize",
]

#: Only the first MAX_CHARS characters of a text are analysed. A long news article is ~10k
#: characters; this bounds the work (and latency) of pathological inputs such as a 1 MB paste.
MAX_CHARS = 50_000
#: Sentences longer than this are cut into chunks: CRF decoding is linear, but feature memory per
#: sequence is not free and real sentences are far shorter.
MAX_SENTENCE_TOKENS = 150

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models"
# All model files are gzipped (deterministically, by the trainer): 8.5 MB -> 3.3 MB in the repo.
MODEL_FILES = {"id": "ner_id.crfsuite.gz", "en": "ner_en.crfsuite.gz"}
GAZETTEER_FILE = "gazetteer.tsv.gz"  # "<type>\t<lower-cased, space-joined tokens>"
# ISO 639-1 code -> model key. Malay is close enough to Indonesian for names and titles.
LANGUAGE_MODELS = {"id": "id", "ms": "id", "en": "en"}
LABELS = frozenset({"PER", "ORG", "LOC", "MISC"})

_TOKEN_RE = re.compile(
    r"""
      https?://\S+ | www\.\S+                          # URLs stay whole
    | [@\#][^\W_][\w]*                                  # @handles and #hashtags
    | (?:[^\W\d_]\.){2,}                                # initialisms: U.S. N.M.
    | [^\W_]+(?:\.[^\W_]+)*\.(?:com|co\.id|id|net|org|go\.id)\b  # news domains: Tribunnews.com
    | \d+(?:[.,:/]\d+)*                                 # 12/7/2025, 1.250,5, 10:30
    | [^\W\d_]+(?=n't\b)                                # English "do|n't"
    | n't\b | '(?:s|re|ve|ll|d|m)\b                     # English clitics, as in the corpora
    | [^\W_]+                                           # words (letters and digits, any script)
    | \S                                                # any other single character
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Tokens after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"dr", "drs", "ir", "jl", "jln", "h", "hj", "prof", "st", "mr", "mrs", "ms", "no", "vs", "kec", "kab"}
)
_SENTENCE_END = frozenset({".", "!", "?"})
_OPENERS = frozenset({'"', "“", "'", "‘", "(", "["})


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


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """One recognised entity; ``text == source_text[start:end]`` always holds."""

    text: str
    label: str  # "PER" | "ORG" | "LOC" | "MISC"
    start: int  # char offset into the input text
    end: int


class Token(NamedTuple):
    """A token and its character offsets (a NamedTuple: cheaper to create than a dataclass)."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens carrying exact character offsets (see module docstring)."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def split_sentences(text: str, tokens: Sequence[Token]) -> list[list[Token]]:
    """Group tokens into sentences: at line breaks, and after . ! ? followed by a capital/opener.

    A full stop after a known abbreviation or a single capital letter (an initial) does not split.
    """
    sentences: list[list[Token]] = []
    current: list[Token] = []
    for i, token in enumerate(tokens):
        if current and "\n" in text[current[-1].end : token.start]:
            sentences.append(current)
            current = []
        current.append(token)
        if len(current) >= MAX_SENTENCE_TOKENS or _ends_sentence(tokens, i):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _ends_sentence(tokens: Sequence[Token], i: int) -> bool:
    if tokens[i].text not in _SENTENCE_END or i + 1 >= len(tokens) or i == 0:
        return False
    before, after = tokens[i - 1].text, tokens[i + 1].text
    if tokens[i + 1].start == tokens[i].end:  # "3.5", "kumparan.com" glued: not a boundary
        return False
    if before.lower() in _ABBREVIATIONS or (len(before) == 1 and before.isupper()):
        return False
    return after[0].isupper() or after[0].isdigit() or after in _OPENERS


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
    """Turns a tokenised sentence into CRF feature strings; shared by training and runtime.

    ``clusters`` maps a lower-cased word to its distributional cluster ids (coarse to fine), learnt
    from unlabelled text by the training script: they let the CRF generalise from names it saw to
    names it did not. ``gazetteer`` maps lower-cased token tuples to a type: place names
    (countries, provinces, cities) and MISC cues (language / nationality names); a capitalised match
    is a strong cue the CRF weighs against context.
    ``known`` (runtime only) is the set of attributes the model kept: dropping the others before
    they reach crfsuite roughly halves tagging time, and it is free because it is cached per word.
    """

    _CACHE_LIMIT = 100_000
    _OFFSETS = (-2, -1, 1, 2)

    def __init__(
        self,
        clusters: Mapping[str, Sequence[str]] | None = None,
        gazetteer: Mapping[tuple[str, ...], str] | None = None,
        known: frozenset[str] | None = None,
    ) -> None:
        self._clusters = clusters or {}
        self._gazetteer = dict(gazetteer or {})
        self._gaz_max = max((len(name) for name in self._gazetteer), default=0)
        self._known = known
        # word -> (own features, features it contributes at offsets -2, -1, +1, +2, lower form)
        self._cache: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...], str]] = {}

    @classmethod
    def load(cls, directory: Path, language: str, *, runtime: bool = False) -> FeatureExtractor:
        """Read the cluster, gazetteer (and, at runtime, attribute) files written by the trainer."""
        clusters: dict[str, list[str]] = {}
        for line in _read_lines(directory / f"clusters_{language}.tsv.gz"):
            word, *ids = line.split("\t")
            clusters[word] = ids
        gazetteer: dict[tuple[str, ...], str] = {}
        for line in _read_lines(directory / GAZETTEER_FILE):
            kind, _, name = line.partition("\t")
            gazetteer.setdefault(tuple(name.split(" ")), kind)
        known = None
        if runtime and (directory / f"attributes_{language}.txt.gz").is_file():
            known = frozenset(_read_lines(directory / f"attributes_{language}.txt.gz"))
        return cls(clusters, gazetteer, known)

    def _keep(self, feats: Iterable[str]) -> tuple[str, ...]:
        known = self._known
        return tuple(feats) if known is None else tuple(f for f in feats if f in known)

    def _word(self, word: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], str]:
        cached = self._cache.get(word)
        if cached is None:
            lower, shape, cue = _context_features(word)
            ids = self._clusters.get(lower) or ("none",)
            own = ["bias", *_word_features(word), *(f"c{level}={cid}" for level, cid in enumerate(ids))]
            as_context = []
            for offset in self._OFFSETS:
                feats = [f"{offset}w={lower}", f"{offset}sh={shape}", f"{offset}cue={cue}"]
                if offset in (-1, 1):  # the immediate neighbours also give their cluster
                    feats.append(f"{offset}c={ids[-1]}")
                as_context.append(self._keep(feats))
            cached = (self._keep(own), tuple(as_context), lower)
            if len(self._cache) >= self._CACHE_LIMIT:  # bound memory on adversarial input
                self._cache.clear()
            self._cache[word] = cached
        return cached

    def _gazetteer_tags(self, words: Sequence[str]) -> list[str]:
        """Greedy longest match of capitalised gazetteer names: "B-loc"/"I-loc"... per token, "" outside."""
        tags = [""] * len(words)
        lowered = [w.lower() for w in words]
        i = 0
        while i < len(words):
            size, kind = 0, ""
            if words[i][:1].isupper():
                for n in range(min(self._gaz_max, len(words) - i), 0, -1):
                    kind = self._gazetteer.get(tuple(lowered[i : i + n]), "")
                    if kind:
                        size = n
                        break
            if size:
                tags[i : i + size] = ["B-" + kind] + ["I-" + kind] * (size - 1)
            i += max(size, 1)
        return tags

    def sentence_features(self, words: Sequence[str]) -> list[list[str]]:
        """CRF feature strings for each token of one sentence."""
        info = [self._word(w) for w in words]
        gaz = self._gazetteer_tags(words) if self._gazetteer else [""] * len(words)
        runs = _capital_runs(words, [x[2] for x in info])
        n = len(words)
        bigrams = [f"{info[k][2]}|{info[k + 1][2]}" for k in range(n - 1)]
        known = self._known
        out: list[list[str]] = []
        for i in range(n):
            # Per-sentence features; the cached per-word parts below are already filtered.
            extra = [*runs[i]]
            if i == 0:
                extra.append("BOS")
            if i == n - 1:
                extra.append("EOS")
            if gaz[i]:
                extra.append("gaz=" + gaz[i])
            if i > 0:
                extra.append("-1w|w=" + bigrams[i - 1])
            if i < n - 1:
                extra.append("w|+1w=" + bigrams[i])
            feats = [*info[i][0], *(extra if known is None else [f for f in extra if f in known])]
            for slot, offset in enumerate(self._OFFSETS):
                j = i + offset
                if 0 <= j < n:
                    feats.extend(info[j][1][slot])
            out.append(feats)
        return out


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


def _read_lines(path: Path) -> list[str]:
    """Lines of a gzipped UTF-8 text file; [] when it does not exist."""
    return gzip.decompress(path.read_bytes()).decode("utf-8").splitlines() if path.is_file() else []


class CrfModel:
    """A crfsuite tagger together with the model bytes it reads.

    ``Tagger.open_inmemory`` does not copy the bytes, so they must live exactly as long as the
    tagger: keeping both private to one object (never handing out the bare tagger) guarantees it.
    """

    __slots__ = ("_data", "_tagger")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._data)

    @classmethod
    def load(cls, path: Path) -> CrfModel:
        """Load a gzipped crfsuite model file."""
        return cls(gzip.decompress(path.read_bytes()))

    def tag(self, features: list[list[str]]) -> list[str]:
        """Most likely BIO2 tag sequence for one sentence's feature lists."""
        return list(self._tagger.tag(features))

    def attributes(self) -> set[str]:
        """Attributes that carry a non-zero state-feature weight in the model."""
        return {attribute for attribute, _ in self._tagger.info().state_features}


def bio_to_spans(tags: Sequence[str]) -> Iterator[tuple[str, int, int]]:
    """Yield (label, first_token, last_token_exclusive); a stray I-X opens an entity (seqeval's rule)."""
    label, begin = "", -1
    for i, tag in enumerate((*tags, "O")):
        prefix, _, kind = tag.partition("-")
        if label and (prefix != "I" or kind != label):
            yield label, begin, i
            label = ""
        if prefix in ("B", "I") and not label:
            label, begin = kind, i


class EntityRecognizer:
    """Loads the CRF models once (~0.4 s); ``extract`` then costs ~5 ms CPU per 2,500-character
    article (benchmarks/ner.py).

    Only the first :data:`MAX_CHARS` characters of each text are analysed. A ``pycrfsuite.Tagger``
    is not thread-safe: use one recogniser per thread or process (Celery's prefork model does).
    """

    def __init__(self, model_dir: Path | None = None) -> None:
        directory = model_dir if model_dir is not None else DEFAULT_MODEL_DIR
        self._models: dict[str, CrfModel] = {}
        self._features: dict[str, FeatureExtractor] = {}
        for key, filename in MODEL_FILES.items():
            path = directory / filename
            if not path.is_file():
                raise FileNotFoundError(f"NER model missing: {path} (run services/enrich/training/train_ner.py)")
            self._models[key] = CrfModel.load(path)
            self._features[key] = FeatureExtractor.load(directory, key, runtime=True)

    def extract(self, text: str, language: str) -> list[EntitySpan]:
        """Entities of ``text`` in order; [] for languages without a model ("id", "ms", "en" have one)."""
        key = LANGUAGE_MODELS.get(_base_language(language), "")
        if key not in self._models or not text:
            return []
        model, features = self._models[key], self._features[key]
        text = text[:MAX_CHARS]
        spans: list[EntitySpan] = []
        for sentence in split_sentences(text, tokenize(text)):
            words = [t.text for t in sentence]
            # Sentences without a capitalised word or @/# hold almost no entities (2 of 7,292 in the
            # Indonesian training data, none in the English): skip the CRF for them.
            if not any(w[:1].isupper() or w[:1] in "@#" for w in words):
                continue
            tags = model.tag(features.sentence_features(words))
            for label, first, last in bio_to_spans(tags):
                if label in LABELS:
                    start, end = sentence[first].start, sentence[last - 1].end
                    spans.append(EntitySpan(text[start:end], label, start, end))
        return spans

    def tag_tokens(self, words: Sequence[str], language: str) -> list[str]:
        """BIO2 tags for one pre-tokenised sentence (for evaluation); all "O" without a model."""
        key = LANGUAGE_MODELS.get(_base_language(language), "")
        if key not in self._models or not words:
            return ["O"] * len(words)
        return self._models[key].tag(self._features[key].sentence_features(words))

    def extract_many(self, texts: Sequence[str], languages: Sequence[str]) -> list[list[EntitySpan]]:
        """``extract`` over aligned sequences of texts and language codes."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        return [self.extract(text, language) for text, language in zip(texts, languages, strict=True)]


def _base_language(language: str) -> str:
    """ "id-ID" / "EN" / "ms_MY" -> "id" / "en" / "ms"."""
    return language.strip().lower().replace("_", "-").split("-")[0]
