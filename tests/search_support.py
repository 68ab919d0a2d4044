"""Search helpers several test files share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kabar.contract.settings import KabarSettings


def backend_settings(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> KabarSettings:
    """Settings for the backend ``kind``: SQLite, or the session's Elasticsearch or OpenSearch (conftest)."""
    if kind == "sqlite":
        return KabarSettings(search_backend="sqlite", data_dir=tmp_path)
    engine: Any = request.getfixturevalue(f"{kind}_engine")
    settings: KabarSettings = engine.settings(data_dir=tmp_path)
    return settings
