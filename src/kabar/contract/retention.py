"""Retention of kabar's Redis state: what was not written for ``KABAR_STATE_RETENTION_DAYS`` goes.

The stores that grow with the archive (seen content hashes, versions, the near-duplicate index, stories)
share one mechanism:

- a **ledger** per store, a sorted set ``{prefix}:retention:{store}`` of item -> time of its last write,
  written in the same round trip as the item itself;
- a **sweep** that claims the items idle past the window (one Lua call: read and remove from the
  ledger together, so two sweepers never claim the same item) and hands them to the store's
  ``forget``, which deletes the item's keys and fields.

Each store only says what an item is and how to forget one. Sweeps run from the stores' own write
paths, at most once per ``KABAR_RETENTION_SWEEP_INTERVAL`` per process, in bounded batches, so no
extra service or schedule is needed; processes sweeping at once claim disjoint items. A window of 0
keeps everything (the ledger is then not written at all).

An item written again between its claim and its forgetting loses that one write (it is idle for a
whole window first, then touched within the same few milliseconds): state, never an article, and
the next article simply starts it afresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import redis

if TYPE_CHECKING:
    from kabar.contract.settings import KabarSettings

log = logging.getLogger(__name__)

# KEYS: ledger.  ARGV: cutoff (epoch seconds), batch size.
# The claimed members leave the ledger in the same atomic step: two sweepers never claim the same item.
_CLAIM: Final = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return members
"""

Forget = Callable[[list[bytes]], None]


class RetentionLedger:
    """When each item of one store was last written, and the sweep that forgets the idle ones."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, store: str, window_days: float, *,
                 sweep_interval: float = 300.0, batch: int = 500) -> None:
        self.key = f"{key_prefix}:retention:{store}"
        self._redis = client
        self._window = window_days * 86400.0
        self._interval = sweep_interval
        self._batch = batch
        self._claim = client.register_script(_CLAIM)
        self._next_sweep = 0.0

    @property
    def enabled(self) -> bool:
        return self._window > 0

    def touch(self, pipe: Any, members: Iterable[str | bytes], now: float | None = None) -> None:
        """Record a write of ``members``, inside the caller's pipeline (or on a client)."""
        if not self.enabled:
            return
        stamp = time.time() if now is None else now
        mapping = {member: stamp for member in members}
        if mapping:
            pipe.zadd(self.key, mapping)

    def maybe_sweep(self, forget: Forget) -> int:
        """Sweep if this process has not for a while; the number of items forgotten."""
        if not self.enabled or time.monotonic() < self._next_sweep:
            return 0
        self._next_sweep = time.monotonic() + self._interval
        try:
            return self.sweep(forget)
        except redis.RedisError as exc:  # retention must never fail the write that triggered it
            log.warning("retention sweep of %s failed, next try in %.0f s: %s", self.key, self._interval, exc)
            return 0

    def sweep(self, forget: Forget, now: float | None = None, max_batches: int = 20) -> int:
        """Forget what was last written more than the window before ``now``: up to ``max_batches`` batches."""
        if not self.enabled:
            return 0
        cutoff = (time.time() if now is None else now) - self._window
        forgotten = 0
        for _ in range(max_batches):
            claimed = self._claim(keys=[self.key], args=[cutoff, self._batch])
            if not claimed:
                break
            forget(list(claimed))
            forgotten += len(claimed)
            if len(claimed) < self._batch:
                break
        if forgotten:
            log.info("retention: forgot %d item(s) of %s idle for over %.0f days", forgotten, self.key,
                     self._window / 86400)
        return forgotten

    def size(self) -> int:
        return int(self._redis.zcard(self.key))


def open_ledger(client: redis.Redis[bytes], settings: KabarSettings, store: str) -> RetentionLedger:
    """The ledger of ``store`` with the configured window and sweep interval."""
    return RetentionLedger(client, settings.key_prefix, store, settings.state_retention_days,
                           sweep_interval=settings.retention_sweep_interval)
