"""Behaviour tests of the enrich service's named-entity recogniser (kabar_enrich.entities)."""

from __future__ import annotations

import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "services" / "enrich"))

from kabar_enrich.entities import (  # noqa: E402
    DEFAULT_MODEL_DIR,
    MAX_CHARS,
    SECOND_PASS_FILES,
    SPLIT_FLAGS,
    SPLIT_RULES,
    EntityRecognizer,
    EntitySpan,
    WordScores,
    _without_stray_marks,
    bio_to_spans,
    split_sentences,
    tokenize,
)
from kabar_enrich.ner_features import document_features  # noqa: E402

SEED_DIRS = (REPO_ROOT / "seeds", REPO_ROOT.parent / "shared" / "seeds")
LAVROV_SEED = "000_0dc7af725f29fc38.txt"


@pytest.fixture(scope="module")
def recognizer() -> EntityRecognizer:
    return EntityRecognizer()


def _seed(name: str) -> str:
    for directory in SEED_DIRS:
        if (directory / name).is_file():
            return (directory / name).read_text(encoding="utf-8")
    pytest.skip(f"seed article {name} not found")


def _found(spans: list[EntitySpan], label: str) -> set[str]:
    return {s.text for s in spans if s.label == label}


def test_seed_article_people_places_and_offsets(recognizer: EntityRecognizer) -> None:
    text = _seed(LAVROV_SEED)
    spans = recognizer.extract(text, "id")
    assert all(text[s.start : s.end] == s.text for s in spans)
    assert all(s.label in {"PER", "ORG", "LOC", "MISC"} for s in spans)
    people = _found(spans, "PER")
    assert "Kim Jong Un" in people
    assert "Sergei Lavrov" in people or "Lavrov" in people
    assert {"Rusia", "Korea Utara", "Pyongyang"} <= _found(spans, "LOC")
    assert any("Kementerian Luar Negeri" in org for org in _found(spans, "ORG"))


def test_all_seed_articles_have_exact_offsets(recognizer: EntityRecognizer) -> None:
    for directory in SEED_DIRS:
        for path in sorted(directory.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            spans = recognizer.extract(text, "id")
            assert spans, path.name
            assert all(text[s.start : s.end] == s.text for s in spans), path.name
            assert [s.start for s in spans] == sorted(s.start for s in spans)


def test_english_sentence(recognizer: EntityRecognizer) -> None:
    text = "Russian Foreign Minister Sergei Lavrov met Kim Jong Un in Pyongyang on Saturday, the BBC said."
    spans = recognizer.extract(text, "en")
    assert "Sergei Lavrov" in _found(spans, "PER")
    assert "Pyongyang" in _found(spans, "LOC")
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_malay_uses_indonesian_model(recognizer: EntityRecognizer) -> None:
    text = "Presiden Joko Widodo bertemu Perdana Menteri Anwar Ibrahim di Kuala Lumpur."
    assert recognizer.extract(text, "ms") == recognizer.extract(text, "id")
    assert "Joko Widodo" in _found(recognizer.extract(text, "ms"), "PER")


@pytest.mark.parametrize("language", ["fr", "zh", "", "xx-YY"])
def test_unsupported_language_returns_empty(recognizer: EntityRecognizer, language: str) -> None:
    assert recognizer.extract("Emmanuel Macron est à Paris.", language) == []


@pytest.mark.parametrize("language", ["id-ID", "EN", "ms_MY"])
def test_language_codes_are_normalised(recognizer: EntityRecognizer, language: str) -> None:
    assert recognizer.extract("Joko Widodo tiba di Jakarta.", language)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "🙂🔥🇮🇩" * 50,
        "ข่าวการเมืองไทยวันนี้ กรุงเทพมหานคร",  # Thai script
        "Новости из Москвы",
        "\u200b\u200d\ufeff",
        "." * 1000,
    ],
)
def test_odd_inputs_return_valid_lists(recognizer: EntityRecognizer, text: str) -> None:
    for language in ("id", "en"):
        spans = recognizer.extract(text, language)
        assert isinstance(spans, list)
        assert all(text[s.start : s.end] == s.text for s in spans)


def test_huge_input_is_capped_and_fast(recognizer: EntityRecognizer) -> None:
    for text in ("Jakarta " * 130_000, "a" * 1_000_000):  # ~1 MB each
        started = time.perf_counter()
        spans = recognizer.extract(text, "id")
        assert time.perf_counter() - started < 5.0
        assert all(s.end <= MAX_CHARS for s in spans)


