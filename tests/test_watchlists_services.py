"""Watchlists in the services deployment: real Redis, the Celery workers of docker-compose.yml
(the alerts worker included), Elasticsearch and OpenSearch (each test on both: the equivalent and the
percolator), the API over HTTP and a real local webhook receiver."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from conftest import SEEDS, WORKER_SERVICES, EngineUnderTest, Services, free_port, run_kabar, wait_until
from test_watchlists import API_KEY, WRITE, Receiver

pytestmark = pytest.mark.services


@pytest.fixture
def services_engine(engine: EngineUnderTest) -> EngineUnderTest:
    """Every test here runs on Elasticsearch and on OpenSearch."""
    return engine

ALERT_SETTINGS = {"KABAR_API_KEY": API_KEY, "KABAR_ALERT_TIMEOUT": "1", "KABAR_ALERT_MAX_RETRIES": "2",
                  "KABAR_ALERT_RETRY_BACKOFF_BASE": "0.5", "KABAR_ALERT_RETRY_BACKOFF_MAX": "1"}


@pytest.fixture
def services_env(services_env: dict[str, str]) -> dict[str, str]:
    """The API and every worker get an API key and short alert timeouts and retries."""
    return {**services_env, **ALERT_SETTINGS}


@pytest.fixture
def alerts(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The services plus the compose file's alerts-worker."""
    monkeypatch.setitem(WORKER_SERVICES, "alert", "alerts-worker")
    services.start_worker("alert")
    return services


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    opened: list[Receiver] = []
    yield opened
    for receiver in opened:
        receiver.close()


def create(services: Services, query: str, webhook: str) -> str:
    response = httpx.post(f"{services.api_url}/watchlists", json={"query": query, "webhook": webhook}, headers=WRITE,
                          timeout=10)
    assert response.status_code == 201, response.text
    made: str = response.json()["id"]
    return made


def shown(services: Services, watchlist_id: str) -> dict[str, Any]:
    response = httpx.get(f"{services.api_url}/watchlists/{watchlist_id}", timeout=10)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def searchable(services: Services, query: str = "Kim Jong Un") -> int:
    total: int = httpx.get(f"{services.api_url}/search", params={"q": query}, timeout=10).json()["total"]
    return total


