"""Language identification for the enrich service.

Design (justified by the held-out numbers printed by ``benchmarks/langid.py``):

1. Text with no letters (empty, emoji, digits) is ``und`` without a model.
2. A project-trained linear model (hashed character 1-5-grams, whole words,
   word pairs, number formats and Malay/Indonesian marker words, softmax; see
   ``services/enrich/training/train_langid.py``) labels 35 languages. It
   exists because general detectors fail exactly where kabar needs them:
   Malaysian Malay vs Indonesian and the regional languages of Indonesia.
3. When that model's best guess is Indonesian or Malaysian Malay, a naive
   Bayes model over whole words, stacked with the main model's own
   Malay-minus-Indonesian score and wordfreq's Malay/Indonesian word frequencies
   (``SiblingModel``), decides between the two:
   they share most character n-grams, and words (kerana/karena,
   kerajaan/pemerintah, temu bual/wawancara) are what tells them apart.
4. py3langid (97 languages) is asked for a second opinion only when the
   project model is unsure or names a language it saw little data for, so
   e.g. Polish is not forced into one of our 35 classes.

An article's language is decided from all of its text up to
``MAX_ARTICLE_CHARS``; beyond that the budget is shared out over its
paragraphs. One feature pass and one lookup of the model's weights score the
whole text and each paragraph; a paragraph confidently in another language is
reported with its offsets (an English quote in Indonesian news).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from py3langid.langid import MODEL_FILE, LanguageIdentifier

MODEL_DIR: Final = Path(__file__).parent / "models" / "langid"
NGRAM_ORDERS: Final = (1, 2, 3, 4, 5)
# An article is judged on at most this much text, shared out over its paragraphs: CPU
# grows with the text, and enrichment has ~1.5 ms per article for language ID. 1,000
# is half of the average IndoSum article (2,085) and costs a third less than 1,500,
# with the same decisions on the corpus (every article Indonesian).
MAX_ARTICLE_CHARS: Final = 1_000
# A single paragraph longer than this is cut (only a pathological input has one).
MAX_PARAGRAPH_CHARS: Final = 5_000
# Over the budget, each paragraph keeps at least this much (a sentence, enough to name a
# language); with more paragraphs than that allows (over ten), every n-th one is kept.
MIN_SLICE_CHARS: Final = 100

# Text with fewer letters than this is too short to trust, whatever the model
# says: single words are often shared between id, ms, jv, su and min.
MIN_RELIABLE_LETTERS: Final = 25
# 0.8 rather than 0.7 so that text mixing two languages (confidence split
# between them) is flagged; see tests/test_language.py.
MIN_RELIABLE_CONFIDENCE: Final = 0.8
# A text written with fewer different letters than this is no language's ("aaaa…" had been Somali at 0.93): no
# sentence of 25 letters in any of them gets by with four. Counted in the first _VARIETY_CHARS characters.
MIN_DISTINCT_LETTERS: Final = 5
_VARIETY_CHARS = 1000
# A paragraph is reported in another language than its article's only when
# this sure: on Indonesian news a lower bar reports stray "Malay" sentences.
MIN_PARAGRAPH_CONFIDENCE: Final = 0.95
# An article is mixed (its language unreliable) when the paragraphs in its main
# language hold less than this share of the letters of the reliable paragraphs.
MIN_MAIN_SHARE: Final = 0.7
_HALF_CHARS: Final = 300

_U64 = np.uint64
_HASH_MULT: Final = _U64(0x100000001B3)  # FNV-1a 64-bit prime
_MIX_MULT: Final = _U64(0xFF51AFD7ED558CCD)  # murmur3 fmix64 constant
_ORDER_SALT: Final = _U64(0x9E3779B97F4A7C15)  # keeps "a" and "a " apart
_HASH_INVERSE: Final = _U64(pow(0x100000001B3, -1, 1 << 64))
_WORD_SALT: Final = 11  # words and word pairs hash apart from the n-gram orders
_PAIR_SALT: Final = 12
# Code points above this are emoji, symbols or rare scripts: all non-letters.
_TABLE_SIZE: Final = 0x30000

U64Array = npt.NDArray[np.uint64]
F32Array = npt.NDArray[np.float32]
IntpArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """One language guess.

    ``code`` is ISO 639-1 where one exists, else ISO 639-3; ``und`` if unknown.
    """

    code: str
    confidence: float
    reliable: bool


UNKNOWN: Final = LanguageGuess("und", 0.0, False)


@dataclass(frozen=True, slots=True)
class ParagraphLanguage:
    """A paragraph's own guess; ``start``/``end`` are character offsets into the text."""

    start: int
    end: int
    guess: LanguageGuess


