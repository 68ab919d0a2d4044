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
        """Viterbi: the best label sequence of each sentence.

        ``emissions`` holds the state scores of every token, one row per token, sentences one after
        another (``lengths`` gives their sizes). Tokens whose best label is provably "O" whatever
        their neighbours are (see :meth:`_settled`) split the sentences into short independent
        stretches, and all stretches are decoded together: a news article has few entities, so
        this takes a few vectorised steps instead of one per token of the longest sentence.
        """
        sizes = np.asarray(lengths, dtype=np.intp)
        n_tokens = int(sizes.sum())
        labels = self.labels
        if n_tokens == 0:
            return [[] for _ in lengths]
        path = np.zeros(n_tokens, dtype=np.intp)
        outside = labels.index("O") if "O" in labels else -1
        sentence_start = np.zeros(n_tokens, dtype=bool)
        sentence_start[np.concatenate(([0], np.cumsum(sizes)[:-1]))[sizes > 0]] = True
        settled = self._settled(emissions[:n_tokens], sentence_start, outside)
        path[settled] = outside
        free = ~settled
        if free.any():
            self._decode_stretches(emissions, free, sentence_start, outside, path)
        out: list[list[str]] = []
        first = 0
        for size in lengths:
            out.append([labels[k] for k in path[first : first + size]])
            first += size
        return out

    def _settled(
        self, emissions: FloatArray, sentence_start: npt.NDArray[np.bool_], outside: int
    ) -> npt.NDArray[np.bool_]:
        """Tokens where label "O" is on the best path whatever the rest of the sentence holds.

        The best score of a path through label y at token t is Left(y) + e_t(y) + Right(y). Left(y)
        depends on the tokens before t only through the best prefix score G ending two tokens back:
        Left(y) = max_a [e_{t-1}(a) + t(a,y) + max_z (t(z,a) + F_{t-2}(z))], which lies between
        max_a [e_{t-1}(a) + t(a,y) + min_z t(z,a)] + G and the same with max_z, G = max F_{t-2}.
        Right(y) is bounded the same way from the token after. If O's lower bound beats every other
        label's upper bound (G and its right-hand twin cancel), O is optimal at t, and the tokens
        on either side can be decoded separately.
        """
        n_tokens = len(emissions)
        if outside < 0 or n_tokens < 3:
            return np.zeros(n_tokens, dtype=bool)
        moves = self.transitions
        sentence_end = np.concatenate((sentence_start[1:], [True]))
        has_before = ~sentence_start
        has_after = ~sentence_end
        # Neighbours' emissions; rows without that neighbour are unused.
        before = np.vstack((emissions[:1], emissions[:-1]))
        after = np.vstack((emissions[1:], emissions[-1:]))
        # Does the neighbour itself have a further neighbour (whose label then also varies)?
        far_before = np.concatenate(([False], has_before[:-1])) & has_before
        far_after = np.concatenate((has_after[1:], [False])) & has_after
        into_low = np.where(far_before[:, None], moves.min(axis=0)[None, :], 0.0)  # [t, a]
        into_high = np.where(far_before[:, None], moves.max(axis=0)[None, :], 0.0)
        out_low = np.where(far_after[:, None], moves.min(axis=1)[None, :], 0.0)  # [t, b]
        out_high = np.where(far_after[:, None], moves.max(axis=1)[None, :], 0.0)
        # left[t, y] = max_a (e_{t-1}(a) + into(t, a) + moves[a, y])
        left_low = (before + into_low)[:, :, None] + moves[None, :, :]
        left_high = (before + into_high)[:, :, None] + moves[None, :, :]
        right_low = moves[None, :, :] + (after + out_low)[:, None, :]
        right_high = moves[None, :, :] + (after + out_high)[:, None, :]
        low = emissions[:, outside] + np.where(has_before, left_low[:, :, outside].max(axis=1), 0.0)
        low += np.where(has_after, right_low[:, outside, :].max(axis=1), 0.0)
        high = emissions + np.where(has_before[:, None], left_high.max(axis=1), 0.0)
        high += np.where(has_after[:, None], right_high.max(axis=2), 0.0)
        high[:, outside] = -np.inf
        settled: npt.NDArray[np.bool_] = low >= high.max(axis=1)
        return settled

    def _decode_stretches(
        self,
        emissions: FloatArray,
        free: npt.NDArray[np.bool_],
        sentence_start: npt.NDArray[np.bool_],
        outside: int,
        path: npt.NDArray[np.intp],
    ) -> None:
        """Viterbi over every maximal stretch of free tokens at once; writes their labels into ``path``."""
        n_tokens = len(free)
        previous_free = np.concatenate(([False], free[:-1]))
        begins = free & (~previous_free | sentence_start)
        stretch = np.cumsum(begins) - 1  # stretch id of each token (valid where free)
        tokens = np.flatnonzero(free)
        ids = stretch[tokens]
        starts = np.flatnonzero(begins)
        sizes = np.bincount(ids, minlength=len(starts))
        offsets = tokens - starts[ids]
        ends = starts + sizes  # one past the last token
        # A stretch's neighbour outside it is a settled "O" token unless the sentence ends there.
        after_start = np.concatenate((sentence_start[1:], [True]))
        left_o = ~sentence_start[starts]
        right_o = ~after_start[ends - 1] & (ends < n_tokens)
        n_stretches, longest, n_labels = len(starts), int(sizes.max()), len(self.labels)
        padded = np.zeros((n_stretches, longest, n_labels))
        padded[ids, offsets] = emissions[tokens]
        moves = self.transitions
        if outside >= 0:
            padded[left_o, 0] += moves[outside]
        into = np.ascontiguousarray(moves.T)  # [to, from]
        best = np.empty((n_stretches, longest, n_labels))
        best[:, 0] = padded[:, 0]
        pointers = np.zeros((n_stretches, longest, n_labels), dtype=np.intp)
        for t in range(1, longest):
            candidates = best[:, t - 1, None, :] + into[None]
            pointers[:, t] = candidates.argmax(axis=2)
            best[:, t] = candidates.max(axis=2) + padded[:, t]
        rows = np.arange(n_stretches)
        final = best[rows, sizes - 1]
        if outside >= 0:
            final[right_o] += moves[:, outside]
        current = final.argmax(axis=1)
        labels = np.zeros((n_stretches, longest), dtype=np.intp)
        for t in range(longest - 1, -1, -1):
            ending = sizes - 1 == t
            current = np.where(ending, final.argmax(axis=1), current)
            labels[:, t] = current
            if t:
                current = pointers[rows, t, current]
        path[tokens] = labels[ids, offsets]
