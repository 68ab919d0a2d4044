"""ops/alertmanager/alertmanager.yml in a real Alertmanager: alerts reach the webhook, grouped, with
symptoms inhibited by their cause. Only the webhook URL and the waits are changed for the test."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import ROOT, Process, free_port, wait_until

CONFIG = ROOT / "ops" / "alertmanager" / "alertmanager.yml"


class Webhook:
    """A local webhook receiver that keeps every notification Alertmanager posts."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/kabar"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def alertnames(self) -> list[list[str]]:
        return [sorted(alert["labels"]["alertname"] for alert in n["alerts"]) for n in self.notifications]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def alertmanager_binary() -> str:
    for name in ("prometheus-alertmanager", "alertmanager"):  # Debian's name, upstream's
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Alertmanager is not installed: apt-get install prometheus-alertmanager")


def quick(route: dict[str, Any]) -> None:
    """Seconds instead of minutes, in every route: the test waits for real notifications."""
    for key in ("group_wait", "group_interval"):
        route[key] = "1s"
    for child in route.get("routes", []):
        quick(child)


def write_test_config(webhook_url: str, path: Path) -> Path:
    config = yaml.safe_load(CONFIG.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook.pop("url_file", None)  # compose's secret file; here the local receiver's URL
            webhook["url"] = webhook_url
    quick(config["route"])
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture
def alertmanager(webhook: Webhook, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    argv = [alertmanager_binary(), f"--config.file={write_test_config(webhook.url, tmp_path / 'am.yml')}",
            f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]  # no peers: gossip off
    process = Process("alertmanager", argv, dict(os.environ), tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.popen.poll() is None and httpx.get(f"{url}/-/ready", timeout=2).status_code == 200,
                   30, f"Alertmanager ready\n{process.log()}")
        yield url
    finally:
        process.stop()


def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": severity, **labels},
            "annotations": {"summary": f"{name} (test)"}}


def test_alerts_are_grouped_and_symptoms_inhibited(alertmanager: str, webhook: Webhook) -> None:
    alerts = [
        alert("KabarSourceSilent", "warning", source_domain="kompas.com"),
        alert("KabarSourceSilent", "warning", source_domain="tempo.co"),
        alert("KabarWorkerDown", "critical", service="index"),
        alert("KabarPipelineStalled", "critical"),  # caused by the index worker being down
        alert("KabarDeadLettersGrowing", "warning"),
    ]
    response = httpx.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5)
    assert response.status_code == 200, response.text

    wait_until(lambda: len(webhook.notifications) >= 3, 30, f"three notifications, got {webhook.alertnames()}")
    time.sleep(3)  # group_interval is 1s: an inhibited alert would have been sent by now

    assert sorted(webhook.alertnames()) == [
        ["KabarDeadLettersGrowing"], ["KabarSourceSilent", "KabarSourceSilent"], ["KabarWorkerDown"]]
    assert all(n["receiver"] == "kabar-ops" and n["status"] == "firing" for n in webhook.notifications)
