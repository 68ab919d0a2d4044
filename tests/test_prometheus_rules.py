"""ops/prometheus and ops/alertmanager: valid for promtool/amtool, alert rules unit-tested, consistent
with docker-compose.yml and docs/operations.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, WORKER_SERVICES

PROMETHEUS_DIR = ROOT / "ops" / "prometheus"
ALERTMANAGER_CONFIG = ROOT / "ops" / "alertmanager" / "alertmanager.yml"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed: apt-get install {package}")
    return path


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool", "prometheus"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("amtool", "prometheus-alertmanager"), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def amtool_reads_url_file() -> bool:
    """Alertmanager 0.26 added ``url_file``; Debian 12's amtool is 0.25."""
    found = re.search(r"version (\d+)\.(\d+)", amtool("--version").stdout + amtool("--version").stderr)
    return found is not None and (int(found[1]), int(found[2])) >= (0, 26)


def checkable_alertmanager_config(directory: Path) -> Path:
    """The shipped config, or for an amtool older than ``url_file`` the same config with each ``url_file``
    replaced by a ``url``: the only difference, so routes, receivers and inhibitions are still checked."""
    if amtool_reads_url_file():
        return ALERTMANAGER_CONFIG
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            assert webhook.pop("url_file").startswith("/run/secrets/")
            webhook["url"] = "http://alert-receiver.invalid/kabar"
    converted = directory / "alertmanager.yml"
    converted.write_text(yaml.safe_dump(config))
    return converted


def rule_files() -> list[str]:
    return sorted(str(path.relative_to(PROMETHEUS_DIR)) for path in (PROMETHEUS_DIR / "rules").glob("*.yml"))


