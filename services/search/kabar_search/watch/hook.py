"""What the index stage calls once an article is stored: match it, record it, hand alerts on.

It runs for every article the index stage stored or found stored already (a redelivered
message): recording is idempotent per article, so a repeat counts nothing twice, and an
alert left ``pending`` by a process that died before handing it on is handed on now.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from kabar.contract import metrics
from kabar.contract.messages import EnrichedArticle, utc_now
from kabar.contract.settings import KabarSettings, get_settings
from kabar_search.watch.delivery import InlineDispatcher, QueueDispatcher
from kabar_search.watch.matching import Matcher, Snapshot, compile_snapshot, open_matcher
from kabar_search.watch.models import AlertState, ArticleRef, Watchlist
from kabar_search.watch.store import WatchlistStore, open_watchlist_store

if TYPE_CHECKING:
    from kabar_search.backend import SearchBackend

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def dispatch(self, watchlist: Watchlist, state: AlertState) -> None: ...


class WatchHook:
    def __init__(self, store: WatchlistStore, matcher: Matcher, dispatcher: Dispatcher) -> None:
        self.store = store
        self.matcher = matcher
        self.dispatcher = dispatcher
        self._snapshot = Snapshot(revision=-1)
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The watchlists, reloaded only when the store's revision has moved."""
        revision = self.store.revision()
        if revision != self._snapshot.revision:
            with self._lock:
                if revision != self._snapshot.revision:
                    # Read after the revision: at worst newer than it, and reloaded once more next time.
                    self._snapshot = compile_snapshot(revision, self.store.list())
        return self._snapshot

    def __call__(self, article: EnrichedArticle) -> int:
        """Match ``article``; returns how many watchlists newly counted it."""
        snapshot = self.snapshot()
        if not snapshot.watchlists:
            return 0
        matched = self.matcher.match(article, snapshot)
        counted = 0
        if matched:
            reference, now = ArticleRef.of(article), utc_now()
            for watchlist in matched:
                recorded = self.store.record_match(watchlist.id, article.story_id, reference, now)
                counted += recorded.kind in ("new", "more")
                if recorded.needs_delivery and recorded.state is not None:
                    self.dispatcher.dispatch(watchlist, recorded.state)
        metrics.observe_watchlist_match(counted)
        return counted


def build_watch_hook(settings: KabarSettings, backend: SearchBackend) -> WatchHook:
    store = open_watchlist_store(settings)
    dispatcher: Dispatcher = (QueueDispatcher(store) if settings.mode == "services"
                              else InlineDispatcher(store, get_settings()))
    matcher = open_matcher(settings, backend)
    log.info("watchlists are matched by the %s", matcher.name)
    return WatchHook(store, matcher, dispatcher)
