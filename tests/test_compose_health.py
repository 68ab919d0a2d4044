"""Every compose healthcheck, run under ``sh`` the way Docker runs it, against a closed and an open port.

No Docker engine runs here, so the check's own command is taken from docker-compose.yml (``$$``
unescaped as compose does, ``localhost:PORT`` pointed at a port of ours) and run with the same tools
the images have: curl (Elasticsearch, Kibana), wget (Prometheus, Alertmanager; the images have
busybox's, this is GNU's: both exit non-zero on a refused connection and on an HTTP error), redis-cli,
python. Each must fail against a closed port and against a server that answers "not ready", and pass
against one that answers "ready".
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port

PASSWORD = "healthcheckPassword123"


def shell_command(healthcheck: dict[str, Any]) -> str:
    """The command Docker runs: CMD-SHELL's string, or CMD's argv, as one ``sh -c`` string."""
    kind, *rest = healthcheck["test"]
    command = rest[0] if kind == "CMD-SHELL" else shlex.join(rest)
    return command.replace("$$", "$")  # compose's escape for a literal $


def run_check(command: str, port: int, env: dict[str, str] | None = None) -> int:
    pointed = re.sub(r"localhost:\d+", f"127.0.0.1:{port}", command)
    pointed = pointed.replace("-p 6379", f"-p {port}")  # redis-cli
    assert pointed != command, f"no port to point at in {command!r}"
    environment = {**os.environ, "ELASTIC_PASSWORD": PASSWORD, **(env or {})}
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment['PATH']}"  # `python` is ours
    return subprocess.run(["sh", "-c", pointed], env=environment, capture_output=True, timeout=30,
                          check=False).returncode


class Answer:
    """What the fake server answers: status and body per path, and whether it checks the password."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"{}"
        self.needs_password = False


def _serve(answer: Answer) -> tuple[ThreadingHTTPServer, int]:
    expected = "Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if answer.needs_password and self.headers.get("Authorization") != expected:
                self._reply(401, b'{"error": "missing authentication credentials"}')
                return
            self._reply(answer.status, answer.body)

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


@pytest.fixture
def http() -> Iterator[tuple[Answer, int]]:
    answer = Answer()
    server, port = _serve(answer)
    yield answer, port
    server.shutdown()
    server.server_close()


def needs(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian package: {tool})")


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    one_shots = {name for name, service in compose["services"].items() if service.get("restart") == "no"}
    assert one_shots == {"es-setup", "kibana-setup"}
    for name, service in compose["services"].items():
        if name not in one_shots:
            assert "healthcheck" in service, name


def test_elasticsearch_healthy_only_when_yellow_and_authenticated(compose: dict[str, Any],
                                                                  http: tuple[Answer, int]) -> None:
    needs("curl")
    command = shell_command(compose["services"]["elasticsearch"]["healthcheck"])
    assert run_check(command, free_port()) != 0, "passes against a closed port"
    answer, port = http
    answer.needs_password = True
    answer.body = json.dumps({"status": "yellow"}).encode()
    assert run_check(command, port) == 0
    assert run_check(command, port, {"ELASTIC_PASSWORD": "wrong"}) != 0
    answer.status, answer.body = 408, json.dumps({"status": "red", "timed_out": True}).encode()
    assert run_check(command, port) != 0, "passes while the cluster is red"


@pytest.mark.parametrize("level", ["unavailable", "degraded", "critical"])
def test_kibana_healthy_only_when_available(compose: dict[str, Any], http: tuple[Answer, int], level: str) -> None:
    needs("curl")
    command = shell_command(compose["services"]["kibana"]["healthcheck"])
    assert run_check(command, free_port()) != 0
    answer, port = http
    answer.body = json.dumps({"status": {"overall": {"level": "available"}}}).encode()
    assert run_check(command, port) == 0
    answer.body = json.dumps({"status": {"overall": {"level": level}}}).encode()
    assert run_check(command, port) != 0, f"passes when Kibana is {level}"


@pytest.mark.parametrize("service", ["prometheus", "alertmanager"])
def test_prometheus_and_alertmanager_healthy_only_when_ready(compose: dict[str, Any], http: tuple[Answer, int],
                                                             service: str) -> None:
    needs("wget")
    command = shell_command(compose["services"][service]["healthcheck"])
    assert run_check(command, free_port()) != 0
    answer, port = http
    assert run_check(command, port) == 0
    answer.status = 503
    assert run_check(command, port) != 0


@pytest.mark.parametrize("service", ["ingest-worker", "enrich-worker", "index-worker", "feeds-worker",
                                     "alerts-worker", "api"])
def test_kabar_services_healthy_only_when_they_answer(compose: dict[str, Any], http: tuple[Answer, int],
                                                      service: str) -> None:
    command = shell_command(compose["services"][service]["healthcheck"])
    assert run_check(command, free_port()) != 0
    answer, port = http
    assert run_check(command, port) == 0
    answer.status = 500
    assert run_check(command, port) != 0


def test_redis_healthy_only_when_it_answers_pong(compose: dict[str, Any], tmp_path: Path) -> None:
    needs("redis-cli")
    needs("redis-server")
    command = shell_command(compose["services"]["redis"]["healthcheck"])
    assert run_check(command, free_port()) != 0
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while run_check(command, port) != 0:
            assert time.monotonic() < deadline, "redis-server did not come up"
            time.sleep(0.2)
        # A Redis that answers with an error (here: a password is required) is not healthy.
        subprocess.run(["redis-cli", "-p", str(port), "config", "set", "requirepass", "x"], check=True,
                       capture_output=True)
        assert run_check(command, port) != 0
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_beat_healthy_only_while_it_writes_its_schedule(compose: dict[str, Any], tmp_path: Path) -> None:
    command = shell_command(compose["services"]["beat"]["healthcheck"])
    beat_dir = tmp_path / "beat"
    local = command.replace("/data/beat", str(beat_dir))
    assert local != command

    def healthy() -> bool:
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        return subprocess.run(["sh", "-c", local], env=environment, timeout=30, check=False).returncode == 0

    assert not healthy(), "healthy before beat ever started"
    beat_dir.mkdir()
    schedule = beat_dir / "schedule"
    schedule.write_bytes(b"shelve")
    assert healthy()
    stale = time.time() - 3600
    os.utime(schedule, (stale, stale))
    assert not healthy(), "healthy although beat stopped writing an hour ago"
