"""Prometheus multiprocess set-up; imports nothing from prometheus_client on purpose.

prometheus_client picks its value storage when it is imported, so the directory must
be in the environment before then.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(path: Path) -> None:
    """Point prometheus_client at an empty directory; call before it is first imported."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path.resolve())
