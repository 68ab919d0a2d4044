"""Near-duplicate fingerprints: MinHash (datasketch) over word shingles of the normalised text.

Two signatures per article: one of the whole text, and one of its lead (the first
``LEAD_WORDS`` words). Syndicated copies and light rewrites share most of the whole
text; teasers (the first half of an article) share its lead word for word but only half
of its shingles, so the lead signature is what finds them.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

SHINGLE_WORDS = 3
LEAD_WORDS = 80
_WORD = re.compile(r"\w+", re.UNICODE)

Signature = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    full: Signature
    lead: Signature
    shingle_count: int

    def encode(self) -> str:
        """The whole-text signature as base64 of little-endian uint32 values (compact, JSON-safe)."""
        return base64.b64encode(self.full.astype("<u4").tobytes()).decode("ascii")


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(tokens: list[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    if len(tokens) < size:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i:i + size]).encode() for i in range(len(tokens) - size + 1)}


@lru_cache(maxsize=4)
def _template(num_perm: int) -> MinHash:
    # MinHash draws its permutations from a fixed seed, so they are the same for every signature;
    # drawing them anew costs ~1 ms, more than hashing a whole article's shingles.
    return MinHash(num_perm=num_perm)


def signature(items: set[bytes], num_perm: int) -> Signature:
    template = _template(num_perm)
    minhash = MinHash(num_perm=num_perm, permutations=template.permutations, scheme=template.scheme)
    minhash.update_batch(list(items))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def fingerprint(title: str, text: str, num_perm: int) -> Fingerprint:
    body = words(text)
    full = shingles(words(title) + body)
    return Fingerprint(signature(full, num_perm), signature(shingles(body[:LEAD_WORDS]), num_perm), len(full))


def decode(encoded: str) -> Signature:
    return np.frombuffer(base64.b64decode(encoded), dtype="<u4").astype(np.uint32)


def jaccard(left: Signature, right: Signature) -> float:
    """Estimated Jaccard similarity of two signatures of equal length."""
    return float(np.count_nonzero(left == right)) / float(len(left))


def containment(estimated_jaccard: float, size_a: int, size_b: int) -> float:
    """Estimated share of the smaller set inside the larger, from Jaccard and the set sizes."""
    if estimated_jaccard <= 0.0 or min(size_a, size_b) == 0:
        return 0.0
    overlap = estimated_jaccard * (size_a + size_b) / (1.0 + estimated_jaccard)
    return min(1.0, overlap / min(size_a, size_b))