@dataclass(frozen=True, slots=True)
class ArticleLanguage:
    """The article's language and the paragraphs written in another one."""

    guess: LanguageGuess
    other_paragraphs: tuple[ParagraphLanguage, ...] = ()


# --------------------------------------------------------------------------
# Text normalisation and features (shared with the training script, so the
# features at run time are bit-identical to those the model was fitted on).
# --------------------------------------------------------------------------

# Whole words that tell Malaysian Malay from Indonesian in news (issue #13), one
# pooled feature per side besides each word's own: the model learns the weights.
MALAY_MARKERS: Final = frozenset(
    ("kerana", "bahawa", "selepas", "semasa", "boleh", "peratus", "syarikat", "polis", "beliau")
)
INDONESIAN_MARKERS: Final = frozenset(
    ("karena", "bahwa", "setelah", "saat", "bisa", "persen", "perusahaan", "polisi")
)
# Number formats: Malaysia writes 1,000 and 3.5; Indonesia 1.000 and 3,5.
_NUMBER_FORMATS: Final = (
    re.compile(r"\d,\d{3}(?!\d)"),  # thousands comma
    re.compile(r"\d\.\d{3}(?!\d)"),  # thousands dot
    re.compile(r"\d,\d{1,2}(?!\d)"),  # decimal comma
    re.compile(r"\d\.\d{1,2}(?!\d)"),  # decimal point
)
N_EXTRA_FEATURES: Final = 2 + len(_NUMBER_FORMATS)


_DIGIT: Final = re.compile(r"\d")
# A line break in the normalised stream: n-grams never cross one, and it tells
# which paragraph each feature belongs to.
_SEP: Final = 10
_SPACE: Final = 32


@lru_cache(maxsize=1)
def _letter_table() -> npt.NDArray[np.bool_]:
    """True for code points that are letters or combining marks.

    Marks count as letters because Thai and Devanagari vowels are marks; digits
    and punctuation do not, since they carry no language signal.
    """
    table = np.zeros(_TABLE_SIZE, dtype=np.bool_)
    for cp in range(_TABLE_SIZE):
        if unicodedata.category(chr(cp))[0] in "LM":
            table[cp] = True
    return table


def normalise(text: str) -> U64Array:
    """Lower-case code points, padded with spaces; a run of non-letters becomes one
    space, and each line break in it a ``_SEP`` with a space on either side."""
    raw = text.lower().encode("utf-32-le", errors="replace")
    cps = np.frombuffer(raw, dtype=np.uint32).astype(np.int64)
    is_letter = _letter_table()[np.minimum(cps, _TABLE_SIZE - 1)]
    is_sep = (cps == _SEP) & ~is_letter
    first = ~is_letter & np.concatenate(([True], is_letter[:-1]))
    emit = is_letter | first | is_sep
    # First of a run: a space (space, SEP, space if it is a break); a later break: SEP, space.
    repeats = np.where(first & is_sep, 3, np.where(is_sep, 2, 1))[emit]
    values = np.where(is_letter, cps, np.where(is_sep, _SEP, _SPACE))[emit]
    out = np.repeat(values, repeats)
    offsets = np.cumsum(repeats) - repeats
    triple, double = offsets[repeats == 3], offsets[repeats == 2]
    out[triple], out[triple + 1], out[triple + 2] = _SPACE, _SEP, _SPACE
    out[double], out[double + 1] = _SEP, _SPACE
    padded = np.concatenate(([_SPACE], out, [_SPACE])).astype(np.uint64)
    if padded.shape[0] > 2 and padded[1] == _SPACE:
        padded = padded[1:]
    if padded.shape[0] > 2 and padded[-2] == _SPACE:
        padded = padded[:-1]
    return padded


