"""What happens to a message that fails, at every stage: which errors are permanent, how long a retry
waits, and how an outcome is handed to Redis so that an outage loses nothing.

- ``PermanentError``, an invalid message, a message over ``KABAR_MAX_DOCUMENT_BYTES`` or a
  deterministic error (``TypeError``, ``ValueError``, ``KeyError`` …: a retry would fail
  the same way) → dead-lettered at once (``is_deterministic``);
- anything else → retried with exponential backoff and equal jitter (``retry_delay``),
  dead-lettered after ``KABAR_TASK_MAX_RETRIES`` retries;
- a message whose worker process died under it ``KABAR_TASK_MAX_DELIVERIES`` times is a
  ``PoisonMessage``, dead-lettered instead of run again.

Every outcome (the output forwarded, a retry scheduled, a dead letter written) goes to Redis
through ``hand_off``, which keeps trying for up to ``KABAR_HANDOFF_TIMEOUT`` seconds and then
raises ``HandoffFailed``: the stage runner gives the message back to its queue.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

import redis
from elastic_transport import TransportError

from kabar.contract.deadletter import describe

log = logging.getLogger(__name__)

T = TypeVar("T")

# Errors that say the code cannot handle this message: a retry would fail the same way.
DETERMINISTIC_ERRORS: Final = (TypeError, ValueError, LookupError, AttributeError, RecursionError,
                               ArithmeticError, AssertionError, NotImplementedError, MemoryError)
# ...unless they come from talking to a server (redis.LockError is a ValueError, for one).
_IO_ERRORS: Final = (redis.RedisError, TransportError, OSError)


class PermanentError(Exception):
    """The message can never be processed as it is: dead-letter it, do not retry."""


class MessageTooLarge(PermanentError):
    """A message over ``KABAR_MAX_DOCUMENT_BYTES``: refused before any stage works on it."""


class PoisonMessage(PermanentError):
    """The worker process died under this message too many times."""


class HandoffFailed(Exception):
    """Redis would not take a message's outcome within ``KABAR_HANDOFF_TIMEOUT``."""



def retry_delay(attempt: int, cap: float, base: float = 4.0) -> float:
    """Exponential backoff with equal jitter: between half and all of ``min(cap, base * 2**(attempt-1))``.

    The jitter spreads the retries of messages that failed together (a shared outage);
    the lower half keeps the total wait of a retry budget predictable, so a budget
    always outlasts a restart of the server it waits for.
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


def hand_off(what: str, action: Callable[[], T], timeout: float) -> T:
    """Run a write to Redis until it succeeds, backing off with jitter; ``HandoffFailed`` after ``timeout``.

    A deterministic error (``is_deterministic``: the message cannot be written, say) is raised at once:
    trying again would fail the same way, and the stage runner's guard dead-letters the message.
    """
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            return action()
        except Exception as exc:
            if is_deterministic(exc):
                raise
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HandoffFailed(f"could not {what} for {timeout:g} s: {describe(exc)}") from exc
            log.warning("could not %s (try %d), trying again: %s", what, attempt, describe(exc))
            time.sleep(min(remaining, retry_delay(attempt, cap=5.0, base=0.25)))



def is_deterministic(exc: BaseException) -> bool:
    return isinstance(exc, DETERMINISTIC_ERRORS) and not isinstance(exc, _IO_ERRORS)

