"""Search helpers several test files share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from kabar.contract.settings import KabarSettings


def backend_settings(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> KabarSettings:
    """Settings for the backend ``kind``: SQLite, or the session's Elasticsearch or OpenSearch (conftest)."""
    if kind == "sqlite":
        return KabarSettings(search_backend="sqlite", data_dir=tmp_path)
    engine: Any = request.getfixturevalue(f"{kind}_engine")
    settings: KabarSettings = engine.settings(data_dir=tmp_path)
    return settings


def problem_mismatch(response: httpx.Response, status: int, detail: str = "") -> str | None:
    """Why ``response`` is not the RFC 9457 problem detail expected (its status, media type, title and a
    ``detail`` naming the fault), or None when it is. Tests that try many bad inputs against one running API
    collect these, so that every wrong answer is reported, not only the first."""
    if response.status_code != status:
        return f"status {response.status_code}, not {status}: {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"content-type {response.headers.get('content-type')!r}"
    body = response.json()
    if body.get("status") != status or not body.get("title"):
        return f"no status {status} or no title in {body}"
    if detail not in str(body.get("detail", "")):
        return f"detail {body.get('detail')!r} does not say {detail!r}"
    return None