def ngram_buckets(cps: U64Array, n_buckets: int) -> tuple[U64Array, IntpArray]:
    """Hash every character n-gram (orders 1-5) into ``n_buckets`` buckets, with
    the paragraph of each; n-grams across a paragraph break are left out.

    A rolling polynomial hash (order n extends order n-1 by one multiply-add)
    and a murmur-style finaliser: pure numpy, and deterministic across
    processes, unlike ``hash()``.
    """
    breaks = np.concatenate(([0], np.cumsum(cps == _SEP)))
    salted: list[U64Array] = []
    owners: list[IntpArray] = []
    rolling = cps.copy()
    for order in NGRAM_ORDERS:
        if order > 1:
            rolling = rolling[:-1] * _HASH_MULT + cps[order - 1 :]
        if rolling.shape[0] == 0:
            break
        inside = breaks[order : order + rolling.shape[0]] == breaks[: rolling.shape[0]]
        salted.append(rolling[inside] + _salt(order))
        owners.append(breaks[: rolling.shape[0]][inside])
    if not salted:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp)
    # One finaliser pass over all orders: the same hashes, a fifth of the numpy calls.
    return _finalise(np.concatenate(salted)) & _U64(n_buckets - 1), np.concatenate(owners).astype(np.intp)


def _powers(base: np.uint64, count: int) -> U64Array:
    """base**0 .. base**(count-1), wrapping modulo 2**64 like every hash here."""
    powers = np.full(count, base, dtype=np.uint64)
    if count:
        powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def _salt(salt: int) -> np.uint64:
    """The offset that makes each kind of feature hash apart (order n, words, pairs).

    Array arithmetic wraps modulo 2**64 without a warning; only numpy scalar
    products warn, so the salt is multiplied out in Python.
    """
    return _U64((salt * int(_ORDER_SALT)) % (1 << 64))


def _finalise(h: U64Array) -> U64Array:
    """murmur3's finaliser (of salted hashes, so each kind of feature hashes apart)."""
    h ^= h >> _U64(33)
    h *= _MIX_MULT
    h ^= h >> _U64(33)
    return h


