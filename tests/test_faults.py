"""Fault injection with real processes (issue #6): one trial of each scenario of benchmarks/faults.py.

Each trial runs its own redis-server (AOF, fsync always) on a free loopback port, the session's real
search engine behind a loopback TCP proxy and the three workers of docker-compose.yml, queues 100 articles with
``kabar ingest`` and breaks something while they flow: the enrich or the index worker killed with
SIGKILL while it holds a message, Redis crashed and restarted, the search server unreachable.
Every article must end up indexed exactly once, with no dead letter. The benchmark runs 10 trials
of each and the full 60 s search outage; this runs one, with a 12 s outage. The search outage runs
on both engines, the other scenarios (which break Redis or a worker, not the engine) on Elasticsearch.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 100
OUTAGE_S = 12.0


def load_faults() -> ModuleType:
    """benchmarks/faults.py, the harness the benchmark and these tests share."""
    spec = importlib.util.spec_from_file_location("kabar_faults", ROOT / "benchmarks" / "faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


faults = load_faults()


TRIALS = [(scenario, "elasticsearch") for scenario in faults.SCENARIOS] + [("search-outage", "opensearch")]


@pytest.mark.parametrize(("scenario", "engine_name"), TRIALS, ids=[f"{s}-{e}" for s, e in TRIALS])
def test_every_article_is_indexed_exactly_once_whatever_breaks(scenario: str, engine_name: str, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    engine: Any = request.getfixturevalue(f"{engine_name}_engine")
    for attempt in range(3):  # a trial whose fault missed the work in flight proves nothing: run another
        workdir = tmp_path / f"trial-{attempt}"
        workdir.mkdir()
        result = faults.run_trial(scenario, ARTICLES, workdir, outage=OUTAGE_S, settle_timeout=150,
                                  offset=attempt * ARTICLES, search_backend=engine.name, engine_url=engine.url)
        assert result.lost == 0 and result.duplicated == 0, f"{scenario} trial {attempt + 1}: {result}"
        if 0 < result.indexed_at_fault < ARTICLES and result.fault_felt and result.error is None:
            break
    summary = (f"{scenario}: indexed {result.indexed}/{ARTICLES}, lost {result.lost}, duplicated {result.duplicated}, "
               f"dead letters {result.dead_letters} {result.reasons}, indexed at the fault {result.indexed_at_fault}, "
               f"held at the fault {result.held_at_fault}, restarts {result.restarts}, resent {result.resent}, "
               f"recovery {result.recovery_s:.1f} s")
    print(summary)
    assert result.error is None, f"{summary}\n{(result.error or '')[-8000:]}"
    # The fault hit the pipeline mid-run, with work in flight: otherwise this test proves nothing.
    assert 0 < result.indexed_at_fault < ARTICLES, summary
    assert result.fault_felt, summary
    if scenario.startswith("kill-"):
        assert result.held_at_fault > 0, summary
    assert result.lost == 0, summary
    assert result.duplicated == 0, summary
    assert result.dead_letters == 0, summary
    assert result.indexed == ARTICLES, summary
