"""Safe defaults (issue #14): addresses judged by what they embed, no loopback webhooks, metrics on
loopback, and the worker command naming every stage."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from kabar.contract.addresses import embedded_addresses, refusal
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import QUEUES
from kabar_ingest.fetch import AddressPolicy, FetchError, blocked_reason
from kabar_search.watch.webhooks import InvalidWebhook, address_refusal, check_webhook_url

ROOT = Path(__file__).resolve().parents[1]

# Each embeds 127.0.0.1 (or another non-public IPv4 address).
EMBEDDING = {
    "6to4": "2002:7f00:1::",
    "NAT64": "64:ff9b::7f00:1",
    "local NAT64": "64:ff9b:1::7f00:1",
    "IPv4-mapped": "::ffff:127.0.0.1",
    "IPv4-compatible": "::127.0.0.1",
    "6to4 of a private address": "2002:a00:1::",
    "Teredo with a loopback client": "2001:0:4136:e378:8000:63bf:80ff:fffe",
}


@pytest.mark.parametrize("form", list(EMBEDDING))
def test_an_address_that_embeds_a_non_public_one_is_refused_by_fetcher_and_webhooks(form: str) -> None:
    address = ipaddress.ip_address(EMBEDDING[form])
    assert embedded_addresses(address), form
    assert blocked_reason(address) is not None, form
    assert address_refusal(address, ()) is not None, form
    with pytest.raises(InvalidWebhook, match=r"embeds|address"):
        check_webhook_url(f"http://[{address}]:8080/hook", ())


def test_a_6to4_feed_url_is_refused_like_its_embedded_address() -> None:
    with pytest.raises(FetchError, match=r"embeds 127\.0\.0\.1, a loopback address"):
        AddressPolicy().check_host("http://[2002:7f00:1::]/feed.xml")


def test_an_address_that_embeds_a_public_one_passes() -> None:
    assert refusal(ipaddress.ip_address("2002:808:808::")) is None  # 6to4 of 8.8.8.8
    assert refusal(ipaddress.ip_address("64:ff9b::808:808")) is None  # NAT64 of 8.8.8.8


def test_allowed_networks_let_an_embedded_address_through() -> None:
    allowed = (ipaddress.ip_network("127.0.0.0/8"),)
    assert refusal(ipaddress.ip_address("2002:7f00:1::"), allowed) is None


def test_webhooks_to_loopback_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KABAR_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    settings = KabarSettings()
    assert settings.webhook_networks == ()
    for url in ("http://127.0.0.1:6379/", "http://[::1]:6379/"):
        with pytest.raises(InvalidWebhook, match="loopback"):
            check_webhook_url(url, settings.webhook_networks)


def _listening(port: int) -> set[str]:
    """The local addresses something listens on at ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_worker_metrics_listen_on_loopback_by_default(tmp_path: Path) -> None:
    from conftest import free_port, kabar_executable  # noqa: PLC0415

    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABAR_")}
    env.update({"KABAR_MODE": "services", "KABAR_DATA_DIR": str(tmp_path), "KABAR_METRICS_PORT": str(port),
                "KABAR_REDIS_URL": os.environ.get("KABAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")})
    worker = subprocess.Popen([kabar_executable(), "worker", "ingest"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _listening(port):
            time.sleep(0.2)
        assert _listening(port) == {"127.0.0.1"}
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
    finally:
        os.killpg(worker.pid, 9)
        worker.wait()


def test_compose_sets_the_metrics_address_containers_need() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["x-kabar-service"]["environment"]["KABAR_METRICS_HOST"] == "0.0.0.0"


def test_worker_help_names_every_stage() -> None:
    shown = subprocess.run([sys.executable, "-m", "kabar.cli", "worker", "--help"], capture_output=True, text=True,
                           check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    for stage in QUEUES:
        assert stage in shown, shown
