"""Language identification for the enrich service.

Design (justified by the held-out numbers printed by ``benchmarks/langid.py``):

1. Text with no letters (empty, emoji, digits) is ``und`` without a model.
2. A project-trained linear model (hashed character 1-5-grams + whole words,
   softmax; see ``services/enrich/training/train_langid.py``) labels 35
   languages. It exists because general detectors fail exactly where kabar
   needs them: Indonesian vs Malay and the regional languages of Indonesia
   (pycld2 calls 29 % of those Indonesian; lingua has no jv/su at all).
3. py3langid (97 languages) is asked for a second opinion only when the
   project model is unsure or names a language it saw little data for, so
   e.g. Polish is not forced into one of our 35 classes.

Only the first ``MAX_CHARS`` characters are classified: the lead of a news
article is enough, and it keeps the cost well under 2 ms per article.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from py3langid.langid import MODEL_FILE, LanguageIdentifier

MODEL_DIR: Final = Path(__file__).parent / "models" / "langid"
MAX_CHARS: Final = 1000
NGRAM_ORDERS: Final = (1, 2, 3, 4, 5)

# Text with fewer letters than this is too short to trust, whatever the model
# says: single words are often shared between id, ms, jv, su and min.
MIN_RELIABLE_LETTERS: Final = 25
# 0.8 rather than 0.7 so that text mixing two languages (confidence split
# between them) is flagged; see tests/test_language.py.
MIN_RELIABLE_CONFIDENCE: Final = 0.8
_HALF_CHARS: Final = 300

_U64 = np.uint64
_HASH_MULT: Final = _U64(0x100000001B3)  # FNV-1a 64-bit prime
_MIX_MULT: Final = _U64(0xFF51AFD7ED558CCD)  # murmur3 fmix64 constant
_ORDER_SALT: Final = _U64(0x9E3779B97F4A7C15)  # keeps "a" and "a " apart
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


# --------------------------------------------------------------------------
# Text normalisation and features (shared with the training script, so the
# features at run time are bit-identical to those the model was fitted on).
# --------------------------------------------------------------------------


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
    """Lower-case code points, non-letters folded to single spaces, padded."""
    raw = text[:MAX_CHARS].lower().encode("utf-32-le", errors="replace")
    cps = np.frombuffer(raw, dtype=np.uint32).astype(np.int64)
    is_letter = _letter_table()[np.minimum(cps, _TABLE_SIZE - 1)]
    cps = np.where(is_letter, cps, 32)
    # Drop a space that follows a space, so runs of punctuation cost nothing.
    keep = np.ones(cps.shape[0], dtype=np.bool_)
    keep[1:] = ~((cps[1:] == 32) & (cps[:-1] == 32))
    cps = cps[keep]
    padded = np.concatenate(([32], cps, [32])).astype(np.uint64)
    if padded.shape[0] > 2 and padded[1] == 32:
        padded = padded[1:]
    if padded.shape[0] > 2 and padded[-2] == 32:
        padded = padded[:-1]
    return padded


def ngram_buckets(cps: U64Array, n_buckets: int) -> U64Array:
    """Hash every character n-gram (orders 1-5) into ``n_buckets`` buckets.

    A rolling polynomial hash (order n extends order n-1 by one multiply-add)
    and a murmur-style finaliser: pure numpy, and deterministic across
    processes, unlike ``hash()``.
    """
    parts: list[U64Array] = []
    rolling = cps.copy()
    with np.errstate(over="ignore"):
        for order in NGRAM_ORDERS:
            if order > 1:
                rolling = rolling[:-1] * _HASH_MULT + cps[order - 1 :]
            if rolling.shape[0] == 0:
                break
            h = rolling + _U64(order) * _ORDER_SALT
            h ^= h >> _U64(33)
            h *= _MIX_MULT
            h ^= h >> _U64(33)
            parts.append(h & _U64(n_buckets - 1))
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    return np.concatenate(parts)


def word_buckets(cps: U64Array, n_buckets: int) -> IntpArray:
    """CRC32 of each whole word, bucketed; each word counted twice.

    Whole words separate id/ms pairs that share most n-grams (pemerintah /
    kerajaan, karena / kerana); doubling gives them the weight 4-fold CV
    preferred. A Python loop, but only ~150 words per 1,000 chars.
    """
    text = cps.astype(np.uint32).tobytes().decode("utf-32-le")
    mask = n_buckets - 1
    ids = [zlib.crc32(word.encode("utf-8")) & mask for word in text.split()]
    return np.asarray(ids + ids, dtype=np.intp)


def feature_vector(cps: U64Array, n_buckets: int) -> tuple[IntpArray, F32Array]:
    """Sparse features (char n-grams + words): unique buckets and their L2-normalised log counts.

    Sub-linear counts stop one repeated word dominating; L2 normalisation
    makes a sentence and a long paragraph comparable.
    """
    ids = np.concatenate((ngram_buckets(cps, n_buckets).astype(np.intp), word_buckets(cps, n_buckets)))
    buckets, counts = np.unique(ids, return_counts=True)
    values = np.log1p(counts).astype(np.float32)
    norm = float(np.linalg.norm(values))
    if norm > 0:
        values /= norm
    return buckets, values


# --------------------------------------------------------------------------
# Detector
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LinearModel:
    weights: npt.NDArray[np.float32]  # (n_buckets, n_classes)
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

    def probabilities(self, cps: U64Array) -> F32Array:
        buckets, values = feature_vector(cps, self.n_buckets)
        scores: F32Array = values @ self.weights[buckets] + self.bias
        z = np.exp(scores / self.temperature - scores.max() / self.temperature)
        probs: F32Array = (z / z.sum()).astype(np.float32)
        return probs


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
# project model is this unsure and py3langid this sure (e.g. Polish text).
_OUT_OF_SET_MAX_OURS: Final = 0.5
_OUT_OF_SET_MIN_THEIRS: Final = 0.95


class _BroadDetector:
    """py3langid (97 languages, numpy runtime, model shipped in the wheel)."""

    def __init__(self) -> None:
        self._ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def classify(self, text: str) -> tuple[str, float]:
        code, prob = self._ident.classify(text[:MAX_CHARS])
        return str(code), float(prob)


class LanguageDetector:
    """Thread-safe after construction: ``detect`` only reads the model."""

    def __init__(self) -> None:
        self._model = _LinearModel.load(MODEL_DIR / "model.npz")
        self._broad = _BroadDetector()
        _letter_table()  # build the lookup table now, not on the first call

    def detect(self, text: str) -> LanguageGuess:
        cps = normalise(text)
        letters = int(np.count_nonzero(cps != 32))
        if letters == 0:
            return UNKNOWN
        probs = self._model.probabilities(cps)
        best = int(np.argmax(probs))
        code, confidence = self._model.classes[best], float(probs[best])
        if code not in _AUTHORITATIVE or confidence < _OUT_OF_SET_MAX_OURS:
            code, confidence = self._second_opinion(text, code, confidence)
        reliable = letters >= MIN_RELIABLE_LETTERS and confidence >= MIN_RELIABLE_CONFIDENCE and not self._is_mixed(cps)
        return LanguageGuess(code, round(confidence, 4), reliable)

    def _is_mixed(self, cps: U64Array) -> bool:
        """True when the two halves of the text are in different languages.

        A whole-text softmax can be confident on a half-English, half-
        Indonesian snippet; comparing halves catches that for about the cost
        of one more (shorter) pass.
        """
        spaces = np.flatnonzero(cps == 32)
        middle = int(spaces[np.argmin(np.abs(spaces - cps.shape[0] // 2))])
        # 300 code points per half are plenty to name a language and keep the
        # check to ~60 % of one full pass on a 1,000-char article lead.
        halves = (cps[: middle + 1][-_HALF_CHARS:], cps[middle:][:_HALF_CHARS])
        if min(int(np.count_nonzero(h != 32)) for h in halves) < MIN_RELIABLE_LETTERS:
            return False
        first, second = (self._model.probabilities(h) for h in halves)
        top1, top2 = int(np.argmax(first)), int(np.argmax(second))
        # Both halves must be confident: a short half of Indonesian can look
        # Malay without the text being mixed.
        sure = min(float(first[top1]), float(second[top2])) >= MIN_RELIABLE_CONFIDENCE
        return top1 != top2 and sure

    def _second_opinion(self, text: str, code: str, confidence: float) -> tuple[str, float]:
        """Ask py3langid; only paid for text outside our core languages."""
        theirs, prob = self._broad.classify(text)
        if code not in _AUTHORITATIVE and theirs not in _AUTHORITATIVE:
            return theirs, prob
        unknown_to_us = theirs not in self._model.classes
        if unknown_to_us and prob >= _OUT_OF_SET_MIN_THEIRS:
            return theirs, prob
        return code, confidence

    def detect_many(self, texts: Sequence[str]) -> list[LanguageGuess]:
        return [self.detect(text) for text in texts]
