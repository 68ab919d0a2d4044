"""Shared fixtures: real Redis, real Celery workers, a real search API, osmem-server.

The worker and API commands are read from docker-compose.yml, so the suite runs exactly
what the compose file deploys.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
TEST_REDIS_URL = os.environ.get("KABAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKER_SERVICES = {"ingest": "ingest-worker", "enrich": "enrich-worker", "index": "index-worker"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the thing we wait for may not answer yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def kabar_executable() -> str:
    candidate = Path(sys.executable).with_name("kabar")
    return str(candidate) if candidate.exists() else "kabar"


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="session")
def compose_commands(compose: dict[str, Any]) -> dict[str, list[str]]:
    """The command of every kabar service in docker-compose.yml, as an argv."""
    commands = {}
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command and command[0] == "kabar":
            commands[name] = [kabar_executable(), *command[1:]]
    return commands


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {TEST_REDIS_URL} is not reachable ({exc}); `make test` starts one")
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({"KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(tmp_path / "data")})
    return env


@pytest.fixture
def services_env(tmp_path: Path, redis_url: str, osmem_clone: Any) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({
        "KABAR_MODE": "services",
        "KABAR_DATA_DIR": str(tmp_path / "data"),
        "KABAR_REDIS_URL": redis_url,
        "KABAR_ELASTICSEARCH_URL": osmem_clone.url,
        "KABAR_ELASTICSEARCH_SERVER_MODE": "serverless",
        "KABAR_WORKER_CONCURRENCY": "1",
        "KABAR_TASK_RETRY_BACKOFF_MAX": "1",
        "KABAR_TASK_MAX_RETRIES": "2",
    })
    return env


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      cwd=ROOT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._log.close()


class Services:
    """The workers and the API of docker-compose.yml, running as local processes."""

    def __init__(self, env: dict[str, str], commands: dict[str, list[str]], log_dir: Path) -> None:
        self.env = env
        self.api_url = ""
        self.metrics_urls: dict[str, str] = {}
        self.processes: list[Process] = []
        self._commands = commands
        self._log_dir = log_dir

    def start_worker(self, stage: str) -> Process:
        port = free_port()
        env = {**self.env, "KABAR_METRICS_PORT": str(port)}
        process = Process(f"{stage}-worker", self._commands[WORKER_SERVICES[stage]], env, self._log_dir)
        self.processes.append(process)
        self.metrics_urls[stage] = f"http://127.0.0.1:{port}/metrics"
        wait_until(lambda: self._answers(self.metrics_urls[stage], process), 60, f"{stage} worker metrics")
        wait_until(lambda: "ready" in process.log(), 60, f"{stage} worker ready")
        return process

    def start_api(self) -> Process:
        port = free_port()
        argv = _with_option(_with_option(self._commands["api"], "--port", str(port)), "--host", "127.0.0.1")
        process = Process("api", argv, self.env, self._log_dir)
        self.processes.append(process)
        self.api_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: self._answers(f"{self.api_url}/healthz", process), 60, "the search API")
        return process

    def _answers(self, url: str, process: Process) -> bool:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited early:\n{process.log()[-3000:]}")
        return httpx.get(url, timeout=2).status_code == 200

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"==== {p.name}\n{p.log()[-4000:]}" for p in self.processes)


def _with_option(argv: list[str], option: str, value: str) -> list[str]:
    """Replace an option's value (the compose file's is for containers)."""
    argv = list(argv)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    return argv


@pytest.fixture
def services(services_env: dict[str, str], compose_commands: dict[str, list[str]],
             tmp_path: Path) -> Iterator[Services]:
    running = Services(services_env, compose_commands, tmp_path)
    try:
        for stage in WORKER_SERVICES:
            running.start_worker(stage)
        running.start_api()
        yield running
    finally:
        running.stop()


def run_kabar(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kabar_executable(), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def which(binary: str) -> str | None:
    return shutil.which(binary)
