"""Near-duplicate fingerprints: MinHash (datasketch) over word shingles of the normalised text."""

from __future__ import annotations

import base64
import re
import unicodedata

import numpy as np
from datasketch import MinHash

SHINGLE_WORDS = 3
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i:i + size]).encode() for i in range(len(tokens) - size + 1)}


def minhash(text: str, num_perm: int) -> MinHash:
    signature = MinHash(num_perm=num_perm)
    signature.update_batch(list(shingles(text)))
    return signature


def encode(signature: MinHash) -> str:
    """The signature as base64 of little-endian uint32 values (compact, JSON-safe)."""
    return base64.b64encode(signature.hashvalues.astype("<u4").tobytes()).decode("ascii")


def decode(fingerprint: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(fingerprint), dtype="<u4")


def similarity(left: np.ndarray, right: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures of equal length."""
    return float(np.count_nonzero(left == right)) / float(len(left))
