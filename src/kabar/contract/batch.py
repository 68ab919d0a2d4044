"""Batches: several messages for one stage carried by one queue message.

A producer that has many documents at once (a folder, a pushed batch, a load) sends them
``KABAR_BATCH_SIZE`` at a time as ``{"schema_version": 1, "batch": [message, ...]}``. The
stage runner handles each message of a batch on its own: each one is processed, retried
or dead-lettered with its own reason (a dead letter holds the single message, so a replay
sends one message), and what comes out is forwarded as one batch to the next stage. What a
batch saves is the per-message cost of the queue: one publish, one delivery, one
acknowledgement and one in-flight record for up to ``batch_size`` articles, and one bulk
write at the index stage.

A stage never needs to know whether its input came alone or in a batch, and a worker that
receives a batch from an older producer, or a single message from a newer one, handles both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from kabar.contract.messages import SCHEMA_VERSION

BATCH_FIELD: Final = "batch"


def pack(payloads: Sequence[Any]) -> dict[str, Any]:
    """The envelope of a batch."""
    return {"schema_version": SCHEMA_VERSION, BATCH_FIELD: list(payloads)}


def is_batch(payload: Any) -> bool:
    # Stage messages forbid unknown fields, so no single message can carry a "batch" list.
    return isinstance(payload, dict) and isinstance(payload.get(BATCH_FIELD), list)


def unpack(payload: Any) -> list[Any]:
    """The messages a queue message carries: those of a batch, or the message itself."""
    return list(payload[BATCH_FIELD]) if is_batch(payload) else [payload]


def wrap(payloads: Sequence[Any]) -> Any:
    """One message goes as itself, several as a batch."""
    return payloads[0] if len(payloads) == 1 else pack(payloads)


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    if size < 1:
        raise ValueError("a batch holds at least one message")
    for start in range(0, len(items), size):
        yield items[start:start + size]
