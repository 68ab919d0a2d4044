"""Ingest cleaning: "Baca Juga: …" and its kin never reach the text enrich sees (files, pushes, pages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SEEDS, run_kabar
from kabar_ingest.cleaning import clean_text, is_furniture, related_link
from kabar_ingest.reader import read_documents
from kabar_ingest.stage import build_article
from kabar_search.sqlite_backend import SqliteBackend
from test_push import Api

RELATED_LINES = [
    # Indonesian
    "Baca Juga: Manfaat Skinbooster Rejuran untuk Kecantikan Kulit Wajah",
    "BACA JUGA: Timnas Indonesia Kalahkan Vietnam 3-0",
    "Baca juga : Harga Beras Naik Jelang Lebaran",
    "Simak Juga: Benang Merah Baru dalam Kasus Kematian Diplomat Muda Kemlu",
    "Lihat Juga: Banjir Rendam Ribuan Rumah di Bekasi",
    "Tonton juga video: Detik-detik Gempa Guncang Cianjur",
    "MEMBACA  Penutupan 2 Pintu Masuk Perbatasan Gaza oleh Israel Menimbulkan Kekhawatiran",
    "Baca: Jokowi Resmikan Tol Trans Jawa",
    "Artikel Terkait: KPK Periksa Bupati Sidoarjo",
    "Berita Terkait",
    "Berita Lainnya: Prabowo Kunjungi Surabaya",
    "Baca artikel detiknews lainnya di sini",
    "Simak Video Pilihan di Bawah Ini:",
    "Tonton Video: Kebakaran Hebat di Pasar Senen",
    "Baca Artikel Sumber",
    "Baca berita selengkapnya di sini",
    "Pilihan Editor: Gempa Guncang Cianjur",
    "Dapatkan update berita pilihan dan breaking news setiap hari dari Kompas.com",
    "Ikuti kami di WhatsApp Channel",
    'Artikel ini telah tayang di Kompas.com dengan judul "Gempa Guncang Cianjur"',
    "[Gambas:Video 20detik]",
    "[Baca Juga: Mereka, Para Penampil Terbaik Juventus di Liga Champions Musim Ini]",
    "(Baca: Jusuf Kalla ingin prestasi di Asian Games 2018 meningkat)",
    # Malay
    "Baca lagi: Anwar Umum Bajet 2026",
    "Berita Berkaitan: Polis Tahan Tiga Suspek di Johor Bahru",
    "Artikel berkaitan",
    "Anda mungkin juga berminat: Banjir Kilat Landa Kuala Lumpur",
    # English
    "Read Next : Indonesia Kerja Sama dengan Rusia, Bikin Kapal Cepat Ramah Lingkungan",
    "Read more: Ukraine war latest",
    "Also read: Kim Jong Un meets Lavrov in Wonsan",
    "READ ALSO: Floods hit Jakarta",
    "Related: Anwar tables 2026 budget",
    "Related Articles",
    "See also",
    "You may also like",
]
PROSE = [
    "Membaca buku adalah kegiatan yang menyenangkan bagi anak-anak.",
    "Terkait hal itu, polisi masih menyelidiki kasus tersebut.",
    "Terkait Kasus Korupsi, KPK Periksa Bupati",  # a headline that starts with "Terkait" stays
    "Lihat saja hasilnya nanti, kata dia.",
    "Read the full report on the ministry's website.",
    "Related parties must disclose the transactions, the regulator said.",
    "Berkaitan dengan itu, menteri meminta semua pihak tenang.",
    "(Lihat saja hasilnya nanti, kata dia.)",
    "Pilihan editor jatuh pada foto seorang nelayan di Cilacap.",
    "Artikel ini menjelaskan cara kerja vaksin.",
]
LINKED = ("Timnas Indonesia Kalahkan Vietnam", "Perbatasan Gaza", "Harga Beras Naik", "Anwar Umum Bajet",
          "Floods hit Jakarta", "KPK Periksa Bupati", "Banjir Rendam")
STORY = ("Presiden Prabowo Subianto mengunjungi Surabaya, Jawa Timur, pada Senin untuk meresmikan proyek "
         "pelabuhan baru yang dibangun selama tiga tahun. Proyek itu menelan biaya Rp 4 triliun.")
LATER = ("Gubernur Jawa Timur Khofifah Indar Parawansa mengatakan pelabuhan itu akan membuka ribuan lapangan "
         "kerja bagi warga di sekitar Surabaya dan Gresik.")


@pytest.mark.parametrize("line", RELATED_LINES)
def test_related_article_lines_are_furniture(line: str) -> None:
    assert is_furniture(line)
    assert is_furniture(f"“{line}”")
    assert is_furniture(f"• {line}")


@pytest.mark.parametrize("line", PROSE)
def test_prose_that_starts_like_a_marker_is_kept(line: str) -> None:
    assert related_link(line) is None
    assert not is_furniture(line)


def article_text() -> str:
    """An article as scraped: related-article links between its paragraphs, in every form."""
    return "\n\n".join([
        "Prabowo Resmikan Pelabuhan Baru di Surabaya",
        STORY,
        "Baca Juga: Timnas Indonesia Kalahkan Vietnam 3-0",
        "MEMBACA  Penutupan 2 Pintu Masuk Perbatasan Gaza oleh Israel",
        "Baca Juga:",  # a bare marker: the headlines it links to follow on their own lines
        "Harga Beras Naik Jelang Lebaran",
        "- KPK Periksa Bupati Sidoarjo",
        LATER,
        "Berita Berkaitan: Anwar Umum Bajet 2026",
        "READ ALSO: Floods hit Jakarta",
        "Banjir Rendam Ribuan Rumah, Warga Mengungsi",  # not under a marker: a headline-like line of the article
        "Pelabuhan itu dijadwalkan mulai beroperasi penuh pada akhir tahun ini, kata Khofifah.",
    ])


def assert_clean(text: str) -> None:
    assert STORY in text and LATER in text
    assert "kata Khofifah" in text
    for headline in LINKED[:-1]:
        assert headline not in text, headline
    for marker in ("Baca Juga", "MEMBACA", "Berkaitan", "READ ALSO"):
        assert marker not in text, marker


def test_cleaning_drops_the_links_and_the_headlines_under_a_bare_marker() -> None:
    cleaned = clean_text(article_text())
    assert cleaned.title == "Prabowo Resmikan Pelabuhan Baru di Surabaya"
    assert_clean(cleaned.text)
    assert "Banjir Rendam Ribuan Rumah, Warga Mengungsi" in cleaned.text


INLINE = [  # (paragraph as a scraper flattened it, what must stay)
    ("Pemesanan dibuka di toko ritel. Baca juga: Samsung Galaxy S8 Plus Punya Varian RAM 6 GB Selain itu, "
     "Samsung akan menghadirkan pembaruan.",
     "Pemesanan dibuka di toko ritel. Selain itu, Samsung akan menghadirkan pembaruan."),
    ("Pusat riset dibuka di Jakarta, Kamis (30/3). Baca juga: Apple Investasi Rp 586 Miliar di Indonesia Demi "
     "Jualan iPhone Menurut Airlangga, pusat riset itu mengembangkan aplikasi.",
     "Pusat riset dibuka di Jakarta, Kamis (30/3). Menurut Airlangga, pusat riset itu mengembangkan aplikasi."),
    ("Icardi menjalankan tugasnya dengan sempurna. SIMAK JUGA - Antonio Cassano: Juventus Tangguh, Tapi Inter Juara",
     "Icardi menjalankan tugasnya dengan sempurna."),
    ("Polisi menangkap dua orang. [Baca juga: Polisi Tangkap Bandar Narkoba di Medan] Keduanya kini ditahan.",
     "Polisi menangkap dua orang. Keduanya kini ditahan."),
    ("The river burst its banks. Read also: Floods Hit Jakarta as Rivers Burst The mayor said on Monday he would "
     "help.", "The river burst its banks. The mayor said on Monday he would help."),
    # Prose, and a link whose end cannot be told from the prose after it, are left as written.
    ("Ia tersenyum. Lihat juga kemasannya yang indah, tulisnya.",
     "Ia tersenyum. Lihat juga kemasannya yang indah, tulisnya."),
    ("Ia pergi. Baca juga: harga cabai naik di pasar. Lalu ia membeli cabai.",
     "Ia pergi. Baca juga: harga cabai naik di pasar. Lalu ia membeli cabai."),
]


@pytest.mark.parametrize(("paragraph", "kept"), INLINE)
def test_links_inside_a_paragraph_are_cut_out(paragraph: str, kept: str) -> None:
    text = f"Judul Berita Hari Ini di Jakarta\n\n{paragraph}\n\nParagraf terakhir berita ini cukup panjang."
    assert clean_text(text).text.split("\n\n")[0] == kept


def test_a_file_in_a_folder_is_ingested_without_its_links(embedded_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "artikel.txt").write_text(article_text(), encoding="utf-8")
    result = run_kabar(["ingest", str(folder)], embedded_env)
    assert result.returncode == 0, result.stderr
    backend = SqliteBackend(Path(embedded_env["KABAR_DATA_DIR"]) / "search.sqlite3")
    [stored] = backend.recent(5)
    backend.close()
    assert_clean(stored["text"])


@pytest.mark.parametrize("seed", ["001_546dc01b2ce7994a.txt", "002_46c93247f30203d2.txt",
                                  "004_425ca9fc8973de33.txt"])
def test_seed_links_do_not_reach_enrich(seed: str) -> None:
    [document] = read_documents(SEEDS / seed, 1_000_000)
    text = build_article(document).text
    for linked in ("Perbatasan Gaza", "Skinbooster", "Diplomat Muda Kemlu", "Bikin Kapal Cepat"):
        assert linked not in text


def article_page() -> str:
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in (STORY, LATER))
    return f"""<!doctype html><html><head><title>Prabowo Resmikan Pelabuhan Baru di Surabaya</title>
