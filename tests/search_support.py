"""Search helpers several test files share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kabar.contract.settings import KabarSettings


def backend_settings(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> KabarSettings:
    if kind == "sqlite":
        return KabarSettings(search_backend="sqlite", data_dir=tmp_path)
    clone: Any = request.getfixturevalue("osmem_clone")
    return KabarSettings(search_backend="elasticsearch", elasticsearch_url=clone.url,
                         elasticsearch_server_mode="serverless", data_dir=tmp_path)
