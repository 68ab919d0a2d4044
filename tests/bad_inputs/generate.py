"""The bad-input corpus: files kabar must refuse with one clear reason, or repair, while the rest
of the batch carries on.

    python tests/bad_inputs/generate.py OUT_DIR      # writes every case (about 21 MB) into OUT_DIR

Nothing here is committed but this script: the tests generate the corpus into a temporary
directory (the 20 MB file included) and check each case's outcome through ``kabar ingest``,
in the embedded mode and through the services (Redis, Celery workers, Elasticsearch or OpenSearch).

Each case says what must happen to it:
- ``refused``: ``kabar ingest`` prints ``error: FILE: REASON`` and queues nothing from it;
- ``dead-letter``: the file is well-formed, so it is read and queued, but a stage cannot
  process it: it ends in the dead-letter store with REASON (embedded mode also prints it);
- ``indexed``: bad in a way kabar repairs (control characters, bidi overrides, no title,
  a date without a time zone): it is indexed, repaired.

Not here, because they belong to the feeds issue (not built yet when this was written):
billion-laughs XML, 100 MB feeds, redirect loops, SSRF through feed URLs.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Expect = Literal["refused", "dead-letter", "indexed"]
UNSAFE_CHARS = "\x00\x07\x08\x0b\x1b\x7f\x85\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BASE_URL = "https://bad-inputs.kabar.test"

_SENTENCES = [
    "Pemerintah kota menyiapkan pompa air tambahan menjelang musim hujan tahun ini.",
    "Warga di bantaran sungai diminta waspada terhadap kenaikan debit air pada malam hari.",
    "Kepala dinas pekerjaan umum mengatakan perbaikan tanggul akan rampung pekan depan.",
    "Petugas gabungan membersihkan saluran yang tersumbat sampah di sejumlah titik.",
    "Anggaran penanganan banjir tahun ini naik dibandingkan tahun sebelumnya.",
    "Relawan menyiapkan posko pengungsian di gedung sekolah dan balai warga.",
]


def body(topic: str, paragraphs: int = 4) -> str:
    """Article text long enough to be an article, unique per ``topic``."""
    rng = random.Random(topic)
    lines = [f"{topic}: " + " ".join(rng.sample(_SENTENCES, 4)) for _ in range(paragraphs)]
    return "\n\n".join(lines)


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    expect: Expect
    reason: str  # what the error or the dead letter must say (a substring); for "indexed", what is checked
    url: str | None = None  # "indexed" cases: the article id is the hash of this URL
    items: int = 1  # documents the file holds
    good_items: int = 0  # of those, how many are indexed (a JSON list with some bad items)
    checks: dict[str, object] = field(default_factory=dict)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def cases(big_mb: int = 20) -> list[Case]:
    """Every case, its content made here (``big_mb`` MB for the oversized text)."""
    sentence = "Ini kalimat berita yang diulang-ulang untuk membuat berkas yang sangat besar sekali. "
    big = (sentence * (big_mb * 1024 * 1024 // len(sentence) + 1)).encode()[: big_mb * 1024 * 1024]
    cp1252_body = body("Kota Bandung").replace("Pemerintah", "“Pemerintah”").replace("kota", "kota café")
    nested = "<div>" * 100_000 + f"<p>{body('Bersarang')}</p>" + "</div>" * 100_000
    script_only = ("<html><head><title>Hanya skrip</title><script>var berita = 'x'.repeat(10);</script></head>"
                   "<body><script>document.write('<p>' + berita + '</p>');</script>"
                   "<noscript></noscript><style>p { color: red }</style></body></html>")
    no_title_html = (f"<html><body><article><p>{body('Tanpa judul HTML', 1)}</p><p>{body('Paragraf dua', 1)}</p>"
                     f"<p>{body('Paragraf tiga', 1)}</p></article></body></html>")
    dirty_title = "Judul\x1b[31m berwarna\x07 \u202edengan\u202c pembalik \u2066arah\u2069"
    dirty_text = body("Karakter kendali") + "\n\nAkhir\x07 berita \u202eterbalik\u202c dan \u2067isolasi\u2069.\x7f"
    return [
        # Refused by `kabar ingest` (the reader), one clear line each.
        Case("empty.txt", b"", "refused", "empty file"),
        Case("whitespace-only.txt", b"  \n\t \r\n   \n\n", "refused", "file has only whitespace"),
        Case("text-20mb.txt", big, "refused", "MB limit"),
        Case("binary.txt", random.Random(6).randbytes(64 * 1024), "refused", "binary file, not text"),
        Case("invalid-utf8.txt", b"Judul berita\n\n" + b"Isi \xff\xfe berita \xc3\x28 rusak. " * 20, "refused",
             "not valid UTF-8 (byte 0xff at offset 18)"),
        Case("cp1252-labelled-utf8.html", (f'<html><head><meta charset="utf-8"><title>Berita café</title></head><body>'
                                           f"<article><p>{cp1252_body}</p></article></body></html>").encode("cp1252"),
             "refused", "declares charset 'utf-8' but is not valid utf-8"),
        Case("nested-100k-tags.html", nested.encode(), "refused", "more than 512 levels deep"),
        Case("not-json.json", b'{"text": "isi berita", ', "refused", "invalid JSON at line 1"),
        Case("json-nested-too-deep.json", b"[" * 100_000 + b"]" * 100_000, "refused", "JSON nested too deeply"),
        Case("json-not-an-object.json", _json("sebuah string, bukan objek"), "refused", "JSON object is not an object"),
        Case("json-wrong-types.json", _json([
            {"text": ["bukan", "string"], "title": "Judul"},
            {"text": body("Tipe salah judul"), "title": 12345},
            {"text": body("Tipe salah tanggal"), "published_at": "kemarin sore"},
        ]), "refused", "3 of 3 JSON items refused: item 0 needs a non-empty string 'text' or 'html'; item 1 field "
                       "'title': Input should be a valid string; item 2 field 'published_at'", items=3),
        Case("json-unknown-fields.json", _json({"text": body("Bidang asing"), "colour": "merah", "author": "x"}),
             "refused", "JSON object has unknown fields: author, colour"),
        Case("json-empty-list.json", b"[]", "refused", "JSON list has no items"),
        Case("json-future-date.json", _json({"text": body("Masa depan"), "published_at": "2999-01-01T00:00:00Z"}),
             "refused", "field 'published_at': 2999-01-01T00:00:00+00:00 is in the future"),
        Case("json-absurd-date.json", _json({"text": body("Zaman purba"), "published_at": "0001-01-01T00:00:00Z"}),
             "refused", "field 'published_at': 0001-01-01T00:00:00+00:00 is before 1900"),
        Case("json-10k-title.json", _json({"text": body("Judul panjang"), "title": "Judul sangat panjang " * 500}),
             "refused", "field 'title' is 10500 characters long, over the 1000 limit"),
        Case("json-some-items-bad.json", _json([
            {"url": f"{BASE_URL}/campuran-1", "title": "Berita campuran satu", "text": body("Campuran satu")},
            {"url": f"{BASE_URL}/campuran-2", "title": "Berita campuran dua", "text": body("Campuran dua"),
             "published_at": "2999-12-31T00:00:00Z"},
            {"url": f"{BASE_URL}/campuran-3", "title": "Berita campuran tiga", "text": body("Campuran tiga")},
        ]), "refused", "1 of 3 JSON items refused: item 1 field 'published_at'", items=3, good_items=2),
        # Well-formed, so read and queued; a stage refuses it and dead-letters it with the reason.
        Case("script-only.html", script_only.encode(), "dead-letter", "no article text found"),
        Case("url-with-credentials.json", _json({"url": "https://redaksi:rahasia@example.com/berita/1",
                                                 "title": "Berita berkredensial", "text": body("Kredensial")}),
             "dead-letter", "URL carries credentials"),
        Case("url-scheme-ftp.json", _json({"url": "ftp://example.com/berita/2", "title": "Berita FTP",
                                           "text": body("Skema FTP")}),
             "dead-letter", "only http(s) URLs are accepted, not 'ftp'"),
        Case("url-scheme-javascript.json", _json({"url": "javascript:alert(document.cookie)", "title": "Berita JS",
                                                  "text": body("Skema JavaScript")}),
             "dead-letter", "only http(s) URLs are accepted, not 'javascript'"),
        Case("url-scheme-file.json", _json({"url": "file:///etc/passwd", "title": "Berita berkas",
                                            "text": body("Skema berkas")}),
             "dead-letter", "only http(s) URLs are accepted, not 'file'"),
        # Repaired and indexed.
        Case("control-and-bidi.json", _json({"url": f"{BASE_URL}/kendali", "title": dirty_title, "text": dirty_text}),
             "indexed", "control and bidi characters removed", url=f"{BASE_URL}/kendali",
             checks={"title": "Judul berwarna dengan pembalik arah"}),
        Case("no-title.json", _json({"url": f"{BASE_URL}/tanpa-judul", "text": body("Tanpa judul")}), "indexed",
             "a title taken from the text", url=f"{BASE_URL}/tanpa-judul"),
        Case("no-title.html", no_title_html.encode(), "indexed", "a title taken from the text"),
        Case("naive-date.json", _json({"url": f"{BASE_URL}/tanggal-naif", "title": "Tanggal tanpa zona waktu",
                                       "text": body("Tanggal naif"), "published_at": "2024-03-01T10:00:00"}),
             "indexed", "a date without a time zone taken as UTC", url=f"{BASE_URL}/tanggal-naif",
             checks={"published_at": "2024-03-01T10:00:00"}),
    ]


def write(directory: Path, big_mb: int = 20) -> list[Case]:
    """Write every case into ``directory`` (created if missing); returns the cases."""
    directory.mkdir(parents=True, exist_ok=True)
    made = cases(big_mb)
    for case in made:
        (directory / case.name).write_bytes(case.content)
    return made


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    for case in write(Path(sys.argv[1])):
        print(f"{case.name:32} {case.expect:12} {case.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
