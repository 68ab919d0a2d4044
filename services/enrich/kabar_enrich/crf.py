"""A linear-chain CRF decoder in numpy, and the model file it reads.

The NER models are trained with crfsuite (``services/enrich/training/train_ner.py``), which then
writes the learnt weights into this module's format. Decoding here instead of in crfsuite lets the
recogniser add up a word's feature weights once and reuse the sum every time the word recurs
(see ``kabar_enrich.entities``): feature strings no longer cross into C for every token, and NER
costs less than half what it did.

File format (gzip, written with ``mtime=0`` so that retraining gives byte-identical files): one
UTF-8 JSON line ``{"format": 1, "labels": [...], "attributes": [...]}`` followed by a float32 ``.npy``
array of shape ``(len(labels) + len(attributes), len(labels))``: the first rows are the
label-to-label transition weights (``[from, to]``), then one row of state weights per attribute.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "LinearChainModel"]

FORMAT_VERSION = 1
FloatArray = npt.NDArray[np.float64]


class LinearChainModel:
    """Labels, per-attribute state weights and transition weights of a trained linear-chain CRF."""

    __slots__ = ("attribute_rows", "labels", "state_weights", "transitions")

    def __init__(
        self, labels: Sequence[str], attributes: Sequence[str], state_weights: FloatArray, transitions: FloatArray
    ) -> None:
        n_labels = len(labels)
        if state_weights.shape != (len(attributes), n_labels) or transitions.shape != (n_labels, n_labels):
            raise ValueError(
                f"weights {state_weights.shape} / transitions {transitions.shape} do not fit "
                f"{len(attributes)} attributes x {n_labels} labels"
            )
        self.labels = tuple(labels)
        self.attribute_rows: dict[str, int] = {name: row for row, name in enumerate(attributes)}
        self.state_weights = state_weights
        self.transitions = transitions

    @classmethod
    def from_weights(
        cls,
        labels: Sequence[str],
        state_features: Mapping[tuple[str, str], float],
        transitions: Mapping[tuple[str, str], float],
    ) -> LinearChainModel:
        """Build from ``{(attribute, label): weight}`` and ``{(from, to): weight}`` (crfsuite's dump)."""
        column = {label: j for j, label in enumerate(labels)}
        attributes = sorted({attribute for attribute, _ in state_features})
        row = {attribute: i for i, attribute in enumerate(attributes)}
        weights = np.zeros((len(attributes), len(labels)))
        for (attribute, label), weight in state_features.items():
            weights[row[attribute], column[label]] = weight
        moves = np.zeros((len(labels), len(labels)))
        for (before, after), weight in transitions.items():
            moves[column[before], column[after]] = weight
        return cls(labels, attributes, weights, moves)

    @classmethod
    def load(cls, path: Path) -> LinearChainModel:
        """Read a file written by :meth:`save`."""
        data = gzip.decompress(path.read_bytes())
        header_end = data.index(b"\n")
        header = json.loads(data[:header_end])
        if header.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: unknown NER model format {header.get('format')!r}")
        labels, attributes = header["labels"], header["attributes"]
        matrix = np.load(io.BytesIO(data[header_end + 1 :]), allow_pickle=False).astype(np.float64)
        n_labels = len(labels)
        return cls(labels, attributes, matrix[n_labels:], matrix[:n_labels])

    def save(self, path: Path) -> None:
        """Write the model deterministically (see the module docstring for the format)."""
        attributes = sorted(self.attribute_rows, key=self.attribute_rows.__getitem__)
        header = json.dumps({"format": FORMAT_VERSION, "labels": self.labels, "attributes": attributes})
        matrix = np.vstack([self.transitions, self.state_weights]).astype(np.float32)
        buffer = io.BytesIO()
        np.save(buffer, matrix, allow_pickle=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(header.encode("utf-8") + b"\n" + buffer.getvalue(), compresslevel=9, mtime=0))

    def score_of(self, attributes: Sequence[str]) -> FloatArray:
        """Summed state weights of ``attributes`` per label; attributes the model lacks add nothing."""
        rows = [self.attribute_rows[a] for a in attributes if a in self.attribute_rows]
        if not rows:
            return np.zeros(len(self.labels))
        return np.asarray(self.state_weights[rows].sum(axis=0), dtype=np.float64)

    def decode(self, emissions: FloatArray, lengths: Sequence[int]) -> list[list[str]]:
        """Viterbi: the best label sequence of each sentence, all sentences decoded together.

        ``emissions`` holds the state scores of every token, one row per token, sentences one after
        another (``lengths`` gives their sizes). Each step works on every sentence at once, so an
        article costs as many vectorised steps as its longest sentence has tokens.
        """
        labels = self.labels
        present = [i for i, size in enumerate(lengths) if size > 0]
        out: list[list[str]] = [[] for _ in lengths]
        if not present:
            return out
        sizes = np.asarray([lengths[i] for i in present], dtype=np.intp)
        n_sentences, longest, n_labels = len(sizes), int(sizes.max()), len(labels)
        inside = np.arange(longest)[None, :] < sizes[:, None]
        padded = np.zeros((n_sentences, longest, n_labels))
        padded[inside] = emissions[: int(sizes.sum())]
        into = np.ascontiguousarray(self.transitions.T)  # [to, from]
        best = np.empty((n_sentences, longest, n_labels))
        best[:, 0] = padded[:, 0]
        pointers = np.zeros((n_sentences, longest, n_labels), dtype=np.intp)
        for t in range(1, longest):  # positions past a sentence's end are computed but never read
            candidates = best[:, t - 1, None, :] + into[None]
            pointers[:, t] = candidates.argmax(axis=2)
            best[:, t] = candidates.max(axis=2) + padded[:, t]
        rows = np.arange(n_sentences)
        last = best[rows, sizes - 1].argmax(axis=1)
        path = np.zeros((n_sentences, longest), dtype=np.intp)
        current = last
        for t in range(longest - 1, -1, -1):
            current = np.where(sizes - 1 == t, last, current)
            path[:, t] = current
            if t:
                current = pointers[rows, t, current]
        for k, i in enumerate(present):
            out[i] = [labels[j] for j in path[k, : sizes[k]]]
        return out
