"""The restore drill (scripts/restore_drill.py) runs end to end: the Redis half on a real redis-server,
restoring every key; the search half on real Elasticsearch and OpenSearch, through their snapshot API."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, EngineUnderTest


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (.ci/run installs it)")
def test_redis_backup_wipe_restore_gives_back_every_key() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "restore_drill.py"), "redis"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESTORED" in result.stdout
    counts = [line for line in result.stdout.splitlines() if "count and checksum" in line]
    assert len(counts) == 2 and counts[0].split("s  ")[-1] == counts[1].split("s  ")[-1]


def test_a_search_snapshot_restores_every_document(engine: EngineUnderTest) -> None:
    if engine.snapshots is None:
        pytest.skip("engines given by URL (KABAR_TEST_*_URL): their path.repo is not known here")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "restore_drill.py"), "search", "--url", engine.url,
                             "--repository-path", str(engine.snapshots), "--documents", "200"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "before 200, after 200: RESTORED" in result.stdout
