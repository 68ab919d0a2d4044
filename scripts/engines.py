"""Real Elasticsearch and OpenSearch on loopback, from the project's own files (no Docker).

    python scripts/engines.py start [--state .engines] [--only elasticsearch|opensearch]
    python scripts/engines.py stop  [--state .engines]

``start`` starts both engines on free 127.0.0.1 ports, waits until each answers a cluster
health of yellow or better, prints ``KABAR_ELASTICSEARCH_URL=...`` and ``KABAR_OPENSEARCH_URL=...``
and leaves them running; ``stop`` stops what ``start`` left (``make engines`` / ``make engines-stop``).
The test suite (``tests/conftest.py``) and the benchmarks use the same functions, once per run.

The versions are docker-compose.yml's image tags, so the tests run what compose deploys:

- **Elasticsearch**: the ``integ-test-zip`` distribution from Maven Central (``mvn dependency:get``
  into ``~/.m2``), unpacked once under ``/var/tmp/kabar-engines``. It is the real server with
  x-pack core, but without the analysis-common module (no language analyzers), the percolator,
  painless or ILM. It needs Java 21+ (``ES_JAVA_HOME``: the Temurin JDK) and refuses to run as
  root, so as root it runs as the unprivileged user ``kabar-engine``, created here if missing.
- **OpenSearch**: ``ops/engines/opensearch/pom.xml`` lists the server and the modules kabar needs
  (the language analyzers, the percolator, ...); ``KabarOpenSearch.java`` starts one node with
  them in one JVM (Java 17).

Both run single-node, security off, bound to 127.0.0.1, with a small heap (``--heap``, 512 MB
by default), each in its own data directory of the run. Started from a test session they get
the parent-death signal, so a killed pytest does not leave them running.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import yaml

ROOT: Final = Path(__file__).resolve().parents[1]
COMPOSE_FILE: Final = ROOT / "docker-compose.yml"
OPENSEARCH_DIR: Final = ROOT / "ops" / "engines" / "opensearch"
ENGINES: Final = ("elasticsearch", "opensearch")
URL_VARIABLES: Final = {"elasticsearch": "KABAR_ELASTICSEARCH_URL", "opensearch": "KABAR_OPENSEARCH_URL"}
ES_ARTIFACT: Final = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
ES_JAVA_HOME: Final = os.environ.get("KABAR_ES_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
OPENSEARCH_JAVA: Final = os.environ.get("KABAR_OPENSEARCH_JAVA", "java")  # 2.19 runs on Java 17
ENGINE_USER: Final = "kabar-engine"
# Shared by every run on the machine and readable by the engine user (root's home is not).
CACHE: Final = Path(os.environ.get("KABAR_ENGINES_CACHE", "/var/tmp/kabar-engines"))  # noqa: S108
M2: Final = Path.home() / ".m2" / "repository"  # passed to Maven: its own default ignores $HOME
DEFAULT_HEAP: Final = "512m"
START_TIMEOUT: Final = 300.0  # a first start on a loaded 2-core machine, after the download
PORT_ATTEMPTS: Final = 3
_BIND_FAILURE = re.compile(r"BindException|Address already in use|failed to bind")
_PR_SET_PDEATHSIG: Final = 1


class EngineError(RuntimeError):
    pass


def versions(compose_file: Path = COMPOSE_FILE) -> dict[str, str]:
    """Each engine's version: the tag of its image in docker-compose.yml."""
    services = yaml.safe_load(compose_file.read_text())["services"]
    found = {}
    for name in ENGINES:
        image = str(services[name]["image"])
        found[name] = image.rsplit(":", 1)[1]
    return found


_HANDED_OUT: set[int] = set()
_PORTS_BELOW_EPHEMERAL = 12_000


def free_port() -> int:
    """A free loopback port for a server we are about to start, below the kernel's ephemeral range.

    A port from ``bind(0)`` lies inside that range, where any outgoing connection (a worker's to Redis, a test's
    to the API) may be given it before our server binds it: CI saw the API fail with "address already in use".
    Below the range only an explicit bind takes a port; this process never hands out the same one twice.
    """
    low = _ephemeral_range()[0]
    for _ in range(500):
        port = random.randrange(max(1024, low - _PORTS_BELOW_EPHEMERAL), low)  # noqa: S311 - not a secret
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


