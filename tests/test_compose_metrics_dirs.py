"""Scaled workers keep their own Prometheus files: two containers reproduced as two PID and UTS namespaces.

In compose every replica of a stage is PID 1 of its own container (its own PID and UTS namespace, so
its own host name) and all share the ``kabar-data`` volume. Here two ``unshare --pid --uts`` children,
each PID 1 with its own host name, prepare their metrics directory under one shared folder the way
``kabar worker`` does, count, and read their totals back the way the worker's metrics endpoint does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, wait_until

# One replica: PID 1 in its namespace, its own host name; counts `count` messages, then reports its total
# once the other replica has started too (the moment the old code wiped the first one's files).
REPLICA = r"""
import json, os, socket, sys, time
from pathlib import Path
shared, name, count, go_on = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
socket.sethostname(name)
from kabar.contract.multiproc import prepare_multiprocess_dir, worker_metrics_dir
directory = worker_metrics_dir(shared / "prometheus", "enrich")
prepare_multiprocess_dir(directory)
from prometheus_client import CollectorRegistry, Counter, multiprocess
processed = Counter("kabar_test_processed", "messages", registry=None)
processed.inc(count)
(shared / f"{name}.started").write_text(str(os.getpid()))
while not go_on.exists():
    time.sleep(0.05)
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=str(directory))
total = registry.get_sample_value("kabar_test_processed_total")
print(json.dumps({"pid": os.getpid(), "directory": directory.name, "total": total}))
"""


def unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--uts", "true"], capture_output=True,
                           timeout=30, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not unshare_works(), reason="needs unshare (util-linux) and the right to make namespaces (root)")
def test_two_replicas_in_their_own_namespaces_keep_their_own_totals(tmp_path: Path) -> None:
    script = tmp_path / "replica.py"
    script.write_text(REPLICA)
    go_on = tmp_path / "go-on"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def replica(name: str, count: int) -> subprocess.Popen[str]:
        argv = ["unshare", "--pid", "--fork", "--mount-proc", "--uts", sys.executable, str(script), str(tmp_path),
                name, str(count), str(go_on)]
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = replica("enrich-replica-a", 3)
    wait_until((tmp_path / "enrich-replica-a.started").exists, 30, "the first replica")
    second = replica("enrich-replica-b", 5)  # starts after the first has counted, as a scale-up does
    wait_until((tmp_path / "enrich-replica-b.started").exists, 30, "the second replica")
    go_on.touch()
    reports = []
    for process in (first, second):
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        reports.append(json.loads(out))

    assert [report["pid"] for report in reports] == [1, 1], "each replica is PID 1, as in a container"
    assert reports[0]["directory"] != reports[1]["directory"]
    assert [report["total"] for report in reports] == [3.0, 5.0], reports
    # Summed by Prometheus over the two targets: 8, the messages really processed.
    assert sum(report["total"] for report in reports) == 8.0