def word_hashes(cps: U64Array) -> tuple[U64Array, U64Array, IntpArray, IntpArray]:
    """64-bit hashes of every word and every pair of adjacent words in one
    paragraph, with the first code point of each (to find its paragraph).

    The n-grams' polynomial hash over spans of any length, in numpy: prefix sums
    of c_j * B**-j (B is odd, so invertible modulo 2**64) give a span's hash as
    (prefix[end] - prefix[start - 1]) * B**end.
    """
    is_letter = (cps != _SPACE) & (cps != _SEP)
    edges = np.diff(np.concatenate(([False], is_letter, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    weighted = cps * _powers(_HASH_INVERSE, cps.shape[0])
    prefix = np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(weighted, dtype=np.uint64)))
    scale = _powers(_HASH_MULT, cps.shape[0])
    breaks = np.cumsum(cps == _SEP)
    paired = breaks[starts[1:]] == breaks[ends[:-1]]
    pair_starts, pair_ends = starts[:-1][paired], ends[1:][paired]
    words = (prefix[ends + 1] - prefix[starts]) * scale[ends]
    pairs = (prefix[pair_ends + 1] - prefix[pair_starts]) * scale[pair_ends]
    mixed = _finalise(np.concatenate((words + _salt(_WORD_SALT), pairs + _salt(_PAIR_SALT))))
    return mixed[: words.shape[0]], mixed[words.shape[0] :], starts, pair_starts


@lru_cache(maxsize=1)
def _markers() -> tuple[U64Array, U64Array]:
    """Word hashes of the Malay and of the Indonesian marker words."""
    return (
        word_hashes(normalise(" ".join(sorted(MALAY_MARKERS))))[0],
        word_hashes(normalise(" ".join(sorted(INDONESIAN_MARKERS))))[0],
    )


def _number_features(text: str) -> tuple[IntpArray, IntpArray]:
    """Offsets (2, 3, ...) of the number formats found, and the line of each."""
    if not _DIGIT.search(text):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    kinds, positions = [], []
    for offset, pattern in enumerate(_NUMBER_FORMATS, start=2):
        for match in pattern.finditer(text):
            kinds.append(offset)
            positions.append(match.start())
    line_starts = [match.end() for match in re.finditer("\n", text)]
    owners = np.searchsorted(np.asarray(line_starts, dtype=np.intp), np.asarray(positions, dtype=np.intp),
                             side="right")
    return np.asarray(kinds, dtype=np.intp), owners.astype(np.intp)


@dataclass(frozen=True, slots=True)
class Features:
    """Every feature occurrence of a text (with repeats), the paragraph (line) it
    is in, the letters of each paragraph, and the 64-bit hash of every word (for
    the Indonesian/Malay word model, which hashes them into its own buckets)."""

    ids: IntpArray
    owners: IntpArray
    letters: npt.NDArray[np.int64]
    words: U64Array


def features(text: str, n_buckets: int) -> Features:
    """One pass over the whole text; each line of it is a paragraph.

    Character 1-5-grams, whole words and adjacent word pairs (each counted twice:
    whole words separate id/ms pairs that share most n-grams, pemerintah /
    kerajaan, karena / kerana; word pairs add 0.7 point on id/ms sentences held
    out; doubling is the weight 4-fold CV preferred), then the marker-word and
    number-format features in the rows after the hashed buckets.
    """
    cps = normalise(text)
    breaks = np.concatenate(([0], np.cumsum(cps == _SEP)))[:-1]
    is_letter = (cps != _SPACE) & (cps != _SEP)
    letters = np.bincount(breaks[is_letter], minlength=text.count("\n") + 1).astype(np.int64)
    ngrams, ngram_owners = ngram_buckets(cps, n_buckets)
    words, pairs, word_starts, pair_starts = word_hashes(cps)
    lexical = np.concatenate((words, pairs)) & _U64(n_buckets - 1)
    lexical_owners = breaks[np.concatenate((word_starts, pair_starts))]
    # A broadcast compare: np.isin sorts, which costs more for nine markers.
    malay, indonesian = ((words[:, None] == markers[None, :]).any(axis=1) for markers in _markers())
    numbers, number_owners = _number_features(text)
    ids = (ngrams, lexical, lexical, np.full(int(malay.sum()), n_buckets),
           np.full(int(indonesian.sum()), n_buckets + 1), numbers + n_buckets)
    owners = (ngram_owners, lexical_owners, lexical_owners, breaks[word_starts[malay]],
              breaks[word_starts[indonesian]], number_owners)
    return Features(np.concatenate([i.astype(np.intp) for i in ids]), np.concatenate(owners).astype(np.intp), letters,
                    words)


def _counted(values: IntpArray) -> tuple[IntpArray, npt.NDArray[np.int64]]:
    """Sorted distinct values and the count of each: ``np.unique(..., return_counts=True)``
    in a third of its numpy calls (it runs once per article)."""
    ordered = np.sort(values)
    if ordered.shape[0] == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    firsts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[firsts], np.diff(np.append(firsts, ordered.shape[0])).astype(np.int64)


def weigh(counts: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> F32Array:
    """Sub-linear counts stop one repeated word dominating (L2 norm applied by the caller)."""
    values: F32Array = np.log1p(counts).astype(np.float32)
    return values


def _normalised(rows: IntpArray, counts: npt.NDArray[np.float64]) -> tuple[IntpArray, F32Array]:
    values = weigh(counts)
    norm = float(np.linalg.norm(values))
    if norm > 0:
        values /= norm
    return rows, values


def text_vector(found: Features) -> tuple[IntpArray, F32Array]:
    """The whole text's sparse features: unique rows and L2-normalised log counts."""
    rows, counts = _counted(found.ids)
    return _normalised(rows, counts.astype(np.float64))


def feature_vector(text: str, n_buckets: int) -> tuple[IntpArray, F32Array]:
    """Sparse features of one text, as the model sees a whole article (training uses this)."""
    return text_vector(features(text, n_buckets))


# --------------------------------------------------------------------------
# Detector
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LinearModel:
    weights: npt.NDArray[np.float32]  # (n_buckets + N_EXTRA_FEATURES, n_classes)
    bias: F32Array
    classes: tuple[str, ...]
    temperature: float
    n_buckets: int

    @classmethod
    def load(cls, path: Path) -> _LinearModel:
        with np.load(path, allow_pickle=False) as npz:
            return cls(
                # float32 at run time: float16 matmuls are slow on CPUs.
                # C order: row gathers are then contiguous copies (5x faster).
                weights=np.ascontiguousarray(npz["weights"], dtype=np.float32),
                bias=npz["bias"].astype(np.float32),
                classes=tuple(str(c) for c in npz["classes"]),
                temperature=float(npz["temperature"]),
                n_buckets=int(npz["n_buckets"]),
            )

    def softmax(self, scores: F32Array) -> F32Array:
        """Row-wise softmax of (n, n_classes) scores at the fitted temperature."""
        z = scores / self.temperature
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        probs: F32Array = (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
        return probs

    def text_scores(self, found: Features) -> F32Array:
        """Class scores (before the softmax) of all the text as one vector."""
        rows, values = text_vector(found)
        scores: F32Array = values @ np.take(self.weights, rows, axis=0) + self.bias
        return scores

    def paragraph_scores(self, found: Features) -> tuple[F32Array, F32Array]:
        """Scores (before the softmax) of each paragraph on its own features, shape
        (paragraphs, classes), and of the whole text as one vector, (classes,).

        Unique (paragraph, feature) keys come out grouped by paragraph, so each
        paragraph is one slice of a single gather of weight rows (``np.take``: 3x
        faster than fancy indexing). The whole text reuses the same keys and rows:
        its vector is every key's log count, L2-normalised over the whole text, so
        a feature seen in two paragraphs counts once in each. For one paragraph that
        is exactly the vector the model was trained on; over several it differs
        from the log of the summed counts only for features repeated across
        paragraphs, and it saves a second grouping of all the features (a third of
        this method's cost). See benchmarks/langid.py for the article-level figures.
        """
        width = self.weights.shape[0]
        n_paragraphs = found.letters.shape[0]
        keys, counts = _counted(found.owners * width + found.ids)
        owner, rows = np.divmod(keys, width)
        logs = weigh(counts)
        squares = logs * logs
        norms = np.sqrt(np.bincount(owner, weights=squares, minlength=n_paragraphs)).astype(np.float32)
        own = logs / np.maximum(norms, 1e-12)[owner]
        whole_values = (logs / max(float(np.sqrt(squares.sum())), 1e-12)).astype(np.float32, copy=False)
        gathered: F32Array = np.take(self.weights, rows, axis=0)
        scores = np.tile(self.bias, (n_paragraphs, 1))
        bounds = np.searchsorted(owner, np.arange(n_paragraphs + 1))
        for number in np.flatnonzero(np.diff(bounds)):
            begin, end = bounds[number], bounds[number + 1]
            scores[number] += own[begin:end] @ gathered[begin:end]
        whole: F32Array = whole_values @ gathered + self.bias
        return scores, whole


SIBLING_PAIR: Final = ("id", "ms")


@dataclass(frozen=True, slots=True)
class SiblingModel:
    """Indonesian or Malaysian Malay, decided on whole words and the main model's view.

    The two share most character n-grams, so the 35-language model confuses them
    on single sentences; a naive Bayes model over word presence, trained only on
    Indonesian and Malay text (``train_langid.py``), separates them better (id<->ms
    confusion 0.12 -> 0.07 on the validation split). Its log odds are stacked with
    the main model's own Malay-over-Indonesian score (what the character n-grams,
    markers and number formats say; 0.071 -> 0.065 on validation) and with how much
    more common each word is in Malay than in Indonesian in wordfreq's far larger
    lists (0.059 -> 0.054, with FLORES-200 in the training text), and the result
    only splits the probability the main model gives the pair between the two.
    ``scale``, ``main_scale`` and ``bias`` were fitted on the validation split, the
    bias with Indonesian (kabar's first language and the stricter target) favoured.
    """

    # (n_buckets,): log P(word | ms) - log P(word | id) of the naive Bayes model, plus the
    # log ratio of the word's Malay and Indonesian wordfreq frequencies times its fitted weight
    log_odds: F32Array
    scale: float
    bias: float
    main_scale: float = 0.0  # weight of the main model's (tempered) Malay-minus-Indonesian score

    @classmethod
    def load(cls, path: Path) -> SiblingModel:
        with np.load(path, allow_pickle=False) as npz:
            return cls(npz["sibling_log_odds"].astype(np.float32), float(npz["sibling_scale"]),
                       float(npz["sibling_bias"]), float(npz["sibling_main_scale"]))

    def raw_log_odds(self, words: U64Array) -> float:
        """Summed log odds (Malay over Indonesian) of the distinct word buckets in ``words``."""
        buckets = np.unique(words & _U64(self.log_odds.shape[0] - 1)).astype(np.intp)
        return float(np.take(self.log_odds, buckets).sum())

    def malay_share(self, words: U64Array, main_margin: float = 0.0) -> float:
        """P(Malay | Indonesian or Malay, these words, the main model's Malay-minus-Indonesian
        score ``main_margin``), calibrated on validation."""
        logit = self.scale * self.raw_log_odds(words) + self.main_scale * main_margin + self.bias
        return float(1.0 / (1.0 + np.exp(-logit)))


def split_siblings(probs: F32Array, malay_share: float, pair: tuple[int, int]) -> F32Array:
    """``probs`` with the mass of (Indonesian, Malay) re-split: ``malay_share`` of it
    to Malay. The rest of the distribution (e.g. Javanese) is left as it was."""
    indonesian, malay = pair
    both = float(probs[indonesian] + probs[malay])
    out = probs.copy()
    out[malay] = both * malay_share
    out[indonesian] = both - out[malay]
    return out


# Languages the project model was trained on with enough (and in-domain) data
# to be trusted over py3langid: the Austronesian cluster, English, Vietnamese
# and the single-script languages. For the remaining classes (fr, de, es, ...)
# the project model saw ~100 sentences each; py3langid saw far more.
_AUSTRONESIAN: Final = (
    "id",
    "ms",
    "jv",
    "su",
    "tl",
    "ceb",
    "war",
    "min",
    "ace",
    "bjn",
    "mad",
    "ban",
    "bug",
    "bbc",
    "nij",
)
_AUTHORITATIVE: Final = frozenset((*_AUSTRONESIAN, "en", "vi", "th", "ja", "ko", "zh", "ru", "ar", "hi"))
# py3langid may only name a language the project model does not know when the
# project model is this unsure and py3langid this sure (e.g. Polish text). A whole
# Icelandic or Swedish article can score 0.6-0.85 for Indonesian or English; no row
# of the dev set in the model's own languages changes between 0.5 and 0.99 here.
_OUT_OF_SET_MAX_OURS: Final = 0.95
_OUT_OF_SET_MIN_THEIRS: Final = 0.95
_PY3LANGID_CHARS: Final = 1000
# Within one article a paragraph is never reported in the article's sibling
# language: on single paragraphs the model confuses Indonesian and Malay too
# often (4.5 % of IndoSum articles, all Indonesian, would have a "Malay"
# paragraph at confidence >= 0.95, and 0.3 % even at >= 0.995). The article's
# language, decided on all its paragraphs together, is the reliable call.
_SIBLINGS: Final = {"id": ("ms",), "ms": ("id",)}


class _BroadDetector:
    """py3langid (97 languages, numpy runtime, model shipped in the wheel)."""

    def __init__(self) -> None:
        self._ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def classify(self, text: str) -> tuple[str, float]:
        code, prob = self._ident.classify(text[:_PY3LANGID_CHARS])
        return str(code), float(prob)


@dataclass(frozen=True, slots=True)
class _Paragraph:
    start: int
    end: int
    text: str


def paragraphs(text: str) -> list[_Paragraph]:
    """Non-blank lines (a line is a paragraph in plain-text news), cut down to
    ``MAX_ARTICLE_CHARS`` in all when they hold more (see ``_share_out``)."""
    found = [
        _Paragraph(m.start(), m.end(), m.group()[:MAX_PARAGRAPH_CHARS])
        for m in re.finditer(r"[^\n]+", text)
        if not m.group().isspace()
    ]
    if sum(len(p.text) for p in found) <= MAX_ARTICLE_CHARS:
        return found
    if len(found) * MIN_SLICE_CHARS > MAX_ARTICLE_CHARS:  # too many paragraphs: every n-th one
        keep = MAX_ARTICLE_CHARS // MIN_SLICE_CHARS
        found = [found[round(i * (len(found) - 1) / (keep - 1))] for i in range(keep)]
    cap = _share_out([len(p.text) for p in found], MAX_ARTICLE_CHARS)
    return [_Paragraph(p.start, p.end, _cut(p.text, cap)) for p in found]


def _share_out(lengths: Sequence[int], budget: int) -> int:
    """The largest cap such that the paragraphs, each cut to it, fit the budget:
    short paragraphs stay whole and the long ones share what is left, so every
    paragraph keeps its own guess and the article's is drawn from all of them."""
    remaining, left = budget, len(lengths)
    for length in sorted(lengths):
        if length * left > remaining:
            return remaining // left
        remaining -= length
        left -= 1
    return max(lengths, default=0)


def _cut(text: str, cap: int) -> str:
    """``text`` up to ``cap`` characters, ending at a word boundary where there is one."""
    if len(text) <= cap:
        return text
    space = text.rfind(" ", 0, cap + 1)
    return text[: space if space > cap // 2 else cap]


class LanguageDetector:
    """Thread-safe after construction: ``detect`` only reads the model."""

    def __init__(self, model_path: Path = MODEL_DIR / "model.npz") -> None:
        self._model = _LinearModel.load(model_path)
        self._siblings = SiblingModel.load(model_path)
        self._pair = (self._model.classes.index(SIBLING_PAIR[0]), self._model.classes.index(SIBLING_PAIR[1]))
        self._broad = _BroadDetector()
        _letter_table()  # build the lookup table now, not on the first call

    def detect(self, text: str) -> LanguageGuess:
        """The language of the whole text."""
        return self.detect_article(text).guess

    def detect_many(self, texts: Sequence[str]) -> list[LanguageGuess]:
        return [self.detect(text) for text in texts]

    def detect_article(self, text: str) -> ArticleLanguage:
        """The article's language from all its text, and its paragraphs in other languages."""
        parts = paragraphs(text)
        found = features("\n".join(p.text for p in parts), self._model.n_buckets)
        letters = int(found.letters.sum())
        if not parts or letters == 0:
            return ArticleLanguage(UNKNOWN)
        if len(parts) == 1:
            probs = self._article_probs(self._model.text_scores(found), found)
            return ArticleLanguage(self._guess(text, probs, letters, self._halves_differ(parts[0].text)))
        return self._judge_paragraphs(text, parts, found)

    def _judge_paragraphs(self, text: str, parts: list[_Paragraph], found: Features) -> ArticleLanguage:
        """The article's guess from all its paragraphs' features, and the paragraphs
        confidently in another language."""
        scores, whole = self._model.paragraph_scores(found)
        article, each = self._article_probs(whole, found), self._model.softmax(scores)
        main = int(np.argmax(article))
        # A paragraph in the article's sibling (Malay in Indonesian news or the
        # reverse) counts as the article's language: see _SIBLINGS.
        best, confidence = self._family(np.argmax(each, axis=1), main), each.max(axis=1)
        sure = (found.letters >= MIN_RELIABLE_LETTERS) & (confidence >= MIN_RELIABLE_CONFIDENCE)
        in_main = found.letters[sure & (best == main)].sum()
        mixed = bool(sure.any()) and in_main < MIN_MAIN_SHARE * found.letters[sure].sum()
        guess = self._guess(text, article, int(found.letters.sum()), mixed)
        reported = (best != main) & (confidence >= MIN_PARAGRAPH_CONFIDENCE) & (found.letters >= MIN_RELIABLE_LETTERS)
        others = (
            ParagraphLanguage(parts[i].start, parts[i].end,
                              self._guess(parts[i].text, each[i], int(found.letters[i]), mixed=False))
            for i in np.flatnonzero(reported)
        )
        return ArticleLanguage(guess, tuple(p for p in others if p.guess.code != guess.code))

    def _article_probs(self, scores: F32Array, found: Features) -> F32Array:
        """The main model's probabilities for the whole text, Indonesian vs Malay
        settled by the word model."""
        probs = self._model.softmax(scores)
        # Only when the main model's best guess is one of the two: a Javanese text
        # stays Javanese, and other languages cost nothing more.
        if int(np.argmax(probs)) not in self._pair:
            return probs
        indonesian, malay = self._pair
        margin = float(scores[malay] - scores[indonesian]) / self._model.temperature
        return split_siblings(probs, self._siblings.malay_share(found.words, margin), self._pair)

    def _family(self, codes: IntpArray, main: int) -> IntpArray:
        """``codes`` with the article's sibling language replaced by the article's own."""
        family = codes.copy()
        for sibling in _SIBLINGS.get(self._model.classes[main], ()):
            family[codes == self._model.classes.index(sibling)] = main
        return family

    def _guess(self, text: str, probs: F32Array, letters: int, mixed: bool) -> LanguageGuess:
        best = int(np.argmax(probs))
        code, confidence = self._model.classes[best], float(probs[best])
        if code not in _AUTHORITATIVE or confidence < _OUT_OF_SET_MAX_OURS:
            code, confidence = self._second_opinion(text, code, confidence)
        reliable = letters >= MIN_RELIABLE_LETTERS and confidence >= MIN_RELIABLE_CONFIDENCE and not mixed \
            and len({char for char in text[:_VARIETY_CHARS].lower() if char.isalpha()}) >= MIN_DISTINCT_LETTERS
        return LanguageGuess(code, round(confidence, 4), reliable)

    def _halves_differ(self, text: str) -> bool:
        """True when the two halves of a one-paragraph text are in different languages.

        A whole-text softmax can be confident on a half-English, half-
        Indonesian snippet; scoring the halves as two paragraphs catches that
        for about the cost of one more (shorter) pass.
        """
        middle = len(text) // 2
        cut = text.rfind(" ", 0, middle + 1)
        cut = middle if cut <= 0 else cut
        # 300 characters per half are plenty to name a language.
        found = features(f"{text[:cut][-_HALF_CHARS:]}\n{text[cut:][:_HALF_CHARS]}", self._model.n_buckets)
        if found.letters.min() < MIN_RELIABLE_LETTERS:
            return False
        first, second = self._model.softmax(self._model.paragraph_scores(found)[0])
        # Both halves must be confident: a short half of Indonesian can look
        # Malay without the text being mixed.
        sure = min(float(first.max()), float(second.max())) >= MIN_RELIABLE_CONFIDENCE
        return int(np.argmax(first)) != int(np.argmax(second)) and sure

    def _second_opinion(self, text: str, code: str, confidence: float) -> tuple[str, float]:
        """Ask py3langid; only paid for text outside our core languages."""
        theirs, prob = self._broad.classify(text)
        if code not in _AUTHORITATIVE and theirs not in _AUTHORITATIVE:
            return theirs, prob
        unknown_to_us = theirs not in self._model.classes
        if unknown_to_us and prob >= _OUT_OF_SET_MIN_THEIRS:
            return theirs, prob
        return code, confidence
