"""The command line under bad input and with servers down (issue #14): one clear line each, never a
traceback, and one bad file costs only itself."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import SEEDS, free_port, run_kabar


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text


def test_a_lone_surrogate_costs_only_its_file_and_is_named(embedded_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    shutil.copy(seeds[0], folder / "a.txt")
    # json.dumps writes the surrogate as the escape \ud800, as a client would send it
    (folder / "b.json").write_text(json.dumps({"title": "x \ud800", "text": seeds[1].read_text()}))
    shutil.copy(seeds[2], folder / "c.txt")
    result = run_kabar(["ingest", str(folder)], embedded_env)
    assert result.returncode == 1, result.stderr
    assert no_traceback(result.stderr), result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "b.json" in errors[0] and "lone surrogate" in errors[0], result.stderr
    assert "2 indexed" in result.stdout, result.stdout


def test_a_number_of_5000_digits_is_refused_by_name(embedded_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "big.json").write_text('{"text": "Berita", "title": ' + "9" * 5000 + "}")
    result = run_kabar(["ingest", str(folder)], embedded_env)
    assert result.returncode == 1
    assert no_traceback(result.stderr), result.stderr
    assert "big.json" in result.stderr and "number" in result.stderr, result.stderr


def test_a_file_name_that_is_not_utf8_is_named_with_escapes(embedded_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    text = sorted(SEEDS.glob("*.txt"))[0].read_bytes()
    with open(os.fsencode(folder) + b"/berita-\xff.txt", "wb") as file:
        file.write(text)
    (folder / "empty.txt").write_bytes(b"")
    result = run_kabar(["ingest", str(folder)], embedded_env)
    assert no_traceback(result.stderr), result.stderr
    assert "1 indexed" in result.stdout, result.stdout + result.stderr


def test_a_setting_with_a_typo_is_one_line_naming_it_and_the_allowed_values(embedded_env: dict[str, str]) -> None:
    result = run_kabar(["dlq", "list"], {**embedded_env, "KABAR_MODE": "service"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "KABAR_MODE" in lines[0] and "'embedded'" in lines[0] and "'services'" in lines[0], lines


def services_without_servers(env: dict[str, str]) -> dict[str, str]:
    return {**env, "KABAR_MODE": "services", "KABAR_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "KABAR_ELASTICSEARCH_URL": f"http://127.0.0.1:{free_port()}"}


def test_redis_down_is_one_line(embedded_env: dict[str, str], tmp_path: Path) -> None:
    env = services_without_servers(embedded_env)
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], tmp_path / "a.txt")
    for args in (["ingest", str(tmp_path / "a.txt")], ["dlq", "list"]):
        result = run_kabar(args, env)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot reach Redis" in lines[0] and "KABAR_REDIS_URL" in lines[0], (args, lines)


def test_search_server_down_is_one_line(embedded_env: dict[str, str]) -> None:
    result = run_kabar(["search", "Kim Jong Un"], services_without_servers(embedded_env))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the search server" in lines[0], lines
