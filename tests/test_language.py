"""Behaviour tests for kabar_enrich.language (no data set needed)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT / "services" / "enrich") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "services" / "enrich"))

import numpy as np  # noqa: E402

from kabar_enrich.language import (  # noqa: E402
    MAX_ARTICLE_CHARS,
    LanguageDetector,
    LanguageGuess,
    SiblingModel,
    normalise,
    split_siblings,
    word_hashes,
)


def _seed_files() -> list[Path]:
    local = sorted((REPO_ROOT / "seeds").glob("*.txt"))
    return local or sorted((REPO_ROOT.parent / "shared" / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize("path", _seed_files(), ids=lambda p: p.name)
def test_seed_articles_are_confident_indonesian(detector: LanguageDetector, path: Path) -> None:
    guess = detector.detect(path.read_text(encoding="utf-8"))
    assert guess == LanguageGuess("id", guess.confidence, True)
    assert guess.confidence >= 0.95


def test_seeds_exist() -> None:
    assert _seed_files(), "no seed articles found in seeds/ or ../shared/seeds"


@pytest.mark.parametrize("text", ["", "   \n\t ", "😀🎉👍🏽 🔥", "12345 !!! ???", "\x00\ufffe"])
def test_no_letters_is_und(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == LanguageGuess("und", 0.0, False)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "Pemerintah berencana menaikkan harga bahan bakar minyak bersubsidi mulai pekan depan"
            " karena anggaran negara terbebani.",
            "id",
        ),
        ("Kerajaan akan memberi bantuan kepada rakyat yang terjejas akibat banjir, kata menteri itu.", "ms"),
        ("Awak tak boleh pergi ke sana seorang diri sebab bahaya.", "ms"),
        ("Aku arep lunga menyang pasar karo ibuku sesuk esuk.", "jv"),
        ("Abdi bade angkat ka pasar sareng indung abdi enjing.", "su"),
        ("The government will raise fuel prices starting next week.", "en"),
        ("Chính phủ sẽ tăng giá nhiên liệu bắt đầu từ tuần tới.", "vi"),
        ("Ang pamahalaan ay magtataas ng presyo ng gasolina simula sa susunod na linggo.", "tl"),
    ],
)
def test_core_languages(detector: LanguageDetector, text: str, code: str) -> None:
    guess = detector.detect(text)
    assert guess.code == code
    assert guess.reliable


def test_language_outside_training_set_falls_back(detector: LanguageDetector) -> None:
    text = "Prezydent spotkał się dzisiaj z przedstawicielami rządu w Warszawie, aby omówić budżet."
    assert detector.detect(text).code == "pl"


@pytest.mark.parametrize("text", ["Selamat pagi", "rumah", "ok", "Terima kasih banyak"])
def test_very_short_text_is_not_reliable(detector: LanguageDetector, text: str) -> None:
    assert not detector.detect(text).reliable


@pytest.mark.parametrize("text", ["a" * 200, "aaaa " * 40, "ab" * 100, "Aaa! Bbb? " * 10])
def test_text_of_a_few_letters_repeated_is_no_language(detector: LanguageDetector, text: str) -> None:
    assert not detector.detect(text).reliable  # "a" * 200 had been Somali, reliably


def test_mixed_language_text_is_not_reliable(detector: LanguageDetector) -> None:
    text = (
        "Presiden Joko Widodo said that the economy is growing. Ekonomi tumbuh lima persen tahun ini menurut data BPS."
    )
    assert not detector.detect(text).reliable


@pytest.mark.parametrize("text", ["ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎠᏂᏴᏫᏯ ᎤᏂᎦᏚ", "𐀀𐀁𐀂𐀃 𐀄𐀅"])
def test_unknown_script_is_not_reliable(detector: LanguageDetector, text: str) -> None:
    guess = detector.detect(text)
    assert not guess.reliable
    assert 0.0 <= guess.confidence <= 1.0


def test_huge_input_is_fast_and_valid(detector: LanguageDetector) -> None:
    start = time.perf_counter()
    guess = detector.detect("berita " * 150_000)  # ~1 MB of one repeated word
    assert time.perf_counter() - start < 0.5
    assert 0.0 <= guess.confidence <= 1.0
    assert guess.code.isalpha()


def test_detect_many_matches_detect(detector: LanguageDetector) -> None:
    texts = ["", "Selamat pagi, apa kabar hari ini semuanya?", "Good morning to all of you today."]
    assert detector.detect_many(texts) == [detector.detect(t) for t in texts]


def test_guess_is_immutable() -> None:
    guess = LanguageGuess("id", 0.9, True)
    with pytest.raises(AttributeError):
        guess.code = "ms"  # type: ignore[misc]


# A Bernama-style and a Kompas-style report of the same event: the marker words
# (kerana/karena, peratus/persen, syarikat/perusahaan, beliau) and number formats differ.
MALAY_NEWS = (
    "Polis Diraja Malaysia berkata syarikat itu telah disiasat kerana gagal membayar cukai berjumlah "
    "RM1,250,000 sejak tahun lepas. Menurut beliau, keuntungan syarikat meningkat 12.5 peratus selepas "
    "kerajaan mengumumkan bantuan baharu semasa sidang media di Putrajaya semalam."
)
INDONESIAN_NEWS = (
    "Polisi mengatakan perusahaan itu telah diselidiki karena gagal membayar pajak sebesar Rp1.250.000.000 "
    "sejak tahun lalu. Menurut dia, keuntungan perusahaan naik 12,5 persen setelah pemerintah mengumumkan "
    "bantuan baru saat konferensi pers di Jakarta kemarin."
)
ENGLISH_QUOTE = (
    "\"We are cooperating fully with the authorities and expect the matter to be resolved within weeks,\" "
    "the company's chief executive said in a statement released on Tuesday evening."
)


def test_malaysian_and_indonesian_news_paragraphs(detector: LanguageDetector) -> None:
    malay, indonesian = detector.detect(MALAY_NEWS), detector.detect(INDONESIAN_NEWS)
    assert (malay.code, malay.reliable) == ("ms", True)
    assert (indonesian.code, indonesian.reliable) == ("id", True)


def test_article_in_one_language_reports_no_other_paragraph(detector: LanguageDetector) -> None:
    article = "\n\n".join([INDONESIAN_NEWS] * 3)
    result = detector.detect_article(article)
    assert result.guess.code == "id" and result.guess.reliable
    assert result.other_paragraphs == ()


@pytest.mark.parametrize(("body", "code"), [(MALAY_NEWS, "ms"), (INDONESIAN_NEWS, "id")])
def test_mixed_article_reports_its_language_and_the_other_paragraph(
    detector: LanguageDetector, body: str, code: str
) -> None:
    article = f"{body}\n\n{ENGLISH_QUOTE}\n\n{body}"
    result = detector.detect_article(article)
    assert result.guess.code == code and result.guess.reliable
    [quote] = result.other_paragraphs
    assert quote.guess.code == "en" and quote.guess.reliable
    assert article[quote.start : quote.end] == ENGLISH_QUOTE


def test_article_language_comes_from_all_of_the_text(detector: LanguageDetector) -> None:
    # Over 1,000 characters of English lead (all that used to be read) before a longer Malay body.
    article = "\n".join([ENGLISH_QUOTE] * 6 + [MALAY_NEWS] * 20)
    assert detector.detect(article[:1000]).code == "en"
    result = detector.detect_article(article)
    assert result.guess.code == "ms" and result.guess.reliable
    assert result.other_paragraphs and {p.guess.code for p in result.other_paragraphs} == {"en"}


def test_half_and_half_article_is_not_reliable(detector: LanguageDetector) -> None:
    article = "\n\n".join([INDONESIAN_NEWS, ENGLISH_QUOTE * 2])
    guess = detector.detect_article(article).guess
    assert not guess.reliable


def test_short_paragraphs_are_never_reported_as_another_language(detector: LanguageDetector) -> None:
    article = "\n".join([INDONESIAN_NEWS, "Read more", "OK", INDONESIAN_NEWS])
    assert detector.detect_article(article).other_paragraphs == ()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Der Bundestag hat am Donnerstag ein neues Gesetz zur Förderung erneuerbarer Energien beschlossen.", "de"),
        ("Le gouvernement a annoncé mardi une hausse du prix de l'essence à partir de la semaine prochaine.", "fr"),
        ("El gobierno anunció el martes un aumento del precio de la gasolina a partir de la próxima semana.", "es"),
    ],
)
def test_other_languages_are_not_forced_into_indonesian_or_malay(
    detector: LanguageDetector, text: str, code: str
) -> None:
    assert detector.detect(text).code == code


@pytest.mark.parametrize(
    ("paragraphs", "code"),
    [
        (["Polisen har inlett en särskild händelse efter att en kvinna försvann i tisdags.",
          "Hon sågs senast vid busstationen i centrum, och familjen ber allmänheten om hjälp.",
          "Polisen vill att alla som har sett henne hör av sig."], "sv"),
        (["Irańska agencja informacyjna twierdzi, że Teheran nie weźmie udziału w drugiej rundzie rozmów.",
          "Powodem mają być wygórowane żądania Waszyngtonu, napisała agencja w niedzielę.",
          "Wcześniej prezydent powiedział, że rozmowy odbędą się w przyszłym tygodniu."], "pl"),
        (["Lögreglan leitar nú að ungri konu sem hvarf á þriðjudaginn í miðbænum.",
          "Hún sást síðast við strætóstöðina og fjölskyldan biður almenning um aðstoð.",
          "Þeir sem hafa upplýsingar eru beðnir um að hafa samband við lögregluna."], "is"),
    ],
)
def test_a_whole_article_in_a_language_outside_the_model_is_named_as_such(
    detector: LanguageDetector, paragraphs: list[str], code: str
) -> None:
    # Swedish, Polish and Icelandic news had been "en", "en" and "id" (confidence 0.6-0.76, unreliable),
    # and their text went through that language's entity recogniser.
    guess = detector.detect_article("\n\n".join(paragraphs)).guess
    assert (guess.code, guess.reliable) == (code, True)


def test_long_article_is_judged_across_its_length(detector: LanguageDetector) -> None:
    # Past MAX_ARTICLE_CHARS the budget is shared out over the paragraphs, so a Malay
    # body after a long English preamble still counts.
    english = [ENGLISH_QUOTE] * (MAX_ARTICLE_CHARS // len(ENGLISH_QUOTE))
    malay = [MALAY_NEWS] * (2 * MAX_ARTICLE_CHARS // len(MALAY_NEWS))
    result = detector.detect_article("\n".join(english + malay))
    assert result.guess.code == "ms"
    assert {p.guess.code for p in result.other_paragraphs} == {"en"}


def test_every_paragraph_of_a_long_article_gets_its_own_guess(detector: LanguageDetector) -> None:
    # Far over the budget, the one English paragraph in the middle is still found.
    body = [MALAY_NEWS * 4] * 4
    article = "\n\n".join([*body[:2], ENGLISH_QUOTE * 2, *body[2:]])
    assert len(article) > 3 * MAX_ARTICLE_CHARS  # the quote is a small part
    result = detector.detect_article(article)
    assert result.guess.code == "ms" and result.guess.reliable
    [quote] = result.other_paragraphs
    assert quote.guess.code == "en"
    assert article[quote.start : quote.end] == ENGLISH_QUOTE * 2


# Single news sentences, where the 35-language model alone confused the two: the words
# (temu bual, kerajaan, mendapati, ejen / wawancara, pemerintah, menemukan, agen) decide.
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Menteri itu membuat kenyataan tersebut dalam temu bual bersama wartawan di Kuala Lumpur semalam.", "ms"),
        ("Siasatan awal mendapati ejen hartanah itu menipu lebih 30 pembeli rumah di Johor Bahru.", "ms"),
        ("Menteri itu menyampaikan pernyataan tersebut dalam wawancara dengan wartawan di Jakarta kemarin.", "id"),
        ("Penyelidikan awal menemukan agen properti itu menipu lebih dari 30 pembeli rumah di Surabaya.", "id"),
    ],
)
def test_single_sentences_of_malaysian_and_indonesian_news(detector: LanguageDetector, text: str, code: str) -> None:
    guess = detector.detect(text)
    assert (guess.code, guess.reliable) == (code, True)  # the Malay ones were unsure (0.68-0.80) before


def test_word_model_leans_on_the_words_of_each_side() -> None:
    model = SiblingModel.load(Path(__file__).resolve().parents[1] / "services" / "enrich" / "kabar_enrich"
                              / "models" / "langid" / "model.npz")

    def log_odds(words: str) -> float:
        return model.raw_log_odds(word_hashes(normalise(words))[0])

    for malay, indonesian in (("kerana", "karena"), ("kerajaan", "pemerintah"), ("selepas", "setelah")):
        assert log_odds(malay) > 0 > log_odds(indonesian), (malay, indonesian)
    assert 0.0 < model.malay_share(word_hashes(normalise("rumah"))[0]) < 1.0


def test_word_model_weighs_the_main_model_s_view_too() -> None:
    model = SiblingModel.load(Path(__file__).resolve().parents[1] / "services" / "enrich" / "kabar_enrich"
                              / "models" / "langid" / "model.npz")
    words = word_hashes(normalise("rumah itu besar"))[0]  # words both languages share
    # The main model's Malay-minus-Indonesian score (n-grams, markers, number formats)
    # moves the split between the two when the words alone do not settle it.
    assert model.malay_share(words, main_margin=-3.0) < model.malay_share(words) < model.malay_share(words, 3.0)


def test_split_siblings_moves_only_the_pair_s_share() -> None:
    probs = np.asarray([0.6, 0.3, 0.1], dtype=np.float32)  # id, ms, jv
    out = split_siblings(probs, malay_share=0.75, pair=(0, 1))
    assert out == pytest.approx([0.225, 0.675, 0.1])
    assert out.sum() == pytest.approx(1.0)
    assert probs[0] == pytest.approx(0.6)  # the input is left as it was