@dataclass
class Engine:
    name: str
    version: str
    url: str
    pid: int
    run_dir: Path
    log_path: Path
    started_in: float  # seconds from launch to a healthy cluster
    popen: subprocess.Popen[bytes] | None = None
    attempt: int = 1  # launches so far (another port after a bind failure)
    began: float = field(default_factory=time.monotonic)

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    @property
    def snapshots(self) -> Path:
        """The engine's ``path.repo``: snapshot repositories go in folders under it."""
        return self.run_dir / self.name / "snapshots"

    def rss_bytes(self) -> int:
        """Resident memory of the engine's process tree (the ES launcher and its server JVM)."""
        return sum(_rss(pid) for pid in _tree(self.pid))

    def stop(self, timeout: float = 60.0) -> None:
        _stop_group(self.pid, timeout)
        if self.popen is not None:
            self.popen.wait(timeout=5)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "url": self.url, "pid": self.pid,
                "run_dir": str(self.run_dir), "log_path": str(self.log_path), "started_in": self.started_in}


# ---- processes ---------------------------------------------------------------------------------

def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _stop_group(pid: int, timeout: float) -> None:
    """SIGTERM the engine's process group (a clean shutdown), SIGKILL what is left after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not any(_alive(p) for p in _tree(pid)) or not _alive(pid):
                return
            time.sleep(0.2)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies (a killed test session)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _run(argv: Sequence[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise EngineError(f"{what} failed ({' '.join(argv)}):\n{(done.stdout + done.stderr)[-3000:]}")


# ---- Elasticsearch -----------------------------------------------------------------------------

def _engine_user() -> pwd.struct_passwd | None:
    """The unprivileged user Elasticsearch runs as when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None
    with suppress(KeyError):
        return pwd.getpwnam(ENGINE_USER)
    try:
        _run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
              "--shell", "/usr/sbin/nologin", ENGINE_USER], f"creating the user {ENGINE_USER}")
    except EngineError:
        with suppress(KeyError):  # another run created it meanwhile
            return pwd.getpwnam(ENGINE_USER)
        raise
    return pwd.getpwnam(ENGINE_USER)


def _maven_get(artifact: str) -> None:
    _run(["mvn", "-q", "-B", f"-Dmaven.repo.local={M2}", "dependency:get", f"-Dartifact={artifact}",
          "-Dtransitive=false"],
         f"downloading {artifact} (Maven Central)")


def elasticsearch_home(version: str) -> Path:
    """The unpacked integ-test-zip, shared by every run on this machine (read-only to them)."""
    home = CACHE / f"elasticsearch-{version}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    archive = M2 / "org/elasticsearch/distribution/integ-test-zip/elasticsearch" / version / \
        f"elasticsearch-{version}.zip"
    if not archive.exists():
        _maven_get(ES_ARTIFACT.format(version=version))
    CACHE.mkdir(parents=True, exist_ok=True)
    CACHE.chmod(0o755)
    staging = Path(tempfile.mkdtemp(prefix=f".elasticsearch-{version}-", dir=CACHE))
    with zipfile.ZipFile(archive) as unpacked:
        for member in unpacked.infolist():
            target = Path(unpacked.extract(member, staging))
            mode = member.external_attr >> 16  # zipfile drops the permission bits: put them back
            if mode:
                target.chmod(mode | 0o444 | (0o111 if target.is_dir() else 0))
    staging.chmod(0o755)
    top = next(staging.iterdir())
    try:
        top.rename(home)  # atomic: a concurrent run either sees nothing or the whole tree
    except OSError:
        if not (home / "bin" / "elasticsearch").exists():
            raise
    shutil.rmtree(staging, ignore_errors=True)
    return home


