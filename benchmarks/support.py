"""What the benchmark scripts share: the corpus, free ports and waiting, process trees (started, stopped and
measured from /proc), a private redis-server, the search engines, and CPU-time measuring.

Scripts import it as ``support`` (benchmarks/ is on ``sys.path`` when a script runs; a module loaded by path,
as the tests load faults.py, puts it there first).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import redis
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import engines  # noqa: E402 - scripts/engines.py: the real engines and the outage proxy

ENGINES = engines.ENGINES
TcpProxy = engines.TcpProxy
CORPUS = ROOT.parent / "shared" / "corpus" / "indosum.jsonl"
STAGES = ("ingest", "enrich", "index")
WORKER_SERVICES = {"ingest": "ingest-worker", "enrich": "enrich-worker", "index": "index-worker"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def use_source_tree(*folders: str) -> None:
    """Import from these folders of the repository first (the services' sources, their training scripts)."""
    for folder in folders:
        sys.path.insert(0, str(ROOT / folder))


# ---- the corpus ------------------------------------------------------------------------------------------------

def corpus_records() -> list[dict[str, Any]]:
    """The IndoSum records of ../shared/corpus, read in place."""
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def corpus_title(record: dict[str, Any]) -> str:
    """A record's title, from its id (``category-the-title-words``)."""
    return str(record["id"]).split("-", 1)[-1].replace("-", " ").capitalize()


def corpus_copies(start: int, count: int, site: str, tag: str) -> Iterator[dict[str, Any]]:
    """Articles number ``start`` to ``start + count``: the corpus again and again. Copy c of an article gets its
    own URL (``https://{site}/{tag}/{number}``) and, from copy 1 on, a last line naming the copy, so that its id
    and content hash are new. Fields: url, title, content, published_at."""
    records = corpus_records()
    for number in range(start, start + count):
        record = records[number % len(records)]
        copy = number // len(records)
        url = f"https://{site}/{tag}/{number}"
        title = corpus_title(record) + (f" ({copy})" if copy else "")
        text = record["text"] + (f"\n\nSalinan {copy} dari arsip {tag}." if copy else "")
        yield {"url": url, "title": title, "content": text, "published_at": record["date_from_id"]}


def article_id(url: str) -> str:
    """The id kabar gives the article at ``url`` (ingest's rule: the canonical URL's hash)."""
    from kabar_ingest.identity import article_id as make_id  # noqa: PLC0415 - kabar after the caller's set-up
    from kabar_ingest.identity import canonical_url  # noqa: PLC0415

    return make_id(canonical_url(url), "")


# ---- ports and waiting -----------------------------------------------------------------------------------------

def free_port() -> int:
    """A free loopback port below the ephemeral range (see scripts/engines.py)."""
    return engines.free_port()


class GaveUp(RuntimeError):
    """Raised by a ``wait_for`` check when waiting longer is pointless (what it waits for has died)."""


def wait_for(check: Callable[[], Any], timeout: float, what: str | Callable[[], str], interval: float = 0.25) -> Any:
    """Poll ``check`` until it returns something true; ``TimeoutError`` after ``timeout`` seconds. Other errors of
    ``check`` count as "not yet", except ``GaveUp``, which ends the wait at once. ``what`` may be a function (say,
    one that reads a log), called only at the timeout so that the error shows the state then."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except GaveUp:
            raise
        except Exception as exc:  # what we wait for may not answer yet
            last, result = exc, None
        if result:
            return result
        time.sleep(interval)
    described = what() if callable(what) else what
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {described} (last error: {last})")


# ---- processes -------------------------------------------------------------------------------------------------

def kabar_executable() -> str:
    candidate = Path(sys.executable).with_name("kabar")
    return str(candidate) if candidate.exists() else "kabar"


def kabar(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the ``kabar`` command with ``env``."""
    return subprocess.run([kabar_executable(), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def compose_worker_argv(stage: str) -> list[str]:
    """The worker's command from docker-compose.yml, with this environment's ``kabar``."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"][WORKER_SERVICES[stage]]["command"]
    assert command[0] == "kabar", command
    return [kabar_executable(), *command[1:]]


def environ_without_kabar() -> dict[str, str]:
    """This process' environment less every ``KABAR_*`` setting: the base of a stack's own settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}


def clear_kabar_environ() -> None:
    """Drop every ``KABAR_*`` setting from this process' environment (before it takes a stack's)."""
    for key in [key for key in os.environ if key.startswith("KABAR_")]:
        del os.environ[key]


class Proc:
    """A child process in its own session (so a signal reaches its whole group), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
                                      start_new_session=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown handlers, no acknowledgements."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()

    def stop(self, grace: float = 15) -> None:
        self.terminate()
        self.wait_stopped(grace)

    def terminate(self) -> None:
        """Ask the process group to shut down (Celery's warm shutdown); ``wait_stopped`` waits for it."""
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)

    def wait_stopped(self, grace: float = 15) -> None:
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        with suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log.close()


def stop_all(procs: Iterable[Proc], grace: float = 15) -> None:
    """Stop processes together: each warm shutdown takes a second or more, and one after the other that added up."""
    procs = list(procs)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait_stopped(grace)


def worker_ready(proc: Proc) -> bool:
    """A kabar worker has started (Celery's " ready." line); ``GaveUp`` when it has exited instead."""
    if not proc.alive():
        raise GaveUp(f"{proc.name} worker exited:\n{proc.log()[-3000:]}")
    return " ready." in proc.log()


# ---- process trees, from /proc ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProcInfo:
    ppid: int
    cpu: float  # user + system seconds of the process itself (all its threads)
    reaped_cpu: float  # of its children that have exited and been waited for
    rss_mb: float


def read_procs() -> dict[int, ProcInfo]:
    procs: dict[int, ProcInfo] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks = [int(value) for value in fields[11:15]]  # utime stime cutime cstime
        procs[int(entry.name)] = ProcInfo(int(fields[1]), (ticks[0] + ticks[1]) / CLK_TCK,
                                          (ticks[2] + ticks[3]) / CLK_TCK, int(fields[21]) * PAGE_MB)
    return procs


def descendants(root: int, procs: dict[int, ProcInfo]) -> list[int]:
    """``root`` and every process below it (those of ``procs``)."""
    children: dict[int, list[int]] = {}
    for pid, info in procs.items():
        children.setdefault(info.ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def tree_cpu(root: int, procs: dict[int, ProcInfo]) -> float:
    """CPU seconds of a process tree: the live processes', plus the root's exited children's."""
    pids = descendants(root, procs)
    return sum(procs[pid].cpu for pid in pids) + (procs[root].reaped_cpu if root in procs else 0.0)


def tree_rss_mb(root: int, procs: dict[int, ProcInfo] | None = None) -> float:
    """Resident memory of a process and everything below it (a worker's pool processes), MB."""
    procs = procs if procs is not None else read_procs()
    return sum(procs[pid].rss_mb for pid in descendants(root, procs))


def pss_mb(pid: int) -> float:
    """Proportional set size: the process' resident memory, pages shared with others divided among them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


# ---- this process: CPU time and memory -------------------------------------------------------------------------

def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


# ---- a private redis-server ------------------------------------------------------------------------------------

Fsync = Literal["always", "everysec"]


class RedisServer:
    """A private redis-server on a free loopback port, never the shared one; persistent (AOF, fsync ``fsync``:
    always, as the fault trials want, or every second, as docker-compose.yml runs it) when asked."""

    def __init__(self, directory: Path, *, persistent: bool = True, password: str | None = None,
                 fsync: Fsync = "always", binary: str = "redis-server") -> None:
        self.directory = directory
        self.port = free_port()
        self.persistent = persistent
        self.password = password
        self.fsync = fsync
        self.binary = binary
        self.proc: Proc | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis[bytes]:
        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=2)

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", str(self.directory), "--daemonize", "no", "--maxmemory-policy", "noeviction"]
        argv += ["--appendonly", "yes", "--appendfsync", self.fsync] if self.persistent else ["--appendonly", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = Proc("redis", argv, dict(os.environ), self.directory / "redis.log")
        proc = self.proc

        def answers() -> bool:
            if not proc.alive():
                raise GaveUp(f"redis-server exited with {proc.popen.returncode}:\n{proc.log()[-2000:]}")
            return bool(self.client().ping())

        wait_for(answers, 20, f"redis-server on port {self.port}", 0.05)

    def crash(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=10)


@contextmanager
def private_redis(binary: str = "redis-server") -> Iterator[str]:
    """The URL of a redis-server of our own in a temporary directory, no persistence: flushing and filling it
    harms nobody. Stopped, and its directory removed, on exit."""
    with tempfile.TemporaryDirectory(prefix="kabar-bench-redis-") as folder:
        server = RedisServer(Path(folder), persistent=False, binary=binary)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


def queue_depths(client: redis.Redis[bytes]) -> dict[str, int]:
    """Messages waiting in each stage's queue."""
    pipe = client.pipeline()
    for stage in STAGES:
        pipe.llen(stage)
    return dict(zip(STAGES, (int(depth) for depth in pipe.execute()), strict=True))


def pipeline_idle(client: redis.Redis[bytes]) -> bool:
    """No message waiting in a queue, none held by a worker (in progress or a retry's countdown), and
    none recorded in flight."""
    pipe = client.pipeline()
    for stage in STAGES:
        pipe.llen(stage)
    pipe.hlen("unacked")
    pipe.hlen("kabar:inflight")
    return not any(pipe.execute())


# ---- the search engines ----------------------------------------------------------------------------------------

@contextmanager
def search_engine(backend: str, url: str | None = None) -> Iterator[tuple[str | None, int | None]]:
    """The URL and process id of a running ``backend`` engine for the whole run: the one at ``url``
    (process unknown) when given, else one started here (scripts/engines.py) and stopped on exit.
    (None, None) for the SQLite backend."""
    if backend not in ENGINES or url:
        yield url, None
        return
    run_dir = Path(tempfile.mkdtemp(prefix="kabar-bench-engines-"))
    try:
        started = engines.start_engines(run_dir, [backend], die_with_parent=True)
        engine = started[backend]
        print(f"# {engine.name} {engine.version}: healthy after {engine.started_in:.1f} s, "
              f"RSS {engine.rss_bytes() / 2**20:.0f} MB", flush=True)
        try:
            yield engine.url, engine.pid
        finally:
            engines.stop_engines(started.values())
    finally:
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)


def engine_env(backend: str, url: str, alias: str) -> dict[str, str]:
    """The ``KABAR_*`` settings that point kabar at the engine ``backend`` at ``url``, under index ``alias``."""
    return {"KABAR_SEARCH_BACKEND": backend, f"KABAR_{backend.upper()}_URL": url, "KABAR_INDEX_ALIAS": alias}


def drop_indices(url: str, alias: str) -> None:
    """Delete a run's indices and index template (``alias``'s) from the engine at ``url``: only that run's."""
    httpx.delete(f"{url}/{alias}-*", timeout=120)
    httpx.delete(f"{url}/_index_template/{alias}", timeout=60)
