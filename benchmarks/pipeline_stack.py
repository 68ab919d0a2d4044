"""benchmarks/pipeline.py, starting the services: the stack of benchmarks/load.py (a private redis-server,
the compose workers, the engine's index) with the search server asked directly and the producer pointed at it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import load  # the load stack (benchmarks/load.py)
import support
from pipeline_feed import Sender
from pipeline_measure import Result


class Search:
    """The search server, asked directly (httpx, one kept-alive connection)."""

    def __init__(self, url: str, alias: str) -> None:
        self.url = f"{url}/{alias}"
        self.http = httpx.Client(timeout=60)

    def count(self) -> int:
        response = self.http.get(f"{self.url}/_count")
        return int(response.json().get("count", 0)) if response.status_code == 200 else 0

    def found(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` a search finds now (no refresh asked: what a reader would see)."""
        hits: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = list(ids[start:start + 1000])
            response = self.http.post(f"{self.url}/_search", json={
                "size": len(chunk), "_source": False, "query": {"ids": {"values": chunk}}})
            if response.status_code == 404:
                continue
            response.raise_for_status()
            hits.update(hit["_id"] for hit in response.json()["hits"]["hits"])
        return hits

    def close(self) -> None:
        self.http.close()


@dataclass
class Services:
    stack: load.LoadStack
    search: Search
    sender: Sender
    roots: dict[str, int] = field(default_factory=dict)

    def dead_letters(self) -> int:
        return int(self.stack.redis.client().hlen("kabar:deadletters"))


@contextmanager
def services_stack(workdir: Path, options: Result) -> Iterator[Services]:
    extra = {"KABAR_BATCH_SIZE": str(options["batch_size"])}
    stack = load.LoadStack(workdir, options["engine"], options["enrich_workers"], extra_env=extra,
                           engine_url=options["engine_url"])
    search: Search | None = None
    try:
        stack.start()
        assert stack.redis.proc is not None
        support.clear_kabar_environ()
        os.environ.update(stack.env)  # before kabar is imported: the producer talks to this stack
        search = Search(options["engine_url"], stack.alias)
        roots = {stage: proc.popen.pid for stage, proc in stack.workers.items()}
        roots["redis"] = stack.redis.proc.popen.pid
        if options.get("engine_pid"):  # the engine's whole process tree (Elasticsearch: launcher and server)
            roots["engine"] = options["engine_pid"]
        yield Services(stack, search, Sender(options["batch_size"]), roots)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        if search is not None:
            search.close()
        stack.stop()
