"""Getting an alert to its webhook: queued (services) or inline (embedded), never lost.

``deliver`` makes one attempt. Around it:

- services mode: the index stage puts an ``AlertDelivery`` on the ``alert`` queue
  (``QueueDispatcher``) and goes on; ``kabar worker alert`` (``tasks``) attempts it, retries
  a passing failure (timeout, refused connection, 5xx, 429) with exponential backoff and
  jitter, and dead-letters it (stage ``alert``) once ``KABAR_ALERT_MAX_RETRIES`` retries have
  failed, or at once when retrying cannot help (a 4xx answer, a redirect, an address that is
  not allowed, an invalid message);
- embedded mode: ``InlineDispatcher`` attempts it right after indexing, once, with
  ``KABAR_ALERT_INLINE_TIMEOUT``, and dead-letters any failure (and, for a minute, the next
  alerts to a webhook that could not be reached, without trying);
- either way ``kabar dlq replay ID`` sends a dead-lettered alert again: to the ``alert`` queue, or
  in embedded mode to ``AlertHandler``, the ``alert`` stage's handler, which attempts it once.

Delivery is at least once. An alert already delivered is not posted again, and each
alert carries a stable ``alert_id`` (also in the ``X-Kabar-Alert-Id`` header) by which a
receiver can drop the rare repeat (a worker that died between posting and recording it).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final, Literal

from pydantic import BaseModel

from kabar.contract import metrics
from kabar.contract.messages import DeadLetter, utc_now
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import ALERT_STAGE, Payload
from kabar_search.watch.models import AlertDelivery, AlertState, Watchlist
from kabar_search.watch.store import WatchlistStore
from kabar_search.watch.webhooks import DeliveryFailed, post_json

log = logging.getLogger(__name__)

CHANNEL: Final = "webhook"

Delivered = Literal["delivered", "already-delivered", "dropped"]


def deliver(payload: Any, store: WatchlistStore, timeout: float, settings: KabarSettings) -> Delivered:
    """One attempt at an alert. Raises ``ValidationError`` (invalid message), ``WebhookRefused``
    (retrying cannot help), ``DeliveryFailed`` or a store error (retrying may help)."""
    delivery = AlertDelivery.model_validate(payload)
    story_id = delivery.alert.story_id
    if store.get(delivery.watchlist_id) is None:
        log.info("alert %s dropped: watchlist %s was removed", delivery.alert.alert_id, delivery.watchlist_id)
        return "dropped"
    state = store.alert(delivery.watchlist_id, story_id)
    if state is not None and state.status == "delivered":
        return "already-delivered"
    post_json(delivery.webhook, delivery.alert.model_dump_json().encode(),
              {"X-Kabar-Alert-Id": delivery.alert.alert_id, "X-Kabar-Watchlist-Id": delivery.watchlist_id},
              timeout, settings.webhook_networks)
    store.set_status(delivery.watchlist_id, story_id, "delivered", utc_now())
    metrics.observe_alert_delivery(CHANNEL, "delivered")
    log.info("alert %s delivered (watchlist %s, story %s)", delivery.alert.alert_id, delivery.watchlist_id, story_id)
    return "delivered"


def file_dead_letter(payload: Any, exc: BaseException, attempts: int, store: WatchlistStore) -> DeadLetter:
    """Give up on an alert: keep it with its reason (replayable), and show it as failed."""
    from kabar.contract.deadletter import dead_letters  # noqa: PLC0415 - the store, only when needed

    letter = dead_letters().put(ALERT_STAGE, payload, exc, attempts)
    log.error("alert dead-lettered as %s after %d attempt(s): %s", letter.id, attempts, letter.reason)
    mark_failed(payload, store)
    return letter


def mark_failed(payload: Any, store: WatchlistStore) -> None:
    """Count a failed delivery and show the alert as failed (its dead letter is written by the caller)."""
    metrics.observe_alert_delivery(CHANNEL, "failed")
    try:
        delivery = AlertDelivery.model_validate(payload)
        store.set_status(delivery.watchlist_id, delivery.alert.story_id, "failed", utc_now())
    except Exception as problem:  # the dead letter is what counts; the status is for people
        log.warning("could not mark the alert failed: %s", problem)


class QueueDispatcher:
    """Services mode: hand the alert to the ``alert`` queue; the index stage does not wait."""

    def __init__(self, store: WatchlistStore) -> None:
        self._store = store

    def dispatch(self, watchlist: Watchlist, state: AlertState) -> None:
        from kabar.contract.queues import enqueue  # noqa: PLC0415 - the Celery app, only in the services mode

        enqueue(ALERT_STAGE, AlertDelivery.of(watchlist, state))
        self._store.set_status(watchlist.id, state.story_id, "queued", utc_now())


class InlineDispatcher:
    """Embedded mode: post now, once, with a short timeout; dead-letter a failure.

    A webhook that timed out or could not be reached is not tried again for ``SKIP_FAILING``
    seconds in this process: its next alerts are dead-lettered at once (replayable like any
    other), so a large ``kabar ingest`` does not wait a timeout for every new story.
    """

    SKIP_FAILING: Final = 60.0

    def __init__(self, store: WatchlistStore, settings: KabarSettings) -> None:
        self._store = store
        self._settings = settings
        self._failing: dict[str, tuple[float, str]] = {}  # webhook → (when it failed, why)

    def dispatch(self, watchlist: Watchlist, state: AlertState) -> None:
        payload = AlertDelivery.of(watchlist, state).model_dump(mode="json")
        failed = self._failing.get(watchlist.webhook)
        if failed is not None and time.monotonic() - failed[0] < self.SKIP_FAILING:
            skipped = DeliveryFailed(f"not attempted: this webhook failed {time.monotonic() - failed[0]:.0f} s ago "
                                     f"in this run ({failed[1]})")
            file_dead_letter(payload, skipped, 0, self._store)
            return
        try:
            deliver(payload, self._store, self._settings.alert_inline_timeout, self._settings)
        except DeliveryFailed as exc:
            self._failing[watchlist.webhook] = (time.monotonic(), str(exc))
            file_dead_letter(payload, exc, 1, self._store)
        except Exception as exc:
            file_dead_letter(payload, exc, 1, self._store)
        else:
            self._failing.pop(watchlist.webhook, None)


class AlertReceipt(BaseModel):
    """What the ``alert`` stage reports in the embedded pipeline (``kabar.contract.stages.Receipt``)."""

    outcome: Literal["delivered"] = "delivered"


class AlertHandler:
    """The ``alert`` stage's handler in the embedded mode (what ``kabar dlq replay`` of an alert runs):
    one attempt, here and now. A failure marks the alert failed and raises: the pipeline dead-letters
    it again, under the same id."""

    def __init__(self, store: WatchlistStore, settings: KabarSettings) -> None:
        self._store = store
        self._settings = settings

    def handle(self, payload: Payload) -> AlertReceipt:
        try:
            deliver(payload, self._store, self._settings.alert_timeout, self._settings)
        except Exception:
            mark_failed(payload, self._store)
            raise
        return AlertReceipt()

    def after_forward(self, result: BaseModel) -> None:
        """The last stage: nothing is forwarded."""