def metric(url: str, name: str, labels: str = "") -> float:
    total = 0.0
    for line in httpx.get(url, timeout=5).text.splitlines():
        if (line.startswith(f"{name}{{") and labels in line) or (not labels and line.startswith(f"{name} ")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def alert_letters(services: Services) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(services.env["KABAR_REDIS_URL"])
    letters = [json.loads(raw) for raw in client.hvals("kabar:deadletters")]
    return [letter for letter in letters if letter["stage"] == "alert"]


def test_services_seeds_alert_once_per_story(alerts: Services, receivers: list[Receiver]) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    kim = create(alerts, "Kim Jong Un", receiver.url)
    queued = run_kabar(["ingest", str(SEEDS)], alerts.env)
    assert queued.returncode == 0, queued.stderr

    wait_until(lambda: searchable(alerts) == 5, 120, f"5 articles searchable\n{alerts.logs()}")
    done = wait_until(lambda: (found := shown(alerts, kim))["alert_count"] == 2
                      and sum(alert["articles"] for alert in found["alerts"]) == 5
                      and all(alert["status"] == "delivered" for alert in found["alerts"]) and found,
                      60, f"two delivered alerts covering five articles\n{alerts.logs()}")
    time.sleep(2)  # anything more would have arrived by now
    posted = receiver.alerts()
    assert len(posted) == 2, posted
    assert {alert["story_id"] for alert in posted} == {alert["story_id"] for alert in done["alerts"]}
    assert sorted(alert["articles"] for alert in done["alerts"]) == [1, 4]
    assert all(alert["watchlist"]["id"] == kim for alert in posted)

    assert metric(alerts.metrics_urls["alert"], "kabar_alert_deliveries_total", 'outcome="delivered"') == 2
    assert metric(alerts.metrics_urls["index"], "kabar_watchlist_matches_total") == 5


def test_services_hanging_webhook_does_not_hold_up_indexing(alerts: Services, receivers: list[Receiver]) -> None:
    hanging = Receiver(delay=300)
    receivers.append(hanging)
    kim = create(alerts, "Kim Jong Un", hanging.url)
    assert run_kabar(["ingest", str(SEEDS)], alerts.env).returncode == 0

    # The articles become searchable whatever the hook does: delivery runs on the alerts worker's own queue.
    wait_until(lambda: searchable(alerts) == 5, 120, f"5 articles searchable\n{alerts.logs()}")
    wait_until(lambda: bool(hanging.requests), 30, f"the alerts reached the hanging hook\n{alerts.logs()}")
    letters = wait_until(lambda: len(found := alert_letters(alerts)) == 2 and found, 60,
                         f"two alerts dead-lettered\n{alerts.logs()}")
    assert all(letter["attempts"] == 3 for letter in letters), letters  # KABAR_ALERT_MAX_RETRIES=2
    assert all("did not answer within 1 s" in letter["reason"] for letter in letters)
    assert len(hanging.requests) == 6
    assert {alert["status"] for alert in shown(alerts, kim)["alerts"]} == {"failed"}
    assert metric(alerts.metrics_urls["alert"], "kabar_alert_deliveries_total", 'outcome="retried"') == 4
    assert metric(alerts.metrics_urls["alert"], "kabar_alert_deliveries_total", 'outcome="failed"') == 2


def test_services_failing_webhooks_are_dead_lettered_and_replayable(alerts: Services,
                                                                    receivers: list[Receiver]) -> None:
    erroring, refusing = Receiver(status=500), Receiver(status=410)
    receivers += [erroring, refusing]
    flaky = create(alerts, "Kim Jong Un", erroring.url)
    gone = create(alerts, "Kim Jong Un", refusing.url)
    absent = create(alerts, "Kim Jong Un", f"http://127.0.0.1:{free_port()}/hook")
    assert run_kabar(["ingest", str(SEEDS)], alerts.env).returncode == 0

    letters = wait_until(lambda: len(found := alert_letters(alerts)) == 6 and found, 90,
                         f"six alerts dead-lettered\n{alerts.logs()}")
    by_watchlist: dict[str, list[dict[str, Any]]] = {}
    for letter in letters:
        by_watchlist.setdefault(letter["message"]["watchlist_id"], []).append(letter)
    assert all(letter["attempts"] == 3 and "answered 500" in letter["reason"] for letter in by_watchlist[flaky])
    assert all(letter["attempts"] == 1 and "refused the alert with 410" in letter["reason"]
               for letter in by_watchlist[gone]), "a 4xx is not retried"
    assert all(letter["attempts"] == 3 and "could not reach" in letter["reason"] for letter in by_watchlist[absent])
    assert len(erroring.requests) == 6 and len(refusing.requests) == 2

    listed = run_kabar(["dlq", "list", "--json"], alerts.env)
    assert [json.loads(line)["stage"] for line in listed.stdout.splitlines()] == ["alert"] * 6, listed.stdout
    erroring.status = 200
    for letter in by_watchlist[flaky]:
        replayed = run_kabar(["dlq", "replay", letter["id"]], alerts.env)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    wait_until(lambda: {a["status"] for a in shown(alerts, flaky)["alerts"]} == {"delivered"}, 60,
               f"the replayed alerts delivered\n{alerts.logs()}")
    assert len(erroring.requests) == 8
    assert {request["body"]["story_id"] for request in erroring.requests[-2:]} == {
        letter["message"]["alert"]["story_id"] for letter in by_watchlist[flaky]}
    assert len(alert_letters(alerts)) == 4, "the others are still kept"
