"""Celery entry point of the alerts worker (``kabar worker alert``): the ``kabar.alert`` task on the ``alert`` queue.

Reliability follows the stage tasks (``kabar.contract.runner``): the message is
acknowledged only after its outcome is safe in Redis (delivered and recorded, a retry
scheduled, or a dead letter written), each of those hand-offs waits out a Redis outage for
up to ``KABAR_HANDOFF_TIMEOUT``, and after that the message goes back to its queue.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject, Retry

from kabar.contract import metrics
from kabar.contract.celery_app import app
from kabar.contract.deadletter import describe
from kabar.contract.failures import HandoffFailed, hand_off, retry_delay
from kabar.contract.settings import KabarSettings, get_settings
from kabar.contract.stages import ALERT_STAGE, task_name
from kabar_search.watch.delivery import CHANNEL, deliver, file_dead_letter
from kabar_search.watch.store import WatchlistStore, open_watchlist_store
from kabar_search.watch.webhooks import DeliveryFailed

log = logging.getLogger(__name__)

# What may pass: retried. Anything else (WebhookRefused, an invalid message, a bug) is dead-lettered at once.
PASSING = (DeliveryFailed, redis.RedisError)


class AlertRunner:
    """What one delivery of a ``kabar.alert`` message does; built once per worker process."""

    def __init__(self, store: WatchlistStore, settings: KabarSettings) -> None:
        self.store = store
        self.settings = settings

    def run(self, task: Task, payload: Any) -> None:
        attempt = task.request.retries + 1
        try:
            try:
                deliver(payload, self.store, self.settings.alert_timeout, self.settings)
            except PASSING as exc:
                if attempt > self.settings.alert_max_retries:
                    self._give_up(payload, exc, attempt)
                    return
                metrics.observe_alert_delivery(CHANNEL, "retried")
                log.warning("alert attempt %d failed, retrying: %s", attempt, describe(exc))
                raise self._schedule_retry(task, exc, attempt) from exc
            except Exception as exc:
                self._give_up(payload, exc, attempt)
        except HandoffFailed as exc:
            log.error("alerts: %s; the message goes back to its queue", exc)  # noqa: TRY400
            raise Reject(str(exc), requeue=True) from exc

    def _schedule_retry(self, task: Task, exc: Exception, attempt: int) -> Retry:
        countdown = retry_delay(attempt, self.settings.alert_retry_backoff_max, self.settings.alert_retry_backoff_base)

        def publish() -> Retry:
            try:
                scheduled: Retry = task.retry(exc=exc, countdown=countdown, throw=False)
            except Reject as failed:  # Celery could not publish the retry; it would drop the message
                raise ConnectionError(f"publishing the retry failed: {failed.reason}") from exc
            return scheduled

        return hand_off("schedule an alert retry", publish, get_settings().handoff_timeout)

    def _give_up(self, payload: Any, exc: BaseException, attempts: int) -> None:
        hand_off("write the alert's dead letter", lambda: file_dead_letter(payload, exc, attempts, self.store),
                 get_settings().handoff_timeout)


_runner: list[AlertRunner] = []
_runner_lock = threading.Lock()


def runner() -> AlertRunner:
    """One per worker process, shared by its threads."""
    with _runner_lock:
        if not _runner:
            _runner.append(AlertRunner(open_watchlist_store(get_settings()), get_settings()))
        return _runner[0]


@app.task(name=task_name(ALERT_STAGE), bind=True, max_retries=None)  # type: ignore[untyped-decorator]
def deliver_alert(self: Task, payload: Any) -> None:
    runner().run(self, payload)
