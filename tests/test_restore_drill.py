"""The Redis restore drill (scripts/restore_drill.py) runs end to end on a real redis-server and restores
every key; the search half needs a real engine with path.repo and is run by hand (docs/operations.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (.ci/run installs it)")
def test_redis_backup_wipe_restore_gives_back_every_key() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "restore_drill.py"), "redis"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESTORED" in result.stdout
    counts = [line for line in result.stdout.splitlines() if "count and checksum" in line]
    assert len(counts) == 2 and counts[0].split("s  ")[-1] == counts[1].split("s  ")[-1]
