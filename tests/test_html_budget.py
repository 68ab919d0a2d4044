"""HTML bombs within the size limits (issue #14): refused by a linear pre-scan before any parser builds a
tree, with the limit named; memory figures come from benchmarks/memory.py."""

from __future__ import annotations

import importlib.util
import resource
from pathlib import Path
from types import ModuleType

import pytest

from kabar.contract.messages import RawDocument
from kabar.contract.settings import KabarSettings
from kabar_ingest.reader import MAX_HTML_ELEMENTS, BadDocument, check_html_shape, read_path
from kabar_ingest.stage import UnusableDocument, build_handler

ROOT = Path(__file__).resolve().parents[1]
BOMB = "<html><body>" + "<div><b>x</b></div>" * 300_000 + "</body></html>"  # 600,000 elements, 5.7 MB


def test_a_page_over_the_element_budget_is_refused_naming_the_limit() -> None:
    with pytest.raises(BadDocument, match=f"more than {MAX_HTML_ELEMENTS:,} elements"):
        check_html_shape(BOMB.encode())
    check_html_shape(("<p>kata</p>" * (MAX_HTML_ELEMENTS - 5)).encode())  # under the budget: fine


def test_a_bomb_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.html"
    path.write_text(BOMB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = read_path(path, 10 * 1024 * 1024)
    assert result.error is not None and "elements" in result.error
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"the pre-scan took {grown_mb:.0f} MB"


def test_a_bomb_on_the_queue_is_refused_by_the_ingest_stage(tmp_path: Path) -> None:
    handler = build_handler(KabarSettings(data_dir=tmp_path, keep_raw_html=False))
    raw = RawDocument(source="queue", format="html", content=BOMB, url="https://news.example.id/bomb")
    with pytest.raises(UnusableDocument, match="elements"):
        handler.handle(raw.model_dump(mode="json"))


def load_memory_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kabar_memory", ROOT / "benchmarks" / "memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", ["html-at-budget", "enrich-10mb"])
def test_the_largest_inputs_allowed_keep_a_worker_under_500_mb(case: str, tmp_path: Path) -> None:
    """Each case in a fresh process (benchmarks/memory.py): peak RSS, the bound of issue #14."""
    row = load_memory_benchmark().run_case(case, tmp_path)
    assert row["outcome"] == "accepted", row
    assert int(str(row["rss_peak_mb"])) <= 500, row
