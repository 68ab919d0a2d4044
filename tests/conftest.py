"""Shared fixtures: real Redis, real Celery workers, a real search API, real Elasticsearch and OpenSearch.

The worker and API commands are read from docker-compose.yml, so the suite runs exactly
what the compose file deploys; so are the engines' versions (scripts/engines.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from hypothesis import settings as hypothesis_settings

from kabar.contract.settings import KabarSettings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import engines as engine_launcher  # noqa: E402 - scripts/engines.py, shared with `make engines`

sys.path.insert(0, str(ROOT / "benchmarks"))
import support  # noqa: E402 - benchmarks/support.py: the process wrapper the fault harness uses too

SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
TEST_REDIS_URL = os.environ.get("KABAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Property tests (hypothesis): the same small set of examples every CI run; KABAR_HYPOTHESIS_PROFILE=hunt
# for randomized runs with 25 times as many examples (tests/bad_input_strategies.py scales the counts).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("hunt", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("KABAR_HYPOTHESIS_PROFILE", "ci"))
# The tests' webhook receivers listen on loopback, which the default (no network) refuses.
LOOPBACK_WEBHOOKS = {"KABAR_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128"}
os.environ.update(LOOPBACK_WEBHOOKS)
WORKER_SERVICES = {"ingest": "ingest-worker", "enrich": "enrich-worker", "index": "index-worker"}


# One port picker, polling loop, executable lookup and group stop for the tests and the fault harness: free ports
# lie below the ephemeral range (scripts/engines.py), and a check that raises ``support.GaveUp`` (a process it waits
# on has died) ends the wait at once instead of at the timeout.
free_port = support.free_port
wait_until = support.wait_for
kabar_executable = support.kabar_executable
stop_all = support.stop_all


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
    env.update({"KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(tmp_path / "data"), **LOOPBACK_WEBHOOKS})
    return env


# ---- the search engines: started once per test session, wiped after every test that used one ----

ENGINE_NAMES = engine_launcher.ENGINES
_TEST_URLS = {"elasticsearch": "KABAR_TEST_ELASTICSEARCH_URL", "opensearch": "KABAR_TEST_OPENSEARCH_URL"}


@dataclass(frozen=True)
class EngineUnderTest:
    """One running engine, and how kabar is pointed at it."""

    name: str  # "elasticsearch" | "opensearch": also the KABAR_SEARCH_BACKEND value
    url: str
    snapshots: Path | None = None  # its path.repo, where the session started it

    def settings(self, **overrides: Any) -> KabarSettings:
        return KabarSettings(search_backend=self.name, **{f"{self.name}_url": self.url}, **overrides)

    def env(self) -> dict[str, str]:
        return {"KABAR_SEARCH_BACKEND": self.name, f"KABAR_{self.name.upper()}_URL": self.url}

    def wipe(self, keep_templates: frozenset[str]) -> None:
        """Delete every index and every index template a test made (names in ``keep_templates`` stay)."""
        httpx.delete(f"{self.url}/*", params={"expand_wildcards": "open,closed"}, timeout=60).raise_for_status()
        for name in _template_names(self.url) - keep_templates:
            httpx.delete(f"{self.url}/_index_template/{name}", timeout=30)


RunningEngines = dict[str, tuple[EngineUnderTest, frozenset[str]]]  # each with the templates it started with


def _template_names(url: str) -> frozenset[str]:
    listed = httpx.get(f"{url}/_index_template", timeout=30).json().get("index_templates", [])
    return frozenset(item["name"] for item in listed)


@pytest.fixture(scope="session")
def search_engines() -> Iterator[RunningEngines]:
    """Elasticsearch and OpenSearch, started once for the session and stopped at its end, pass or fail.

    ``KABAR_TEST_ELASTICSEARCH_URL`` and ``KABAR_TEST_OPENSEARCH_URL`` (both, e.g. from `make engines`)
    use running engines instead; the tests delete every index on them.
    """
    given = {name: os.environ.get(variable) for name, variable in _TEST_URLS.items()}
    run_dir = None
    started: dict[str, engine_launcher.Engine] = {}
    if all(given.values()):
        running = {name: EngineUnderTest(name, str(url)) for name, url in given.items()}
    else:
        run_dir = Path(tempfile.mkdtemp(prefix="kabar-test-engines-"))
        try:
            started = engine_launcher.start_engines(run_dir, ENGINE_NAMES, die_with_parent=True)
        except engine_launcher.EngineError as exc:
            shutil.rmtree(run_dir, ignore_errors=True)
            pytest.fail(f"the search engines did not start (`make engines` shows why): {exc}")
        running = {name: EngineUnderTest(name, engine.url, engine.snapshots) for name, engine in started.items()}
    try:
        yield {name: (engine, _template_names(engine.url)) for name, engine in running.items()}
    finally:
        engine_launcher.stop_engines(started.values())
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)


def _engine(name: str, engines: RunningEngines) -> Iterator[EngineUnderTest]:
    engine, templates = engines[name]
    engine.wipe(templates)
    yield engine
    engine.wipe(templates)


@pytest.fixture
def elasticsearch_engine(search_engines: RunningEngines) -> Iterator[EngineUnderTest]:
    yield from _engine("elasticsearch", search_engines)


@pytest.fixture
def opensearch_engine(search_engines: RunningEngines) -> Iterator[EngineUnderTest]:
    yield from _engine("opensearch", search_engines)


@pytest.fixture(params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest) -> EngineUnderTest:
    """Each test that takes this runs once on Elasticsearch and once on OpenSearch."""
    chosen: EngineUnderTest = request.getfixturevalue(f"{request.param}_engine")
    return chosen


_ENGINE_FIXTURES = frozenset({"search_engines", "engine", "elasticsearch_engine", "opensearch_engine"})


def _uses_an_engine(item: pytest.Item) -> bool:
    """Through a fixture, or through a parameter naming an engine (fixtures that pick one at run time)."""
    if _ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(value in ENGINE_NAMES for value in callspec.params.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_an_engine(item):
            item.add_marker(pytest.mark.engines)


@pytest.fixture
def services_engine(elasticsearch_engine: EngineUnderTest) -> EngineUnderTest:
    """The engine behind ``services``: Elasticsearch, the default backend. A module whose subject is
    the search tier runs on both engines by overriding this with ``engine``."""
    return elasticsearch_engine


@pytest.fixture
def services_env(tmp_path: Path, redis_url: str, services_engine: EngineUnderTest) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({
        "KABAR_MODE": "services",
        "KABAR_DATA_DIR": str(tmp_path / "data"),
        "KABAR_REDIS_URL": redis_url,
        **services_engine.env(),
        "KABAR_WORKER_CONCURRENCY": "1",
        "KABAR_TASK_RETRY_BACKOFF_MAX": "1",
        "KABAR_TASK_MAX_RETRIES": "2",
        **LOOPBACK_WEBHOOKS,
    })
    return env


class Process(support.Proc):
    """A process of the stack under test, logging to ``log_dir/NAME.log`` (a fresh log: a restarted worker's
    "ready" must be its own)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        log_path = log_dir / f"{name}.log"
        log_path.unlink(missing_ok=True)
        super().__init__(name, argv, env, log_path)


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
        process = self._launch_worker(stage)
        self._wait_for_worker(stage, process)
        return process

    def start_api(self) -> Process:
        process = self._launch_api()
        self._wait_for_api(process)
        return process

    def start_all(self) -> None:
        """Every worker of WORKER_SERVICES and the API, started together (each takes seconds to import
        and load its models; one after the other, that was most of a services test) and then awaited."""
        workers = {stage: self._launch_worker(stage) for stage in WORKER_SERVICES}
        api = self._launch_api()
        for stage, process in workers.items():
            self._wait_for_worker(stage, process)
        self._wait_for_api(api)

    def _launch_worker(self, stage: str) -> Process:
        port = free_port()
        env = {**self.env, "KABAR_METRICS_PORT": str(port)}
        process = Process(f"{stage}-worker", self._commands[WORKER_SERVICES[stage]], env, self._log_dir)
        self.processes.append(process)
        self.metrics_urls[stage] = f"http://127.0.0.1:{port}/metrics"
        return process

    def _wait_for_worker(self, stage: str, process: Process) -> None:
        wait_until(lambda: self._answers(self.metrics_urls[stage], process), 60, f"{stage} worker metrics")
        wait_until(lambda: "ready" in process.log(), 60, f"{stage} worker ready")

    def _launch_api(self) -> Process:
        port = free_port()
        argv = _with_option(_with_option(self._commands["api"], "--port", str(port)), "--host", "127.0.0.1")
        process = Process("api", argv, self.env, self._log_dir)
        self.processes.append(process)
        self.api_url = f"http://127.0.0.1:{port}"
        return process

    def _wait_for_api(self, process: Process) -> None:
        wait_until(lambda: self._answers(f"{self.api_url}/healthz", process), 60, "the search API")

    def _answers(self, url: str, process: Process) -> bool:
        if process.popen.poll() is not None:
            raise support.GaveUp(f"{process.name} exited early:\n{process.log()[-3000:]}")
        return httpx.get(url, timeout=2).status_code == 200

    def stop(self) -> None:
        """All at once (what a stopped worker held stays in Redis, as it would in production)."""
        support.stop_all(reversed(self.processes))

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
        running.start_all()
        yield running
    finally:
        running.stop()


def run_kabar(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kabar_executable(), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def which(binary: str) -> str | None:
    return shutil.which(binary)
