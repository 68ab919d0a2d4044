"""Ingest: reading files, cleaning page furniture, titles and stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from bad_inputs.generate import UNSAFE_CHARS
from kabar.contract.failures import PermanentError
from kabar.contract.messages import RawDocument
from kabar_ingest.cleaning import clean_text, clean_title, cut_at_word, is_furniture
from kabar_ingest.identity import InvalidUrl, article_id, canonical_url, content_hash
from kabar_ingest.reader import MAX_TITLE_CHARS, read_path, sanitize, without_unsafe_references
from kabar_ingest.stage import build_article
from kabar_ingest.titles import site_keys, without_site_name

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
FURNITURE = [
    "ARTICLE AD BOX", "Loading...", "Advertisement . Scroll to see content", "Iklan - Scroll untuk Melanjutkan",
    "Baca Juga: Manfaat Skinbooster", "Simak Juga: Benang Merah Baru", "This website uses cookies.",
    "Read Next : Indonesia Kerja Sama dengan Rusia", "Get iNews App with new looks!", "Share:",
    "Baca artikel IDN Times lainnya di IDN App", "Intinya sih...",
    "Menteri Luar Negeri Rusia, Sergey Lavrov. (twitter.com/@RusEmbJakarta)",
    "Sergei Lavrov (kanan) berterima kasih kepada Korut (Foto: Kemlu Rusia via Reuters)",
    "Petugas memadamkan api di Pasar Senen, Jakarta. (ANTARA FOTO/Aprillio Akbar)",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_lines_are_recognised(line: str) -> None:
    assert is_furniture(line)
    assert is_furniture(f"“{line}”")


@pytest.mark.parametrize("line", [
    "Lavrov berjumpa dengan mitranya di Wonsan, sebuah kota di pesisir timur negara itu.",
    "Intelijen Korea Selatan menyatakan Korut mungkin bersiap mengirim tambahan pasukan.",
    # A source credited after prose, and a credit inside a sentence, are not a photo's caption.
    "Tubuh sedang mengembangkan kemampuan untuk mengidentifikasi emosi masing-masing. (Health.com)",
    "Polisi menyebut foto itu (foto: istimewa) palsu dan pelakunya sudah ditangkap.",
    "Jakarta -",
])
def test_article_prose_is_kept(line: str) -> None:
    assert not is_furniture(line)


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda path: path.name[:3])
def test_seed_cleaning_removes_furniture_and_keeps_the_story(seed: Path) -> None:
    cleaned = clean_text(seed.read_text(encoding="utf-8"))
    for line in cleaned.text.splitlines():
        assert not is_furniture(line), line
    for footer in ("Editor: Anton Suhartono", "EditorRama", "(ygs/imk)", "Follow WhatsApp Channel"):
        assert footer not in cleaned.text
    assert "Lavrov" in cleaned.text
    assert cleaned.title and "\n" not in cleaned.title
    assert len(cleaned.text) > 1000


def test_titles_of_seeds_with_a_headline() -> None:
    assert clean_text((SEEDS / "000_0dc7af725f29fc38.txt").read_text()).title.startswith("Menlu Rusia Bertemu Kim")
    title_004 = clean_text((SEEDS / "004_425ca9fc8973de33.txt").read_text()).title
    assert title_004 == "Rusia Berterima Kasih ke Korut karena Dukung Operasi Militer di Ukraina"
    # The page's section after a pipe is not the headline, and the headline line leaves the body whole.
    cleaned_001 = clean_text((SEEDS / "001_546dc01b2ce7994a.txt").read_text())
    assert cleaned_001.title == "Lavrov Rusia Temui Kim Jong Un di Korea Utara dengan Perang Ukraina di Depan Mata"
    assert "Berita Perang Rusia-Ukraina" not in cleaned_001.text


@pytest.mark.parametrize(("title", "sites", "headline"), [
    ("Polisi Tangkap Pencuri di Bekasi - Kompas.com", ["Kompas.com", "kompas.com"], "Polisi Tangkap Pencuri di Bekasi"),
    ("Polisi Tangkap Pencuri di Bekasi | KOMPAS", ["kompas.com"], "Polisi Tangkap Pencuri di Bekasi"),
    ("Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung", ["boersen-zeitung.de"], "Steigende US-Zinsen setzen Dax zu"),
    ("Ziele, Chancen, Risiken | DW | 28.04.2023", ["DW", "dw.com"], "Ziele, Chancen, Risiken"),
    ("Diario HOY | Darán bendición a vehículos", ["Diario HOY", "hoy.com.py"], "Darán bendición a vehículos"),
    ("南海トラフ、一時調査 巨大地震：中日新聞Web", ["中日新聞Web", "chunichi.co.jp"], "南海トラフ、一時調査 巨大地震"),
    ("Pferdesport bei Olympia 2028 dabei -", ["reiterrevue.de"], "Pferdesport bei Olympia 2028 dabei"),
    # A dash or a colon inside the headline stays; so does a pipe segment when the site is known and it is not it.
    ("Rusia - Ukraina Sepakat Gencatan Senjata", ["Kompas.com", "kompas.com"],
     "Rusia - Ukraina Sepakat Gencatan Senjata"),
    ("Jokowi - Prabowo Bertemu di Istana - Kompas.com", ["kompas.com"], "Jokowi - Prabowo Bertemu di Istana"),
    ("Landtagswahl in Thüringen: Voigt, Höcke und der Vorwurf", ["WELT", "welt.de"],
     "Landtagswahl in Thüringen: Voigt, Höcke und der Vorwurf"),
    ("Vierschanzentournee | Beleidigen und beschuldigen", ["sport.orf.at"],
     "Vierschanzentournee | Beleidigen und beschuldigen"),
    # Without a site (a text file), a short segment after a pipe is a section; a long one is not taken off.
    ("Harga Emas Naik Lagi Hari Ini | Ekonomi", [], "Harga Emas Naik Lagi Hari Ini"),
    ("Banjir | Warga Jakarta Utara Mengungsi ke Masjid dan Sekolah Terdekat", [],
     "Banjir | Warga Jakarta Utara Mengungsi ke Masjid dan Sekolah Terdekat"),
    ("Kompas.com", ["kompas.com"], "Kompas.com"),  # nothing but the site's name: kept, not emptied
])
def test_titles_lose_the_site_name_section_and_date(title: str, sites: list[str], headline: str) -> None:
    assert without_site_name(title, site_keys(sites)) == headline


def test_a_pushed_page_title_loses_its_site_name() -> None:
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in (SEEDS / "004_425ca9fc8973de33.txt").read_text()
                         .split("\n\n")[5:12])
    html = ('<html><head><title>Rusia Berterima Kasih ke Korut | iNews</title>'
            '<meta property="og:site_name" content="iNews"></head>'
            f"<body><article>{paragraphs}</article></body></html>")
    article = build_article(RawDocument(source="push", format="html", content=html, url="https://www.inews.id/a/1"))
    assert article.title == "Rusia Berterima Kasih ke Korut"


def test_canonical_url_drops_tracking_and_normalises() -> None:
    left = canonical_url("HTTPS://www.Example.com:443/news/a/?utm_source=x&b=2&a=1#top")
    assert left == "https://example.com/news/a?a=1&b=2"
    assert article_id(left, "x") == article_id(canonical_url("https://example.com/news/a?b=2&a=1&fbclid=z"), "y")


@pytest.mark.parametrize("url", ["ftp://example.com/a", "https://user:pw@example.com/a", "javascript:alert(1)", "/a"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidUrl):
        canonical_url(url)


def test_content_hash_ignores_case_and_spacing() -> None:
    assert content_hash("Judul", "Satu  dua\ntiga") == content_hash("judul", "satu dua tiga")
    assert content_hash("Judul", "satu dua") != content_hash("Judul", "satu tiga")


def test_article_without_url_is_identified_by_its_text() -> None:
    raw = RawDocument(source="t", format="text", content=(SEEDS / "001_546dc01b2ce7994a.txt").read_text())
    article = build_article(raw)
    assert article.id == article.content_hash
    assert article.url is None


def test_article_with_credentials_in_url_is_a_permanent_error() -> None:
    raw = RawDocument(source="t", format="text", content="Judul berita\n\n" + "isi berita " * 20,
                      url="https://user:secret@example.com/x")
    with pytest.raises(PermanentError, match="credentials"):
        build_article(raw)


def test_html_page_is_extracted() -> None:
    body = "".join(f"<p>Paragraf {i}: Menteri Luar Negeri Rusia bertemu Kim Jong Un di Wonsan hari ini.</p>"
                   for i in range(8))
    html = (f"<html><head><title>Lavrov di Wonsan</title></head><body><nav>Home | Berita</nav>"
            f"<article><h1>Lavrov di Wonsan</h1>{body}</article><footer>Copyright</footer></body></html>")
    article = build_article(RawDocument(source="t", format="html", content=html, url="https://example.com/a"))
    assert "Kim Jong Un" in article.text
    assert "Home | Berita" not in article.text
    assert article.title == "Lavrov di Wonsan"
    assert article.source_domain == "example.com"


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"", "empty file"),
    ("latin1.txt", "Berita café".encode("cp1252"), "not valid UTF-8"),
    ("blob.txt", bytes(range(256)) * 4, "binary file"),
    ("spaces.txt", b"  \n\t \n", "only whitespace"),
    ("bad.json", b'{"text": 5}', "non-empty string"),
    ("extra.json", b'{"text": "isi", "colour": "red"}', "unknown fields: colour"),
    ("broken.json", b'{"text": ', "invalid JSON"),
    ("image.png", b"\x89PNG....", "unsupported file type"),
])
def test_bad_files_get_one_clear_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = read_path(path, max_bytes=1_000_000)
    assert result.documents == []
    assert result.error is not None and reason in result.error


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"kata " * 300_000)
    result = read_path(path, max_bytes=1_000_000)
    assert result.error is not None and "over the 1.0 MB limit" in result.error


# ---- titles: one line of visible text, of a sane length, whatever the source sent ----

STORY = ("Pemerintah kota menyiapkan pompa air tambahan menjelang musim hujan.\tWarga diminta waspada.\n\n"
         "Kepala dinas mengatakan perbaikan tanggul akan rampung pekan depan.\n\n"
         "Relawan menyiapkan posko pengungsian di gedung sekolah dan balai warga.")
LONG_TITLE = "Judul sangat panjang " * 500  # the bad-input corpus's 10k-character title


def queued(title: str | None, content: str = STORY, fmt: str = "text") -> RawDocument:
    """A message another producer put straight on the ingest queue: no reader checked it."""
    return RawDocument.model_validate({"source": "push", "format": fmt, "content": content, "title": title,
                                       "url": "https://kabar.test/judul"})


def test_control_and_bidi_characters_leave_the_title() -> None:
    dirty = "Judul\x1b[31m berwarna\x07 \u202edengan\u202c pembalik \u2066arah\u2069" + UNSAFE_CHARS
    assert clean_title(dirty) == "Judul berwarna dengan pembalik arah"
    for char in UNSAFE_CHARS + "\x9b\u2067\u2068":
        assert char not in clean_title(f"Banjir{char} di Jakarta"), repr(char)


def test_title_whitespace_is_collapsed_to_single_spaces() -> None:
    assert clean_title("  Banjir\t di \n\n Jakarta\u00a0\u2028 utara\r\n ") == "Banjir di Jakarta utara"


def test_a_long_title_is_cut_at_a_word_with_an_ellipsis() -> None:
    title = clean_title(LONG_TITLE)
    assert len(title) <= MAX_TITLE_CHARS and title.endswith("…")
    kept = title.removesuffix("…")
    assert LONG_TITLE.startswith(kept) and LONG_TITLE[len(kept)] == " "  # whole words only
    assert len(kept) > MAX_TITLE_CHARS - len("panjang ") - 2  # and nothing more left out than a word


def test_the_cut_keeps_what_fits_and_cuts_unspaced_text_where_it_must() -> None:
    fits = ("a" * 9 + " ") * 99 + "a" * 10
    assert len(fits) == MAX_TITLE_CHARS and clean_title(fits) == fits
    assert clean_title(fits + "b") == fits[:-11] + "…"  # the last word did not fit whole
    assert cut_at_word("x" * 5000, MAX_TITLE_CHARS) == "x" * (MAX_TITLE_CHARS - 1) + "…"
    assert cut_at_word("Judul berita hari ini", 13) == "Judul berita…"


def test_a_queued_document_gets_a_clean_short_title_and_keeps_its_text() -> None:
    plain = build_article(queued(None))
    dirty = build_article(queued("\u202e" + LONG_TITLE + "\x07"))
    assert len(dirty.title) <= MAX_TITLE_CHARS and dirty.title.startswith("Judul sangat panjang Judul")
    assert "\u202e" not in dirty.title and "\x07" not in dirty.title
    assert dirty.text == plain.text == STORY  # the body, its tab and paragraphs, untouched by the title's cleaning


def test_a_title_of_only_invisible_characters_is_taken_from_the_text() -> None:
    article = build_article(queued("\u202e\u2066 \x07\t\u2069"))
    assert article.title.startswith("Pemerintah kota menyiapkan pompa air") and "\t" not in article.title


def test_the_headline_line_leaves_the_body_even_when_its_title_was_cleaned() -> None:
    cleaned = clean_text(f"Banjir  di\u202e Jakarta utara\n\n{STORY}", "Banjir di Jakarta utara")
    assert cleaned.title == "Banjir di Jakarta utara"
    assert "Banjir" not in cleaned.text and cleaned.text.startswith("Pemerintah kota")


def test_invisible_marks_inside_words_leave_title_and_text() -> None:
    # As pasted news has them: a soft hyphen, a zero-width space, a word joiner, a left-to-right mark.
    dirty = "Pre\u200bsiden Jo\u00adko Wi\u2060dodo di Ja\u200ekarta"
    article = build_article(queued(dirty, f"{dirty}\n\n{STORY}"))
    assert article.title == "Presiden Joko Widodo di Jakarta"
    assert article.text == STORY  # the headline line was found and left the body, marks and all


@pytest.mark.parametrize("reference", ["&#11;", "&#x8;", "&#31;", "&#127;", "&#x202E;", "&#8203;", "&shy;"])
def test_a_character_reference_to_a_control_or_invisible_character_does_not_cost_the_page(reference: str) -> None:
    # One "&#11;" (a vertical tab from a word processor) made the HTML parser drop the whole page's text.
    paragraphs = "".join(f"<p>{line}</p>" for line in STORY.split("\n\n")).replace("pompa air", f"pompa{reference}air")
    html = f"<html><head><title>Banjir</title></head><body><article>{paragraphs}</article></body></html>"
    article = build_article(queued(None, html, "html"))
    assert "Relawan menyiapkan posko" in article.text
    assert all(sanitize(char) for char in article.text), repr(article.text)


def test_an_en_dash_by_its_windows_1252_reference_stays() -> None:
    assert without_unsafe_references("a &#150; b &#x96; c &#11; d &#xD800; e") == "a &#150; b &#x96; c  d &#xD800; e"


def test_a_one_sentence_text_is_its_own_title_and_body() -> None:
    flash = "Gempa bermagnitudo 5,6 mengguncang Cianjur, warga berhamburan ke luar rumah."
    article = build_article(queued(None, flash))
    assert article.title == article.text == flash
    with pytest.raises(PermanentError, match="no article text"):
        build_article(queued(None, "Judul\n\nok"))  # a title and two letters are still no article
    headline_only = "<html><head><title>Banjir melanda Jakarta utara pagi ini</title></head><body><article>" \
                    "<h1>Banjir melanda Jakarta utara pagi ini</h1></article></body></html>"
    with pytest.raises(PermanentError, match="no article text"):  # a page's headline is not its text
        build_article(queued(None, headline_only, "html"))


def test_an_html_page_with_a_10k_character_title() -> None:
    paragraphs = "".join(f"<p>{line}</p>" for line in STORY.split("\n\n"))
    html = f"<html><head><title>{LONG_TITLE}</title></head><body><article>{paragraphs}</article></body></html>"
    article = build_article(queued(None, html, "html"))
    assert len(article.title) <= MAX_TITLE_CHARS and article.title.endswith("…")
    assert LONG_TITLE.startswith(article.title.removesuffix("…") + " ")
    assert "Relawan menyiapkan posko" in article.text
