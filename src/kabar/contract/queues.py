"""Putting messages on the stages' queues: every message sent is first recorded in the in-flight ledger.

``enqueue`` and ``enqueue_many`` are what producers call (the CLI, the push API, feed polls,
benchmarks); ``forward`` is what the stage runner calls with a stage's output; ``enqueue_payload``
sends a raw payload (a dead letter's replay).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from kabar.contract import batch
from kabar.contract.celery_app import app
from kabar.contract.inflight import ledger
from kabar.contract.settings import get_settings
from kabar.contract.stages import NEXT_STAGE, STAGES, task_name


def send(stage: str, payload: Any, task_id: str | None = None) -> str:
    """Record the message in the in-flight ledger, then put it on ``stage``'s queue.

    Only pipeline stages (``register_stage`` tasks, which clear their record when done) are recorded.
    """
    task_id = task_id or str(uuid.uuid4())
    if stage in STAGES:
        ledger().sent(task_id, stage, payload)
    app.send_task(task_name(stage), args=[payload], queue=stage, task_id=task_id)
    return task_id


def forward(stage: str, messages: Sequence[BaseModel], task_id: str | None = None) -> None:
    """Send a stage's output (one message, or a batch of them) to the next stage's queue, if there is one."""
    next_stage = NEXT_STAGE.get(stage)
    if next_stage is not None and messages:
        send(next_stage, batch.wrap([message.model_dump(mode="json") for message in messages]), task_id)


def enqueue(stage: str, message: BaseModel) -> None:
    """Put a message on a stage's own queue (used by the CLI, the API and replays)."""
    send(stage, message.model_dump(mode="json"))


def enqueue_many(stage: str, messages: Sequence[BaseModel], batch_size: int | None = None) -> list[str]:
    """Put messages on a stage's queue ``batch_size`` (default ``KABAR_BATCH_SIZE``) at a time; the task ids."""
    size = batch_size or get_settings().batch_size
    payloads = [message.model_dump(mode="json") for message in messages]
    return [send(stage, batch.wrap(chunk)) for chunk in batch.chunked(payloads, size)]


def enqueue_payload(stage: str, payload: Any) -> None:
    send(stage, payload)
