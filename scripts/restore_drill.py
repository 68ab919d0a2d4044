#!/usr/bin/env python3
"""Restore drill: back up, wipe, restore and count, on a real Redis and a real search engine.

    .venv/bin/python scripts/restore_drill.py redis
    .venv/bin/python scripts/restore_drill.py search --url http://elastic:PASSWORD@127.0.0.1:9200 \\
        --repository-path /path/the/server/has/in/path.repo

redis:  starts a private redis-server (AOF and RDB, as compose runs it) in a temporary folder, fills it
        with kabar-shaped state (a queue list, hashes, sorted sets, a near-duplicate-sized blob per
        article), takes the backup of docs/operations.md (BGSAVE, then a copy of dump.rdb and the
        appendonly directory), wipes the server and its files, restores the copy into an empty folder,
        starts redis-server there and compares every key count and a checksum of the values.
search: against a running Elasticsearch or OpenSearch whose path.repo includes --repository-path:
        indexes N documents into a drill index, registers an fs snapshot repository, snapshots,
        deletes the index, restores it and counts. Only the drill's own index and repository are touched.

Prints each step with its timing and exits 1 if anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis
from engines import free_port  # scripts/engines.py, beside this script

ARTICLES = 2000


def step(name: str, action: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = action()
    print(f"  {name:<44} {time.monotonic() - started:6.2f} s  {result if result is not None else ''}")
    return result


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()  # below the ephemeral range: see engines.free_port
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory),
             "--appendonly", "yes", "--save", "3600 1"], stdout=subprocess.DEVNULL)
        self.client: redis.Redis[bytes] = redis.Redis(port=self.port)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=30)


def fill(client: redis.Redis[bytes]) -> None:
    """kabar-shaped state: queue messages, seen hashes, versions, a record per article, a retention ledger."""
    pipe = client.pipeline(transaction=False)
    for number in range(ARTICLES):
        article = hashlib.sha256(b"%d" % number).hexdigest()
        pipe.lpush("ingest", b'{"body": "message %d"}' % number)
        pipe.hset("kabar:ingest:seen", article, article[:16])
        pipe.zadd(f"kabar:versions:{article}", {b"v1-compressed-text-%d" % number: 1})
        pipe.hset(f"kabar:lsh:rec:{number >> 10}", number & 1023, hashlib.sha512(article.encode()).digest() * 8)
        pipe.zadd("kabar:retention:seen", {article: time.time()})
    pipe.execute()


def _content(client: redis.Redis[bytes], name: bytes) -> bytes:
    """A key's type and content, in a canonical order (DUMP's bytes depend on the in-memory encoding)."""
    kind = client.type(name)
    if kind == b"hash":
        value: Any = sorted(client.hgetall(name).items())
    elif kind == b"zset":
        value = client.zrange(name, 0, -1, withscores=True)
    elif kind == b"list":
        value = client.lrange(name, 0, -1)
    elif kind == b"set":
        value = sorted(client.smembers(name))
    else:
        value = client.get(name)
    return kind + repr(value).encode()


def fingerprint_of(client: redis.Redis[bytes]) -> tuple[int, str]:
    """Number of keys and a digest over every key's name, type and content, in key order."""
    digest = hashlib.sha256()
    names = sorted(client.scan_iter(count=1000))
    for name in names:
        digest.update(name)
        digest.update(_content(client, name))
    return len(names), digest.hexdigest()[:16]


def backup(client: redis.Redis[bytes], data: Path, target: Path) -> str:
    """docs/operations.md's procedure: BGSAVE, wait for it, copy the RDB and the AOF directory."""
    # Not "until LASTSAVE changes": LASTSAVE counts whole seconds, and a save that ends in the second
    # the server started (or last saved) leaves it unchanged, so that wait never ended on a quiet machine.
    client.bgsave()  # forks before it answers: from here the save is in progress until it ends
    deadline = time.monotonic() + 120
    while (persistence := client.info("persistence"))["rdb_bgsave_in_progress"]:
        if time.monotonic() > deadline:
            raise TimeoutError("BGSAVE still running after 120 s")
        time.sleep(0.1)
    if persistence["rdb_last_bgsave_status"] != "ok":
        raise RuntimeError(f"BGSAVE failed: rdb_last_bgsave_status={persistence['rdb_last_bgsave_status']}")
    target.mkdir()
    shutil.copy2(data / "dump.rdb", target / "dump.rdb")
    shutil.copytree(data / "appendonlydir", target / "appendonlydir")
    return f"{sum(path.stat().st_size for path in target.rglob('*') if path.is_file()) / 1e6:.1f} MB copied"


