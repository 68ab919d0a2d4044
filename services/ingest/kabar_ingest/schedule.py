"""Celery entry point of the feeds worker and the beat schedule.

- ``kabar.poll_feeds`` (beat, every ``KABAR_FEED_TICK`` seconds): claims each feed that is due
  and sends one ``kabar.poll_feed`` per feed, so a slow feed holds one worker slot, never the
  others. A claim is a lease (``KABAR_FEED_LEASE_SECONDS``): a poll lost with its worker is
  dispatched again once it runs out.
- ``kabar.poll_feed``: polls one feed (conditional GET, parse, new entries → ``kabar.feeds``).
- ``kabar.feeds`` (the ``feeds`` stage, through ``register_stage``): fetches one entry's page
  and hands the ``RawDocument`` to ingest. Retries with backoff, dead letters and replays are
  those of every stage.

All three run on the ``feeds`` queue: ``kabar worker feeds`` (with ``WORKER_MODULES["feeds"]``
naming this module) serves them, and ``kabar feeds beat`` runs the one beat scheduler.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache
from typing import Any, Final

from celery import Task
from pydantic import BaseModel

from kabar.contract.celery_app import app
from kabar.contract.messages import RawDocument, utc_now
from kabar.contract.queues import enqueue
from kabar.contract.runner import register_stage
from kabar.contract.settings import get_settings
from kabar.contract.stages import NEXT_STAGE, Payload, StageHandler
from kabar_ingest.feeds import FeedPoller, FeedStore, build_page_handler, open_feed_store, open_fetcher
from kabar_ingest.fetch import Fetcher
from kabar_ingest.sinks import FEEDS_STAGE, queue_page

log = logging.getLogger(__name__)

POLL_FEEDS: Final = "kabar.poll_feeds"
POLL_FEED: Final = "kabar.poll_feed"
QUEUE: Final = FEEDS_STAGE


def beat_schedule(tick: float) -> dict[str, dict[str, Any]]:
    # A tick that waited longer than itself in the queue is dropped: the next one does the same work.
    return {"kabar-poll-feeds": {"task": POLL_FEEDS, "schedule": tick,
                                 "options": {"queue": QUEUE, "routing_key": QUEUE, "expires": tick}}}


app.conf.beat_schedule = beat_schedule(get_settings().feed_tick)


@lru_cache(maxsize=1)
def _store() -> FeedStore:
    return open_feed_store(get_settings())


@lru_cache(maxsize=1)
def _fetcher() -> Fetcher:
    return open_fetcher(get_settings())


@app.task(name=POLL_FEEDS, ignore_result=True)  # type: ignore[untyped-decorator]
def poll_feeds() -> int:
    """Send a poll for every feed that is due; returns how many."""
    store = _store()
    now = utc_now()
    lease = now + timedelta(seconds=get_settings().feed_lease_seconds)
    sent = 0
    for feed in store.due(now):
        if store.claim(feed.id, now, lease):
            app.send_task(POLL_FEED, args=[feed.id], queue=QUEUE, routing_key=QUEUE)
            sent += 1
    if sent:
        log.info("dispatched %d feed poll(s)", sent)
    return sent


@app.task(name=POLL_FEED, bind=True, ignore_result=True)  # type: ignore[untyped-decorator]
def poll_feed(self: Task, feed_id: str) -> str:
    feed = _store().get(feed_id)
    if feed is None:
        return "removed"
    report = FeedPoller(_store(), _fetcher(), get_settings(), queue_page).poll(feed)
    log.info("feed %s: %s, %d entries, %d new, %d sent%s", feed.id, report.status, report.entries, report.new,
             report.sent, f" ({report.error})" if report.error else "")
    return report.status


class _HandsOnToIngest:
    """The ``feeds`` stage for ``register_stage``.

    Once ``NEXT_STAGE["feeds"] == "ingest"`` the stage runner forwards the page; until then this
    puts it on the ingest queue itself (before the message is acknowledged: at least once).
    """

    def __init__(self, handler: StageHandler) -> None:
        self._handler = handler

    def handle(self, payload: Payload) -> BaseModel | None:
        document = self._handler.handle(payload)
        if NEXT_STAGE.get(FEEDS_STAGE) == "ingest" or not isinstance(document, RawDocument):
            return document
        enqueue("ingest", document)
        return None

    def after_forward(self, result: BaseModel) -> None:
        self._handler.after_forward(result)


fetch_pages = register_stage(FEEDS_STAGE, lambda: _HandsOnToIngest(build_page_handler(get_settings())))