def test_extract_many_aligns_and_validates(recognizer: EntityRecognizer) -> None:
    texts = ["Joko Widodo tiba di Jakarta.", "Boris Johnson visited London.", "Bonjour Paris"]
    results = recognizer.extract_many(texts, ["id", "en", "fr"])
    assert len(results) == 3
    assert results[0] == recognizer.extract(texts[0], "id")
    assert results[2] == []
    with pytest.raises(ValueError, match="languages"):
        recognizer.extract_many(texts, ["id"])


def test_tokenizer_offsets_and_hyphen_split() -> None:
    text = 'Konflik Rusia-Ukraina (12/7/2025) dilaporkan Tribunnews.com, kata "Lavrov".'
    tokens = tokenize(text)
    assert all(text[t.start : t.end] == t.text for t in tokens)
    words = [t.text for t in tokens]
    assert words[1:4] == ["Rusia", "-", "Ukraina"]
    assert "12/7/2025" in words
    assert "Tribunnews.com" in words


# Text made of the characters the token kinds turn on: letters (Latin and not), digits, the marks of URLs, domains,
# numbers, initialisms and clitics, and spaces.
_TOKENISER_TEXT = st.text(alphabet=st.sampled_from([*"aAnNtTsSwWhHpPcCoOmMdDiI1209'.:/,@#_-é ", "ü", "ب", "’"]),
                          max_size=40) | st.sampled_from([
    "don't", "https://kabar.id/a", "www.detik.com", "U.S.", "Tribunnews.com", "G20", "abc_def", "Jokowi's",
    "10:30", "1.250,5", "n't", "we'll", "x.y", "http:", "Rp5.000", "5G"])


@given(_TOKENISER_TEXT)
def test_the_plain_word_shortcut_tokenises_as_the_token_kinds_do(text: str) -> None:
    """tokenize() matches plain words first, for speed: the tokens must be those the token kinds alone give."""
    alone = re.compile(SPLIT_RULES, SPLIT_FLAGS)
    assert [(t.text, t.start, t.end) for t in tokenize(text)] == \
        [(m.group(), m.start(), m.end()) for m in alone.finditer(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("(Walhi)", "Walhi"),  # the tagger took the abbreviation's ")" in (a corpus article)
    ('"Golkar",', "Golkar"),
    ("Partai Golongan Karya (Golkar)", "Partai Golongan Karya (Golkar)"),  # a bracket closed inside stays
    ("Kementerian Luar Negeri (Kemenlu) Rusia", "Kementerian Luar Negeri (Kemenlu) Rusia"),
    ("( )", ""),
])
def test_marks_at_an_entitys_edges_are_not_part_of_it(text: str, expected: str) -> None:
    tokens = tokenize(text)
    first, last = _without_stray_marks(tokens, 0, len(tokens))
    assert (text[tokens[first].start:tokens[last - 1].end] if first < last else "") == expected


def test_hyphenated_entities_are_split_into_separate_spans(recognizer: EntityRecognizer) -> None:
    text = "Perang Rusia-Ukraina belum berakhir."
    assert {"Rusia", "Ukraina"} <= _found(recognizer.extract(text, "id"), "LOC")


def test_sentence_splitting_keeps_initials_and_breaks_lines() -> None:
    text = "Presiden AS Joe Biden bertemu H. Prabowo. Dia tiba kemarin.\nJudul baru"
    sentences = split_sentences(text, tokenize(text))
    assert [" ".join(t.text for t in s) for s in sentences] == [
        "Presiden AS Joe Biden bertemu H . Prabowo .",
        "Dia tiba kemarin .",
        "Judul baru",
    ]


def test_bio_to_spans_follows_seqeval_rules() -> None:
    tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-ORG", "I-PER"]
    assert list(bio_to_spans(tags)) == [("PER", 0, 2), ("LOC", 3, 5), ("ORG", 5, 6), ("PER", 6, 7)]


def test_missing_model_dir_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        EntityRecognizer(tmp_path)