def wipe(server: RedisServer) -> None:
    server.client.flushall()
    server.stop()
    shutil.rmtree(server.directory)


def redis_drill() -> bool:
    print(f"Redis restore drill ({ARTICLES} articles of kabar-shaped state)")
    with tempfile.TemporaryDirectory(prefix="kabar-drill-") as folder:
        root = Path(folder)
        data, copy, restored = root / "data", root / "backup", root / "restored"
        data.mkdir()
        server = RedisServer(data)
        step("fill", lambda: fill(server.client))
        before = step("count and checksum", lambda: fingerprint_of(server.client))
        step("back up (BGSAVE, copy rdb + aof)", lambda: backup(server.client, data, copy))
        step("wipe (FLUSHALL, stop, delete files)", lambda: wipe(server))
        step("restore (copy back, start)", lambda: shutil.copytree(copy, restored).name)
        server = RedisServer(restored)
        try:
            after = step("count and checksum", lambda: fingerprint_of(server.client))
        finally:
            server.stop()
    same = before == after
    print(f"  before {before}, after {after}: {'RESTORED' if same else 'DIFFERENT'}")
    return same


def search_drill(url: str, repository_path: str, documents: int) -> bool:
    print(f"Search restore drill at {httpx.URL(url).copy_with(username=None, password=None)} ({documents} documents)")
    stamp = time.strftime("%Y%m%d%H%M%S")
    index, repository, snapshot = f"kabar-drill-{stamp}", f"kabar-drill-{stamp}", f"drill-{stamp}"
    with httpx.Client(base_url=url, timeout=120) as client:
        def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            answer = client.request(method, path, **kwargs)
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            return found

        def count() -> int:
            call("POST", f"/{index}/_refresh")
            return int(call("GET", f"/{index}/_count")["count"])

        def index_documents() -> None:
            lines = []
            for number in range(documents):
                lines += [json.dumps({"index": {"_id": str(number)}}), json.dumps({"title": f"berita {number}"})]
            call("POST", f"/{index}/_bulk", content="\n".join(lines) + "\n",
                 headers={"content-type": "application/x-ndjson"})

        try:
            step("index", index_documents)
            before = step("count", count)
            step("register fs repository", lambda: call("PUT", f"/_snapshot/{repository}", json={
                "type": "fs", "settings": {"location": f"{repository_path}/{repository}"}}) and None)
            step("snapshot", lambda: call("PUT", f"/_snapshot/{repository}/{snapshot}",
                                          params={"wait_for_completion": "true"},
                                          json={"indices": index})["snapshot"]["state"])
            step("wipe (delete the index)", lambda: call("DELETE", f"/{index}") and None)
            step("restore", lambda: call("POST", f"/_snapshot/{repository}/{snapshot}/_restore",
                                         params={"wait_for_completion": "true"}, json={"indices": index}) and None)
            after = step("count", count)
        finally:
            client.delete(f"/{index}")
            client.delete(f"/_snapshot/{repository}/{snapshot}")
            client.delete(f"/_snapshot/{repository}")
    same = before == after == documents
    print(f"  before {before}, after {after}: {'RESTORED' if same else 'DIFFERENT'}")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("redis", help="a private redis-server: fill, back up, wipe, restore, compare")
    search = sub.add_parser("search", help="a running Elasticsearch/OpenSearch: index, snapshot, wipe, restore")
    search.add_argument("--url", required=True)
    search.add_argument("--repository-path", required=True, help="a folder inside the server's path.repo")
    search.add_argument("--documents", type=int, default=1000)
    args = parser.parse_args()
    if args.what == "redis":
        if shutil.which("redis-server") is None:
            print("error: redis-server is not installed (Debian: redis-server)", file=sys.stderr)
            return 2
        return 0 if redis_drill() else 1
    return 0 if search_drill(args.url, args.repository_path, args.documents) else 1


if __name__ == "__main__":
    sys.exit(main())