def _launch_elasticsearch(version: str, run_dir: Path, heap: str, die_with_parent: bool) -> Engine:
    home = elasticsearch_home(version)
    user = _engine_user()
    work = run_dir / "elasticsearch"
    config = work / "config"
    shutil.copytree(home / "config", config)
    for sub in ("data", "logs", "tmp", "snapshots"):
        (work / sub).mkdir()
    if user is not None:
        for path in [work, *work.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    http_port, transport_port = free_port(), free_port()
    settings = {
        "cluster.name": f"kabar-{run_dir.name}", "node.name": "kabar", "discovery.type": "single-node",
        "network.host": "127.0.0.1", "http.port": http_port, "transport.port": transport_port,
        "path.data": work / "data", "path.logs": work / "logs", "xpack.security.enabled": "false",
        "path.repo": work / "snapshots",  # for the restore drill (scripts/restore_drill.py)
        "action.destructive_requires_name": "false",  # tests wipe their indices between tests
        "cluster.routing.allocation.disk.threshold_enabled": "false",  # a full shared disk is not our test
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ES_", "JAVA_"))}
    env.update({"ES_JAVA_HOME": ES_JAVA_HOME, "ES_PATH_CONF": str(config), "ES_TMPDIR": str(work / "tmp"),
                "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}"})
    argv = [str(home / "bin" / "elasticsearch"), *(f"-E{key}={value}" for key, value in settings.items())]
    log_path = work / "console.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(argv, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, user=user.pw_uid if user else None,
                                 group=user.pw_gid if user else None, extra_groups=[] if user else None,
                                 preexec_fn=_die_with_parent if die_with_parent else None)  # noqa: PLW1509
    return Engine("elasticsearch", version, f"http://127.0.0.1:{http_port}", popen.pid, run_dir, log_path, 0.0,
                  popen)


# ---- OpenSearch --------------------------------------------------------------------------------

def opensearch_classes(version: str) -> tuple[Path, str]:
    """The compiled launcher and its classpath, cached per version and source."""
    source = OPENSEARCH_DIR / "KabarOpenSearch.java"
    digest = hashlib.sha256((OPENSEARCH_DIR / "pom.xml").read_bytes() + source.read_bytes()).hexdigest()[:12]
    build = CACHE / f"opensearch-{version}-{digest}"
    classpath_file = build / "classpath.txt"
    if not (build / "KabarOpenSearch.class").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".opensearch-{version}-", dir=CACHE))
        _run(["mvn", "-q", "-B", f"-Dmaven.repo.local={M2}", "-f", str(OPENSEARCH_DIR / "pom.xml"),
              f"-Dopensearch.version={version}",
              "dependency:build-classpath", f"-Dmdep.outputFile={staging / 'classpath.txt'}"],
             f"resolving OpenSearch {version} (Maven Central)")
        classpath = (staging / "classpath.txt").read_text().strip()
        _run(["javac", "-cp", classpath, "-d", str(staging), str(source)], "compiling KabarOpenSearch.java")
        shutil.copy(OPENSEARCH_DIR / "log4j2.properties", staging / "log4j2.properties")
        try:
            staging.rename(build)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return build, classpath_file.read_text().strip()