def rule_test_files() -> list[str]:
    return sorted(str(path.relative_to(PROMETHEUS_DIR)) for path in (PROMETHEUS_DIR / "tests").glob("*.yml"))


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for name in rule_files():
        for group in yaml.safe_load((PROMETHEUS_DIR / name).read_text())["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


def test_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in rule_files():  # check config also checks every rule file it loads
        assert name in result.stdout, f"{name} is not loaded by prometheus.yml"


def test_rules_are_valid() -> None:
    assert rule_files(), "no rule files"
    result = promtool("check", "rules", *rule_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    assert rule_test_files(), "no rule unit tests"
    result = promtool("test", "rules", *rule_test_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_and_documented() -> None:
    tested = set()
    for name in rule_test_files():
        for case in yaml.safe_load((PROMETHEUS_DIR / name).read_text())["tests"]:
            tested |= {check["alertname"] for check in case.get("alert_rule_test", []) if check["exp_alerts"]}
    alerts = {rule["alert"] for rule in alert_rules()}
    assert alerts == tested, f"alerts never seen firing in a unit test: {alerts - tested}"

    headings = {line.lstrip("#").strip().lower() for line in OPERATIONS_DOC.read_text().splitlines()
                if line.startswith("#")}
    for rule in alert_rules():
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"docs/operations.md#{rule['alert'].lower()}", runbook
        assert rule["alert"].lower() in headings, f"docs/operations.md has no section {rule['alert']}"
        assert rule["labels"]["severity"] in {"warning", "critical"}


# Each mutation breaks one rule the way a careless edit would; the unit tests must notice.
MUTATIONS = [
    pytest.param("kabar-pipeline.yml",
                 "(sum(increase(kabar_stage_processed_total{stage=\"index\"}[10m])) or vector(0)) == 0",
                 "sum(increase(kabar_stage_processed_total{stage=\"index\"}[10m])) == 0",
                 id="stall-without-index-series"),
    pytest.param("kabar-pipeline.yml", ") > 0.05", ") > 0.5", id="error-rate-threshold"),
    pytest.param("kabar-pipeline.yml", ">= 3", ">= 1", id="error-rate-minimum-failures"),
    pytest.param("kabar-pipeline.yml", "max(delta(kabar_dead_letter_messages[30m])) > 0",
                 "max(kabar_dead_letter_messages) > 0", id="dead-letters-size-not-growth"),
    pytest.param("kabar-pipeline.yml", "[10m]))) > 300", "[10m]))) > 900", id="lag-threshold"),
    pytest.param("kabar-pipeline.yml", "absent(kabar_queue_collector_up == 1)", "kabar_queue_collector_up == 0",
                 id="queue-metrics-missing-series"),
    pytest.param("kabar-pipeline.yml", "unless on (service) (up{job=\"kabar-workers\"} == 1)",
                 "unless on (service) (up{job=\"kabar-workers\"} == 0)", id="worker-down-any-replica"),
    pytest.param("kabar-sources.yml", "source_domain!~\"other|unknown\"", "source_domain!=\"unknown\"",
                 id="silent-other-bucket"),
    pytest.param("kabar-sources.yml", "unless on (source_domain)\n", "and on (source_domain)\n",
                 id="silent-vanished-series"),
    pytest.param("kabar-sources.yml", "< 0.5 *", "< 0.1 *", id="yield-drop-factor"),
    pytest.param("kabar-sources.yml", "[1h])) >= 10", "[1h])) >= 1", id="yield-minimum-pages"),
]


@pytest.mark.parametrize(("rule_file", "before", "after"), MUTATIONS)
def test_rule_unit_tests_catch_a_broken_rule(tmp_path: Path, rule_file: str, before: str, after: str) -> None:
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS_DIR, copy)
    path = copy / "rules" / rule_file
    text = path.read_text()
    assert text.count(before) == 1, f"mutation target not found once in {rule_file}: {before}"
    path.write_text(text.replace(before, after))

    result = promtool("test", "rules", f"tests/{rule_file.removesuffix('.yml')}.test.yml", cwd=copy)

    assert result.returncode != 0, f"the unit tests still pass with {after!r}"


def test_prometheus_scrapes_every_compose_service(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    scraped = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            scraped |= {f"{name}:{sd['port']}" for name in sd["names"]}
        for static in job.get("static_configs", []):
            scraped |= set(static["targets"])
    services = compose["services"]
    expected = {f"{WORKER_SERVICES[stage]}:9100" for stage in WORKER_SERVICES} | {"api:8000", "alertmanager:9093"}
    assert expected <= scraped
    for target in scraped - {"localhost:9090"}:
        assert target.split(":")[0] in services, f"{target} is not a compose service"
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert services["alertmanager"]["image"].startswith("prom/alertmanager")
    assert "./ops/alertmanager:/etc/alertmanager:ro" in services["alertmanager"]["volumes"]
    assert "healthcheck" in services["alertmanager"]


def test_alertmanager_config_is_valid(tmp_path: Path) -> None:
    result = amtool("check-config", str(checkable_alertmanager_config(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_invalid_alertmanager_config_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    checked = checkable_alertmanager_config(tmp_path)
    broken.write_text(re.sub(r"receiver: kabar-ops", "receiver: nobody", checked.read_text(), count=1))
    assert amtool("check-config", str(broken)).returncode != 0


def test_the_webhook_url_is_the_compose_secret_the_operator_sets(compose: dict[str, Any]) -> None:
    """No made-up host: the receiver's URL is ALERT_WEBHOOK_URL from .env, mounted as a secret file."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    webhooks = [hook for receiver in config["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert webhooks and all("url" not in hook for hook in webhooks)
    secret = compose["secrets"]["alert_webhook_url"]
    assert secret == {"environment": "ALERT_WEBHOOK_URL"}
    assert "alert_webhook_url" in compose["services"]["alertmanager"]["secrets"]
    assert {hook["url_file"] for hook in webhooks} == {"/run/secrets/alert_webhook_url"}


@pytest.mark.parametrize("labels", [
    ["alertname=KabarPipelineStalled", "severity=critical"],
    ["alertname=KabarSourceSilent", "severity=warning", "source_domain=kompas.com"],
    ["alertname=KabarDeadLettersGrowing", "severity=warning"],
])
def test_every_alert_reaches_the_webhook_receiver(labels: list[str], tmp_path: Path) -> None:
    result = amtool("config", "routes", "test", f"--config.file={checkable_alertmanager_config(tmp_path)}",
                    "--verify.receivers=kabar-ops", *labels)
    assert result.returncode == 0, result.stdout + result.stderr


def test_worker_down_covers_every_scraped_worker_service() -> None:
    """Each name in the kabar-workers job (its `service` label) has a series in KabarWorkerDown."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "kabar-workers")
    scraped = {name.removesuffix("-worker") for sd in job["dns_sd_configs"] for name in sd["names"]}
    rule = next(rule for rule in alert_rules() if rule["alert"] == "KabarWorkerDown")
    covered = set(re.findall(r'label_replace\(vector\(0\), "service", "(\w+)"', rule["expr"]))
    assert covered == scraped == {"ingest", "enrich", "index", "feeds", "alerts"}
