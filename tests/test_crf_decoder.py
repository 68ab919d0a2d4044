"""The numpy CRF decoder (kabar_enrich.crf): exact Viterbi, file round trip, agreement with crfsuite."""

from __future__ import annotations

import gzip
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "services" / "enrich"))

from kabar_enrich.crf import LinearChainModel  # noqa: E402

LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def _random_model(rng: np.random.Generator) -> LinearChainModel:
    transitions = rng.normal(scale=3.0, size=(len(LABELS), len(LABELS)))
    return LinearChainModel(LABELS, ["a"], np.zeros((1, len(LABELS))), transitions)


def _brute_force(model: LinearChainModel, emissions: np.ndarray) -> list[str]:
    def score(path: tuple[int, ...]) -> float:
        total = sum(emissions[t, k] for t, k in enumerate(path))
        return float(total + sum(model.transitions[a, b] for a, b in itertools.pairwise(path)))

    best = max(itertools.product(range(len(LABELS)), repeat=len(emissions)), key=score)
    return [LABELS[k] for k in best]


@pytest.mark.parametrize("seed", range(40))
def test_decode_finds_the_best_path_of_every_sentence(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = _random_model(rng)
    lengths = [int(n) for n in rng.integers(1, 6, size=4)]
    emissions = rng.normal(scale=4.0, size=(sum(lengths), len(LABELS)))
    decoded = model.decode(emissions, lengths)
    first = 0
    for size, tags in zip(lengths, decoded, strict=True):
        assert tags == _brute_force(model, emissions[first : first + size])
        first += size


def test_decode_handles_empty_input_and_single_tokens() -> None:
    model = _random_model(np.random.default_rng(0))
    assert model.decode(np.zeros((0, len(LABELS))), []) == []
    emissions = np.array([[0.0, 5.0, 0.0, 0.0, 0.0]])
    assert model.decode(emissions, [1]) == [["B-PER"]]


def test_model_file_round_trip_is_deterministic(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(3, len(LABELS)))
    model = LinearChainModel(LABELS, ["w=a", "w=b", "sh=Xx"], weights, rng.normal(size=(5, 5)))
    first, second = tmp_path / "a.crf.gz", tmp_path / "b.crf.gz"
    model.save(first)
    model.save(second)
    assert first.read_bytes() == second.read_bytes()
    loaded = LinearChainModel.load(first)
    assert loaded.labels == LABELS
    assert np.allclose(loaded.score_of(["w=b", "unknown", "sh=Xx"]), weights[1] + weights[2], atol=1e-6)
    assert np.allclose(loaded.transitions, model.transitions, atol=1e-6)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.crf.gz"
    path.write_bytes(gzip.compress(b'{"format": 99}\n'))
    with pytest.raises(ValueError, match="format"):
        LinearChainModel.load(path)


def test_exported_crfsuite_model_tags_as_crfsuite_does(tmp_path: Path) -> None:
    pycrfsuite = pytest.importorskip("pycrfsuite")
    sys.path.insert(0, str(REPO_ROOT / "services" / "enrich" / "training"))
    from train_ner import export  # noqa: PLC0415

    rng = np.random.default_rng(2)
    vocabulary = [f"w{i}" for i in range(30)]
    kinds = {w: LABELS[1 + i % 4] if i < 12 else "O" for i, w in enumerate(vocabulary)}

    def sentence() -> tuple[list[list[str]], list[str]]:
        words = list(rng.choice(vocabulary, size=int(rng.integers(3, 12))))
        features = [[f"w={w}", f"-1w={words[i - 1] if i else 'BOS'}"] for i, w in enumerate(words)]
        tags = [kinds[w] for w in words]
        return features, tags

    trainer = pycrfsuite.Trainer(verbose=False)
    for _ in range(300):
        trainer.append(*sentence())
    trainer.set_params({"c1": 0.1, "c2": 0.01, "max_iterations": 50})
    trainer.train(str(tmp_path / "m.crfsuite"))
    tagger = pycrfsuite.Tagger()
    tagger.open(str(tmp_path / "m.crfsuite"))
    model = export(tmp_path / "m.crfsuite")
    for _ in range(50):
        features, _tags = sentence()
        emissions = np.vstack([model.score_of(f) for f in features])
        assert model.decode(emissions, [len(features)]) == [list(tagger.tag(features))]