def _launch_opensearch(version: str, run_dir: Path, heap: str, die_with_parent: bool) -> Engine:
    build, classpath = opensearch_classes(version)
    work = run_dir / "opensearch"
    (work / "config").mkdir(parents=True)
    (work / "snapshots").mkdir()
    shutil.copy(build / "log4j2.properties", work / "config" / "log4j2.properties")
    (work / "config" / "opensearch.yml").write_text("# settings come from the command line (scripts/engines.py)\n")
    http_port, transport_port = free_port(), free_port()
    settings = {
        "path.home": work, "path.data": work / "data", "path.logs": work / "logs", "path.repo": work / "snapshots",
        "cluster.name": f"kabar-{run_dir.name}", "node.name": "kabar", "discovery.type": "single-node",
        "network.host": "127.0.0.1", "http.port": http_port, "transport.port": transport_port,
        "action.destructive_requires_name": "false",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    argv = [OPENSEARCH_JAVA, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", f"-Djava.io.tmpdir={work}",
            "-cp", f"{build}:{classpath}", "KabarOpenSearch", *(f"-E{key}={value}" for key, value in settings.items())]
    log_path = work / "console.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(argv, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_die_with_parent if die_with_parent else None)  # noqa: PLW1509
    return Engine("opensearch", version, f"http://127.0.0.1:{http_port}", popen.pid, run_dir, log_path, 0.0, popen)


# ---- starting, waiting, stopping ---------------------------------------------------------------

_LAUNCHERS: Final[dict[str, Callable[[str, Path, str, bool], Engine]]] = {
    "elasticsearch": _launch_elasticsearch, "opensearch": _launch_opensearch}


def healthy(url: str) -> bool:
    response = httpx.get(f"{url}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "2s"}, timeout=10)
    return response.status_code == 200 and response.json().get("status") in ("green", "yellow")


_PREPARE: Final[dict[str, Callable[[str], object]]] = {
    "elasticsearch": elasticsearch_home, "opensearch": opensearch_classes}


def start_engines(run_dir: Path, names: Sequence[str] = ENGINES, heap: str = DEFAULT_HEAP,
                  die_with_parent: bool = False) -> dict[str, Engine]:
    """Start the engines side by side; all healthy on return, or none left running.

    Every engine is launched from the calling thread: the parent-death signal fires when the
    *thread* that started a process ends, so a helper thread would take the engines with it.
    """
    wanted = versions()
    for name in names:
        _PREPARE[name](wanted[name])  # download and build, the first time only
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)
    launched: dict[str, Engine] = {}
    try:
        for name in names:
            launched[name] = _launch(name, wanted[name], run_dir, 1, heap=heap, die_with_parent=die_with_parent)
        _await_health(launched, run_dir, heap, die_with_parent)
    except BaseException:
        stop_engines(launched.values())
        raise
    return launched


def _launch(name: str, version: str, run_dir: Path, attempt: int, *, heap: str, die_with_parent: bool) -> Engine:
    attempt_dir = run_dir / f"{name}-{attempt}"
    attempt_dir.mkdir(parents=True)
    attempt_dir.chmod(0o755)  # Elasticsearch's user must reach its directory
    engine = _LAUNCHERS[name](version, attempt_dir, heap, die_with_parent)
    engine.attempt = attempt
    return engine


def _await_health(engines: dict[str, Engine], run_dir: Path, heap: str, die_with_parent: bool) -> None:
    """Poll every engine until each is healthy, recording its start-up time then; an engine whose
    port someone else took meanwhile is launched again on another."""
    pending = set(engines)
    while pending:
        for name in sorted(pending):
            engine = engines[name]
            exited = engine.popen is not None and engine.popen.poll() is not None
            if exited or time.monotonic() - engine.began > START_TIMEOUT:
                engine.stop(timeout=10)
                if engine.attempt < PORT_ATTEMPTS and _BIND_FAILURE.search(engine.log(20000)):
                    engines[name] = _launch(name, engine.version, run_dir, engine.attempt + 1, heap=heap,
                                            die_with_parent=die_with_parent)
                    continue
                why = "exited" if exited else f"was not healthy after {START_TIMEOUT:.0f} s"
                raise EngineError(f"{name} {why}:\n{engine.log()}")
            with suppress(httpx.HTTPError):
                if healthy(engine.url):
                    engine.started_in = time.monotonic() - engine.began
                    pending.discard(name)
        time.sleep(0.5)


def stop_engines(engines: Iterable[Engine]) -> None:
    for engine in list(engines):
        engine.stop()


class TcpProxy:
    """A loopback TCP proxy in front of an engine, for outages: ``stop`` closes the listening socket
    and cuts every connection, so clients get "connection refused" (what a stopped engine looks
    like to them) while the engine keeps its index; ``start`` listens on the same port again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._running = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._running.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        self._running.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._connections.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, target):
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            with self._lock:
                self._connections.difference_update((source, target))


# ---- command line (make engines / make engines-stop) -------------------------------------------

def _state_file(state_dir: Path) -> Path:
    return state_dir / "engines.json"


def _cli_start(args: argparse.Namespace) -> int:
    state_dir: Path = args.state
    if _state_file(state_dir).exists():
        print(f"engines already started ({_state_file(state_dir)}); `make engines-stop` first", file=sys.stderr)
        return 1
    state_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="kabar-engines-"))
    try:
        engines = start_engines(run_dir, args.only or ENGINES, args.heap)
    except EngineError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    engines = {name: engines[name] for name in ENGINES if name in engines}
    _state_file(state_dir).write_text(json.dumps({"run_dir": str(run_dir),
                                                  "engines": [e.as_dict() for e in engines.values()]}, indent=2))
    for engine in engines.values():
        print(f"# {engine.name} {engine.version}: healthy after {engine.started_in:.1f} s, "
              f"RSS {engine.rss_bytes() / 2**20:.0f} MB, log {engine.log_path}")
    for engine in engines.values():
        print(f"{URL_VARIABLES[engine.name]}={engine.url}")
    return 0


def _cli_stop(args: argparse.Namespace) -> int:
    state = _state_file(args.state)
    if not state.exists():
        print("no engines started (nothing to stop)")
        return 0
    recorded = json.loads(state.read_text())
    for item in recorded["engines"]:
        _stop_group(int(item["pid"]), 60.0)
        print(f"stopped {item['name']} ({item['url']})")
    shutil.rmtree(recorded["run_dir"], ignore_errors=True)
    state.unlink()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--state", type=Path, default=ROOT / ".engines", help="where `start` records what it started")
    parser.add_argument("--only", action="append", choices=ENGINES)
    parser.add_argument("--heap", default=DEFAULT_HEAP)
    args = parser.parse_args(argv)
    return _cli_start(args) if args.command == "start" else _cli_stop(args)


if __name__ == "__main__":
    sys.exit(main())
