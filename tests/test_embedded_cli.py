"""The embedded deployment end to end through the real `kabar` command: no servers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import SEEDS, run_kabar


def test_demo_prints_the_seeds_and_a_second_run_adds_nothing(embedded_env: dict[str, str]) -> None:
    first = run_kabar(["demo", str(SEEDS)], embedded_env)
    assert first.returncode == 0, first.stderr
    assert "5 document(s) read, 5 indexed" in first.stdout
    assert "5 article(s) in the index" in first.stdout
    assert first.stdout.count(" id 0.") + first.stdout.count(" id 1.") == 5  # language column: "id <confidence>"
    assert "Kim Jong Un" in first.stdout
    assert "Lavrov" in first.stdout

    second = run_kabar(["demo", str(SEEDS)], embedded_env)
    assert second.returncode == 0, second.stderr
    assert "5 document(s) read, 0 indexed, 0 unchanged, 5 exact repeat(s) skipped, 0 failed" in second.stdout
    assert "5 article(s) in the index" in second.stdout


def test_search_works_on_the_stored_index_in_a_later_run(embedded_env: dict[str, str]) -> None:
    assert run_kabar(["ingest", str(SEEDS)], embedded_env).returncode == 0
    found = run_kabar(["search", "Kim Jong Un", "--json"], embedded_env)
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["total"] == 5
    assert all(hit["language"] == "id" for hit in result["hits"])
    nuklir = json.loads(run_kabar(["search", "nuklir", "--json"], embedded_env).stdout)
    assert nuklir["total"] >= 1
    assert all("<mark>" in hit["highlight"].lower() for hit in nuklir["hits"])


def test_bad_files_each_get_one_line_and_the_rest_is_ingested(embedded_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(seed, folder / seed.name)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin1.txt").write_bytes("Berita café dari Jakarta".encode("cp1252"))
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "huge.txt").write_bytes(b"kata " * (10 * 1024 * 1024))  # 52 MB
    (folder / "short.txt").write_text("Judul\n\nok")  # valid file, too little text: dead-lettered

    result = run_kabar(["ingest", str(folder)], embedded_env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 5, result.stderr
    for name, reason in [("empty.txt", "empty file"), ("latin1.txt", "not valid UTF-8"),
                         ("binary.txt", "binary file"), ("huge.txt", "over the 10.5 MB limit"),
                         ("short.txt", "no article text")]:
        assert any(name in line and reason in line for line in errors), (name, errors)
    assert "2 indexed" in result.stdout

    listed = run_kabar(["search", "Lavrov", "--json"], embedded_env)
    assert json.loads(listed.stdout)["total"] == 2
    dead = run_kabar(["dlq", "list"], embedded_env)
    assert "1 dead letter(s)" in dead.stdout
    assert "no article text" in dead.stdout


def test_nonexistent_path_is_a_clear_error(embedded_env: dict[str, str], tmp_path: Path) -> None:
    result = run_kabar(["ingest", str(tmp_path / "nope")], embedded_env)
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
