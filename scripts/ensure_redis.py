"""Make sure the Redis the tests use is reachable; start a local one if it is not.

Used by ``make test``. Starts ``redis-server`` (no persistence, loopback only) when the
URL points at this machine and nothing answers there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from urllib.parse import urlsplit

import redis


def reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def start_local(port: int) -> None:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed: apt-get install redis-server (or set REDIS_URL)")
    subprocess.run([server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
                    "--save", "", "--appendonly", "no"], check=True)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"
    if reachable(url):
        return
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit(f"Redis at {url} is not reachable")
    start_local(parts.port or 6379)
    for _ in range(50):
        if reachable(url):
            print(f"started redis-server on port {parts.port or 6379}")
            return
        time.sleep(0.1)
    sys.exit(f"started redis-server but {url} still does not answer")


if __name__ == "__main__":
    main()
