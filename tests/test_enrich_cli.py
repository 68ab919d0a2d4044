"""The JSON-lines contract of `kabar enrich --jsonl` and `kabar extract --jsonl`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import ROOT, SEEDS, kabar_executable

FIELDS = {"id", "language", "language_confidence", "paragraph_languages", "entities", "published_at", "fingerprint",
          "duplicate_of", "story_id"}


def run_jsonl(command: str, lines: list[str], env: dict[str, str], *extra: str) -> tuple[int, list[dict[str, object]]]:
    result = subprocess.run([kabar_executable(), command, "--jsonl", *extra], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def seed(number: int) -> str:
    return sorted(SEEDS.glob("*.txt"))[number].read_text(encoding="utf-8")


def test_enrich_jsonl_links_within_the_run_and_keeps_order(embedded_env: dict[str, str]) -> None:
    teaser = "\n\n".join(seed(1).split("\n\n")[:6])
    html = ("<html><head><title>Lavrov di Wonsan</title><meta property='article:published_time' "
            "content='2025-07-12T10:00:00+07:00'></head><body><article>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in seed(0).split("\n\n")[3:12])
            + "</article></body></html>")
    lines = [json.dumps({"id": "a", "text": seed(1)}), json.dumps({"id": "b", "text": teaser}),
             json.dumps({"id": "c", "text": seed(4)}), json.dumps({"id": "d", "html": html}),
             "not json", json.dumps({"id": "f", "text": "Emoji saja 😀😀😀"})]
    status, out = run_jsonl("enrich", lines, embedded_env)
    assert status == 1  # one bad line
    assert [record.get("id") for record in out] == ["a", "b", "c", "d", None, "f"]
    a, b, c, d, bad, emoji = out
    assert set(a) >= FIELDS
    assert a["language"] == "id"
    assert b["duplicate_of"] == "a"
    assert b["story_id"] == a["story_id"]
    assert c["duplicate_of"] is None
    assert c["published_at"] == "2023-10-19T09:08:00Z"
    assert d["published_at"] == "2025-07-12T03:00:00Z"
    assert "Lavrov" in str(d["text"])
    assert "invalid JSON" in str(bad["error"])
    assert isinstance(emoji["language_confidence"], float) and emoji["language_confidence"] <= 0.5
    for record in (a, d):
        text = seed(1) if record is a else str(d["text"])
        for entity in record["entities"]:  # type: ignore[union-attr]
            assert text[entity["start"]:entity["end"]] == entity["text"]


def test_each_run_starts_with_empty_state_unless_a_store_is_named(embedded_env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    line = json.dumps({"id": "a", "text": seed(2)})
    copy = json.dumps({"id": "b", "text": seed(2) + "\n\nBaca juga: lainnya"})
    assert run_jsonl("enrich", [line], embedded_env)[1][0]["duplicate_of"] is None
    assert run_jsonl("enrich", [copy], embedded_env)[1][0]["duplicate_of"] is None
    store = str(tmp_path / "state.sqlite3")
    run_jsonl("enrich", [line], embedded_env, "--store", store)
    assert run_jsonl("enrich", [copy], embedded_env, "--store", store)[1][0]["duplicate_of"] == "a"


def test_extract_jsonl_gives_what_ingest_makes_of_the_page(embedded_env: dict[str, str]) -> None:
    paragraphs = [f"<p>{paragraph}</p>" for paragraph in seed(4).split("\n\n")[5:12]]
    paragraphs.insert(2, "<p>Baca Juga: Indonesia Kerja Sama dengan Rusia, Bikin Kapal Cepat</p>")
    html = ("<html><head><title>Rusia Berterima Kasih ke Korut</title></head><body><nav>Menu</nav><article>"
            + "".join(paragraphs) + "</article></body></html>")
    empty = "<html><body><p>Menu</p></body></html>"
    lines = [{"id": 7, "html": html}, {"id": 8, "text": "x"}, {"id": 9, "html": empty}]
    status, out = run_jsonl("extract", [json.dumps(line) for line in lines], embedded_env)
    assert status == 1
    assert out[0]["id"] == 7 and "Lavrov" in str(out[0]["text"])
    assert out[0]["title"] == "Rusia Berterima Kasih ke Korut"
    assert "Menu" not in str(out[0]["text"]).splitlines()
    assert "Baca Juga" not in str(out[0]["text"]) and "Kapal Cepat" not in str(out[0]["text"])
    assert "html" in str(out[1]["error"])
    assert out[2] == {"id": 9, "title": "", "text": ""}  # no article on the page: nothing, not an error


def test_enrich_jsonl_reports_paragraphs_in_another_language(embedded_env: dict[str, str]) -> None:
    quote = ("\"We are cooperating fully with the authorities and expect the matter to be resolved within weeks,\" "
             "the company's chief executive said in a statement released on Tuesday evening.")
    paragraphs = seed(1).split("\n\n")
    mixed = "\n\n".join([*paragraphs[:2], quote, *paragraphs[2:4]])
    status, out = run_jsonl("enrich", [json.dumps({"id": "one", "text": seed(1)}),
                                       json.dumps({"id": "mixed", "text": mixed})], embedded_env)
    assert status == 0
    one, both = out
    assert one["language"] == "id" and one["paragraph_languages"] == []
    assert both["language"] == "id"
    [span] = both["paragraph_languages"]  # type: ignore[misc]
    assert span["language"] == "en" and span["confidence"] >= 0.95
    assert mixed[span["start"]:span["end"]] == quote


def test_enrich_jsonl_text_finds_no_entities_in_page_furniture(embedded_env: dict[str, str]) -> None:
    # Seeds 001, 003 and 004 as scraped: a "MEMBACA …" link to another article, an editor's credit, app
    # promotions and "Read Next" links. As ingest cleans files and pushes, none of it yields an entity; the
    # offsets still point into the text as given.
    texts = {number: seed(number) for number in (1, 3, 4)}
    status, out = run_jsonl("enrich", [json.dumps({"id": n, "text": t}) for n, t in texts.items()], embedded_env)
    assert status == 0
    canonical = {str(entity["canonical"]) for record in out for entity in record["entities"]}  # type: ignore[attr-defined]
    assert not canonical & {"Gaza", "EditorRama", "IDN App", "Anton Suhartono", "iNews Network"}, canonical
    for record in out:
        text = texts[int(str(record["id"]))]
        for entity in record["entities"]:  # type: ignore[attr-defined]
            assert text[entity["start"]:entity["end"]] == entity["text"]
    # A line that is nothing but furniture is still read as it was given.
    status, [only] = run_jsonl("enrich", [json.dumps({"id": "x", "text": "Jangan lewatkan diskon hingga Rp 10 juta!"})],
                               embedded_env)
    assert only["language"] == "id"
