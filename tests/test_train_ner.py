"""The NER training script's data handling (services/enrich/training/train_ner.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "services" / "enrich" / "training"))

pytest.importorskip("pycrfsuite", reason="python-crfsuite (training/test extras) is not installed")

import train_ner  # noqa: E402


def _sentence(text: str) -> list[tuple[str, str]]:
    return [(word, "O") for word in text.split()]


ARTICLES = [
    "Charlie Gaudion was an Australian rules footballer .",
    "He played with Footscray .",
    "Gaudion coached North Melbourne .",
    "The Cherche-Midi prison was a prison in Paris .",
    "It was used by Germans .",
    "Christopher Bailey is a lecturer of English .",
    "Bailey wrote Kinda .",
]


def test_wikigold_documents_split_where_an_article_opens() -> None:
    sentences = [_sentence(text) for text in ARTICLES]
    docs = train_ner.documents("wikigold", sentences)
    assert [len(doc) for doc in docs] == [3, 2, 2]
    assert train_ner.documents("idner", sentences) == [[s] for s in sentences]


def test_the_wikigold_dev_cut_falls_on_an_article_opening() -> None:
    sentences = [_sentence(text) for text in ARTICLES]
    # 80 % of 7 sentences is index 5, which opens the "Christopher Bailey" article.
    assert train_ner.wikigold_cut(sentences) == 5
    assert train_ner.wikigold_cut(sentences[:5]) == 4  # no opening after 80 %: the plain cut


def test_training_without_shared_data_skips_cleanly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(train_ner, "DATA_DIR", tmp_path / "absent")
    assert train_ner.main(["--out", str(tmp_path / "models")]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not (tmp_path / "models").exists()


def test_capitalisation_classes_ignore_sentence_starts() -> None:
    paragraphs = [
        ["Kata", "Jokowi", "di", "Jakarta", "."],
        ["Menurut", "Jokowi", ",", "harga", "naik", "."],
        ["Harga", "beras", "naik", ".", "Harga", "naik", "lagi", "kata", "Jokowi"],
        ["cabai", "dan", "harga", "naik", "di", "Jakarta"],
    ]
    classes = train_ner.capitalisation_classes(paragraphs, min_count=2)
    assert classes["jokowi"] == ["cap"]
    assert classes["harga"] == ["low"]  # capitalised only at sentence starts, which do not count
    assert classes["naik"] == ["low"]


UNER_FILE = """# newdoc id = n01001
# sent_id = n01001-0001
# text = Kori Schulman wrote in Washington.
1\tKori\tB-PER\t-\tblvns
2\tSchulman\tI-PER\t-\tblvns
3\twrote\tO\t-\t-
4\tin\tO\t-\t-
5\tWashington\tB-LOC\t-\tblvns
6\t.\tO\t-\t-

# sent_id = n01001-0002
# text = He left.
1\tHe\tO\t-\t-
2\tleft\tO\t-\t-
3\t.\tO\t-\t-
"""


def test_universal_ner_files_are_read_as_token_tag_sentences(tmp_path: Path) -> None:
    path = tmp_path / "en_pud-ud-test.iob2"
    path.write_text(UNER_FILE, encoding="utf-8")
    assert train_ner.read_uner(path) == [
        [("Kori", "B-PER"), ("Schulman", "I-PER"), ("wrote", "O"), ("in", "O"), ("Washington", "B-LOC"), (".", "O")],
        [("He", "O"), ("left", "O"), (".", "O")],
    ]


def test_extra_sentences_that_repeat_a_wikigold_sentence_are_dropped() -> None:
    wikigold = [_sentence("Charlie Gaudion was an Australian rules footballer who played with Footscray .")]
    extra = [
        _sentence("charlie gaudion was an australian rules footballer who played with footscray ."),  # exact
        _sentence("Charlie Gaudion was an Australian rules footballer who played with Footscray !"),  # near: 9/11
        _sentence("Charlie Gaudion played football ."),  # shares words, not a repeat
    ]
    assert train_ner.drop_overlaps(extra, wikigold) == [extra[2]]


def test_english_training_without_the_universal_ner_files_says_where_they_go(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(train_ner, "DATA_DIR", tmp_path)  # present (the English part stops before reading it)
    absent = tmp_path / "uner"
    assert train_ner.main(["--lang", "en", "--out", str(tmp_path / "models"), "--uner-dir", str(absent)]) == 0
    out = capsys.readouterr().out
    assert str(absent) in out and "en_pud-ud-test.iob2" in out and "UNER_English-EWT" in out
    assert not (tmp_path / "models").exists()