def test_cached_word_scores_give_the_models_full_feature_scores(recognizer: EntityRecognizer) -> None:
    """The recogniser's per-word sums plus sentence features add up to the weights of every feature
    the model was trained on (FeatureExtractor.sentence_features), token by token."""
    for language, sentences in (
        ("id", [["Presiden", "Joko", "Widodo", "tiba", "di", "Jakarta", "."], ["Ia", "bertemu", "Anwar"]]),
        ("en", [["Sergei", "Lavrov", "met", "Kim", "Jong", "Un", "in", "Pyongyang", "."], ["No"]]),
    ):
        tagger = recognizer._taggers[language].first
        emissions = tagger.emissions(sentences)
        expected = np.vstack(
            [tagger.model.score_of(feats) for words in sentences for feats in tagger.features.sentence_features(words)]
        )
        assert np.allclose(emissions, expected)


def test_word_score_cache_is_bounded_and_starts_afresh(recognizer: EntityRecognizer) -> None:
    tagger = recognizer._taggers["id"].first
    scores = WordScores(tagger.model, tagger.features, limit=50)
    words = [f"Kata{i}" for i in range(120)]
    first, _ = scores.rows(words[:40])
    again, _ = scores.rows(words[:40])
    assert first == again
    scores.rows(words[40:80])  # over the limit: the cache starts afresh
    assert len(scores) <= 50
    fresh = WordScores(tagger.model, tagger.features)
    rows, _ = fresh.rows(["Jakarta"])
    later, _ = scores.rows(["Jakarta"])
    assert np.allclose(fresh.table()[rows], scores.table()[later])


def test_tag_sentences_keeps_empty_sentences_in_place(recognizer: EntityRecognizer) -> None:
    tags = recognizer.tag_sentences([["Joko", "Widodo"], [], ["di", "Jakarta"]], "id")
    assert [len(t) for t in tags] == [2, 0, 2]
    assert recognizer.tag_sentences([], "id") == []


def test_document_features_vote_from_other_sentences_only() -> None:
    sentences = [["I", "Wayan", "Budjana", "plays", "guitar", "."], ["Budjana", "toured", "Bali", "."], ["Budjana"]]
    tags = [["B-PER", "I-PER", "I-PER", "O", "O", "O"], ["B-LOC", "O", "B-LOC", "O"], ["O"]]
    feats = document_features(sentences, tags)
    # "Budjana" in sentence 2 sees PER (sentence 1) and nothing from itself; the first sentence
    # sees one LOC vote from sentence 2 (a sentence-initial O token does not vote).
    assert feats[1][0] == ["doc=PER"]
    assert feats[0][2] == ["doc=LOC"]
    assert feats[1][2] == []  # "Bali" appears nowhere else
    assert feats[0][3] == []  # lower-case words get none
    assert document_features([["Budjana", "plays"]], [["B-PER", "O"]]) == [[[], []]]


def test_a_second_pass_model_is_optional(tmp_path: Path) -> None:
    for path in DEFAULT_MODEL_DIR.iterdir():
        if path.is_file() and path.name not in SECOND_PASS_FILES.values():
            shutil.copy(path, tmp_path / path.name)
    without = EntityRecognizer(tmp_path)
    text = "Joko Widodo tiba di Jakarta. Presiden Joko Widodo bertemu Anwar Ibrahim."
    assert without.extract(text, "id") == EntityRecognizer().extract(text, "id")
    assert "Boris Johnson" in _found(without.extract("Boris Johnson visited London.", "en"), "PER")


def test_a_sentence_without_document_evidence_keeps_its_first_pass_tags(recognizer: EntityRecognizer) -> None:
    tagger = recognizer._taggers["en"]
    assert tagger.second is not None, "the English model ships a second pass"
    words = ["Budjana", "played", "in", "Jakarta", "with", "Dewa", "Budjana", "."]
    assert tagger.tag([words]) == tagger.first.tag([words])
    document = [["I", "Wayan", "Budjana", "is", "a", "guitarist", "."], ["Budjana", "toured", "Japan", "."]]
    assert len(tagger.tag(document)) == 2


def test_threads_sharing_a_recogniser_get_the_answers_of_one_thread() -> None:
    texts = [f"Presiden Joko Widodo bertemu Menteri{i} Anwar{i} di Kota{i} ." for i in range(60)]
    alone = EntityRecognizer()
    expected = [alone.extract(text, "id") for text in texts]
    shared = EntityRecognizer()
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda text: shared.extract(text, "id"), texts)) == expected