<meta property="article:published_time" content="2025-07-12T10:00:00+07:00"></head><body>
<article><h1>Prabowo Resmikan Pelabuhan Baru di Surabaya</h1>
<p>{STORY}</p>
<p><strong>Baca Juga:</strong> <a href="/a">Timnas Indonesia Kalahkan Vietnam 3-0</a></p>
<p>MEMBACA  Penutupan 2 Pintu Masuk Perbatasan Gaza oleh Israel</p>
<div class="related"><p>Artikel Terkait</p><ul><li><a href="/b">Harga Beras Naik Jelang Lebaran</a></li>
<li><a href="/c">KPK Periksa Bupati Sidoarjo</a></li></ul></div>
<p>{LATER}</p>
<p>Read Next: <a href="/d">Anwar Umum Bajet 2026</a></p>
<p>READ ALSO: <a href="/e">Floods hit Jakarta</a></p>
<p>Pelabuhan itu dijadwalkan mulai beroperasi penuh pada akhir tahun ini, kata Khofifah.</p>
{paragraphs}</article></body></html>"""


@pytest.fixture
def push_api(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[Api]:
    env = {**embedded_env, "KABAR_API_KEY": "kunci-rahasia-push"}
    running = Api(env, tmp_path)
    yield running
    running.process.stop()


def test_pushed_text_and_pages_are_stored_without_their_links(push_api: Api) -> None:
    pushed_text = push_api.post("/articles", json={"text": article_text(), "url": "https://berita.example.id/1"})
    pushed_page = push_api.post("/articles", content=article_page().encode(), headers={
        "Content-Type": "text/html; charset=utf-8", "X-Kabar-Url": "https://berita.example.id/2"})
    for response in (pushed_text, pushed_page):
        assert response.status_code == 202, response.text
        [pushed] = response.json()["articles"]
        stored = push_api.get(f"/articles/{pushed['id']}").json()
        assert_clean(stored["text"])
        names = {entity["canonical"] for entity in stored["entities"]}
        assert "Gaza" not in " ".join(names) and "Vietnam" not in names and "Bekasi" not in names
