"""The operator's path into a compose stack: ``kabar ingest --api URL`` with the key from the environment.

Real workers and the real API, started with docker-compose.yml's commands (conftest's Services), a
real Redis; nothing of the stack is reached but the API's published port.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import SEEDS, Services, run_kabar, wait_until

KEY = "operator-key-0123456789"

pytestmark = pytest.mark.services


@pytest.fixture
def stack(services_env: dict[str, str], compose_commands: dict[str, list[str]],
          tmp_path: Path) -> Iterator[Services]:
    """The compose services with the API key set, as .env sets it for them."""
    running = Services({**services_env, "KABAR_API_KEY": KEY}, compose_commands, tmp_path)
    try:
        running.start_all()
        yield running
    finally:
        running.stop()


def operator_env(services_env: dict[str, str], key: str) -> dict[str, str]:
    """The operator's machine: the key, and nothing that reaches Redis or the search engine."""
    env = {name: value for name, value in services_env.items() if not name.startswith("KABAR_")}
    return {**env, "KABAR_API_KEY": key, "KABAR_REDIS_URL": "redis://127.0.0.1:1/0",
            "KABAR_ELASTICSEARCH_URL": "http://127.0.0.1:1"}


def search(stack: Services, query: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{stack.api_url}/search", params={"q": query}, timeout=10).json()
    return found


def test_ingest_through_the_api_makes_the_seeds_searchable(stack: Services, services_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    (folder / "empty.txt").write_text("")  # refused by the reader, as in every mode
    (folder / "menu.html").write_text("<html><body><nav><a href='/'>Beranda</a></nav></body></html>")  # by the API

    result = run_kabar(["ingest", "--api", stack.api_url, str(folder)], operator_env(services_env, KEY))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "6 document(s) read, 5 accepted by" in result.stdout
    assert "(5 queued)" in result.stdout and "1 refused" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, result.stderr
    assert any("empty.txt" in line for line in errors)
    assert any("menu.html" in line and "422" in line for line in errors)
    wait_until(lambda: search(stack, "Kim Jong Un")["total"] >= 1, 120, "the seeds to be searchable")


def test_a_wrong_key_stops_with_a_clear_error_and_sends_nothing(stack: Services,
                                                               services_env: dict[str, str]) -> None:
    result = run_kabar(["ingest", "--api", stack.api_url, str(SEEDS)], operator_env(services_env, "not-the-key"))
    assert result.returncode == 2
    assert "refused the key (401" in result.stderr and "KABAR_API_KEY" in result.stderr
    assert search(stack, "Kim Jong Un")["total"] == 0


def test_an_unreachable_api_is_one_clear_error(services_env: dict[str, str]) -> None:
    result = run_kabar(["ingest", "--api", "http://127.0.0.1:1", str(SEEDS)], operator_env(services_env, KEY))
    assert result.returncode == 2
    assert "cannot reach the API at http://127.0.0.1:1" in result.stderr
