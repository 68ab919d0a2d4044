"""Prometheus multiprocess set-up; imports nothing from prometheus_client on purpose.

prometheus_client picks its value storage when it is imported, so the directory must
be in the environment before then.

Each worker owns one directory and wipes only that one. In compose every replica of a stage
shares the ``kabar-data`` volume and runs as PID 1 of its container, so the directory is keyed
by the host name too: Docker gives each container its own (the container id). A restarted
container reuses and cleans its own directory; one replica starting never touches another's files.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def worker_metrics_dir(root: Path, stage: str) -> Path:
    """This worker's own directory under ``root``: stage, host name (the container) and process id."""
    return root / f"{stage}-{socket.gethostname()}-{os.getpid()}"


def prepare_multiprocess_dir(path: Path) -> None:
    """Point prometheus_client at an empty directory; call before it is first imported."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path.resolve())
