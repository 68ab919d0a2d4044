"""What a platform team checks in docker-compose.yml, the Dockerfile and the build, one property per test.

The healthchecks themselves are run in test_compose_health.py, the metrics directories of scaled
workers in test_compose_metrics_dirs.py.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

KABAR_SERVICES = ("ingest-worker", "enrich-worker", "index-worker", "feeds-worker", "beat", "alerts-worker", "api")


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_every_long_running_service_restarts_and_one_shots_do_not(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        expected = "no" if name in {"es-setup", "kibana-setup"} else "unless-stopped"
        assert service.get("restart") == expected, name


def test_every_service_rotates_its_log(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert logging["options"]["max-size"] and int(logging["options"]["max-file"]) >= 2, name


def test_every_service_has_memory_and_cpu_limits(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert re.fullmatch(r"\d+[mg]", str(limits.get("memory", ""))), name
        assert float(limits["cpus"]) > 0, name


def test_redis_has_a_maxmemory_under_its_container_limit(compose: dict[str, Any]) -> None:
    redis = services(compose)["redis"]
    command = redis["command"]
    maxmemory = command[command.index("--maxmemory") + 1]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    to_mb = {"mb": 1, "gb": 1024, "m": 1, "g": 1024}

    def megabytes(value: str) -> float:
        number, unit = re.fullmatch(r"(\d+)([a-z]+)", value.lower()).groups()  # type: ignore[union-attr]
        return int(number) * to_mb[unit]

    # An AOF rewrite forks: the copy-on-write pages need room above maxmemory.
    assert megabytes(maxmemory) <= 0.7 * megabytes(redis["deploy"]["resources"]["limits"]["memory"])


def test_no_anonymous_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert ":" in volume, f"{name}: anonymous volume {volume}"
            assert source.startswith("./") or source in declared, f"{name}: {volume}"
    prometheus = services(compose)["prometheus"]
    assert "prometheus-data:/prometheus" in prometheus["volumes"]
    assert "--storage.tsdb.path=/prometheus" in prometheus["command"]
    alertmanager = services(compose)["alertmanager"]
    assert "alertmanager-data:/alertmanager" in alertmanager["volumes"]
    assert "--storage.path=/alertmanager" in alertmanager["command"]


def test_images_have_exact_versions(compose: dict[str, Any]) -> None:
    """No floating tags: every third-party image names a full version (x.y.z)."""
    for name, service in services(compose).items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag != "latest", f"{name}: {image}"
        assert re.match(r"v?\d+\.\d+\.\d+", tag), f"{name}: {image} is not an exact version"
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base[1]), base


def test_the_kabar_image_tag_is_the_package_version(compose: dict[str, Any]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name in KABAR_SERVICES:
        assert services(compose)[name]["image"] == f"kabar:{version}", name


def test_writes_work_after_up_the_api_key_comes_from_env(compose: dict[str, Any]) -> None:
    for name in KABAR_SERVICES:
        assert services(compose)[name]["environment"]["KABAR_API_KEY"].startswith("${KABAR_API_KEY:?"), name


def test_elasticsearch_host_settings(compose: dict[str, Any]) -> None:
    elasticsearch = services(compose)["elasticsearch"]
    environment = elasticsearch["environment"]
    # memlock unlimited is only half of it: Elasticsearch locks its heap only when asked to.
    assert environment["bootstrap.memory_lock"] == "true"
    assert elasticsearch["ulimits"]["memlock"] == {"soft": -1, "hard": -1}
    heap = re.findall(r"-Xm[sx](\d+)g", environment["ES_JAVA_OPTS"])
    limit = int(elasticsearch["deploy"]["resources"]["limits"]["memory"].removesuffix("g"))
    assert len(set(heap)) == 1 and int(heap[0]) * 2 <= limit, "heap at most half the container's memory"
    assert "es-snapshots:" + environment["path.repo"] in elasticsearch["volumes"]
    readme = (ROOT / "README.md").read_text()
    assert "vm.max_map_count=262144" in readme


def test_elasticsearch_and_kibana_need_a_login(compose: dict[str, Any]) -> None:
    elasticsearch = services(compose)["elasticsearch"]
    assert elasticsearch["environment"]["xpack.security.enabled"] == "true"
    assert "ports" not in elasticsearch and "ports" not in services(compose)["redis"]
    kibana = services(compose)["kibana"]["environment"]
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_PASSWORD"].startswith("${KIBANA_PASSWORD:?")
    # The kabar services are not superusers: they connect as `kabar`, whose role es-setup limits.
    url = services(compose)["api"]["environment"]["KABAR_ELASTICSEARCH_URL"]
    assert url.startswith("http://kabar:${KABAR_ELASTICSEARCH_PASSWORD:?")
    setup = (ROOT / "ops" / "elasticsearch" / "setup.sh").read_text()
    assert '"names": ["kabar-*"]' in setup and "kabar_writer" in setup
    for name in KABAR_SERVICES:
        assert services(compose)[name]["depends_on"]["es-setup"]["condition"] == "service_completed_successfully"


def test_es_setup_refuses_weak_passwords(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    env = {"PATH": "/usr/bin:/bin", "ELASTIC_PASSWORD": "short", "KIBANA_PASSWORD": "a" * 20,
           "KABAR_ELASTICSEARCH_PASSWORD": "b" * 20, "SNAPSHOT_DIR": str(tmp_path)}
    result = subprocess.run(["bash", str(ROOT / "ops" / "elasticsearch" / "setup.sh")], env=env, capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 1 and "ELASTIC_PASSWORD must be" in result.stderr


def test_dockerfile_installs_locked_dependencies_before_copying_the_source() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    dependencies = next(i for i, line in enumerate(lines) if "--constraint constraints.txt --requirement" in line)
    source = next(i for i, line in enumerate(lines) if line.startswith("COPY src"))
    assert dependencies < source
    assert any(line.startswith("COPY pyproject.toml constraints.txt") for line in lines[:dependencies])


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins, ``!`` re-includes."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.removeprefix("!")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare.rstrip("/") + "/"):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_secrets_and_the_venv_out_of_the_build_context() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".venv/lib/site.py", ".env", ".git/HEAD", "data/state.sqlite3", "test-artifacts/a.png",
                 "tests/conftest.py"):
        assert _ignored(path, patterns), path
    for path in ("pyproject.toml", "constraints.txt", "README.md", "src/kabar/cli.py",
                 "services/search/kabar_search/api.py"):
        assert not _ignored(path, patterns), path


def test_the_package_has_no_stray_top_level_modules(tmp_path: Path) -> None:
    """The wheel the image installs holds kabar's packages only (training/ is for model building)."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("kabar-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
    packages = {name for name in top if not name.endswith(".dist-info")}
    assert packages == {"kabar", "kabar_ingest", "kabar_enrich", "kabar_search"}, packages


def checkov() -> str:
    for candidate in (shutil.which("checkov"), str(ROOT / ".venv-checkov" / "bin" / "checkov")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("checkov is not installed: .ci/run installs it into .venv-checkov")


def test_checkov_finds_nothing_in_the_dockerfile_and_no_secrets() -> None:
    result = subprocess.run([checkov(), "--directory", str(ROOT), "--framework", "dockerfile", "secrets",
                             "--skip-path", r"\.venv", "--skip-download", "--compact", "--quiet"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout or result.stdout.strip() == ""
