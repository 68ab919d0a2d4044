"""Make sure the Redis the tests use is reachable; install and start a local one if it is not.

Used by ``make test`` and ``.ci/run``. When the URL points at this machine and nothing
answers there, it starts ``redis-server`` (no persistence, loopback only). When
``redis-server`` is missing it installs Debian's package first, if it can (root and
``apt-get``); otherwise it says in one line what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlsplit

import redis

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def install_redis_server() -> str:
    """Install Debian's redis-server; exit with one clear line where that is not possible."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        sys.exit("redis-server is not installed: run `sudo apt-get install redis-server` "
                 "(or point REDIS_URL at a Redis that answers)")
    print("redis-server is not installed: installing Debian's package", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], check=True, env=env)
    subprocess.run([apt, "install", "-y", "-qq", "--no-install-recommends", "redis-server"], check=True, env=env)
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("apt-get installed redis-server but it is not on PATH")
    return server


def start_local(port: int) -> None:
    server = shutil.which("redis-server") or install_redis_server()
    subprocess.run([server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
                    "--save", "", "--appendonly", "no"], check=True)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"
    if reachable(url):
        return
    parts = urlsplit(url)
    if parts.hostname not in LOCAL_HOSTS:
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
