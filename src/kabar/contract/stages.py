"""The pipeline's topology and the shape of a stage: which stages there are, in which order, and what a
service plugs in for its stage.

Workers do not know their place in the pipeline: a stage's handler turns one message into its output,
and the runner looks the next stage up in ``NEXT_STAGE``. Changing the topology means changing this
table, not a service. Every stage has one name, used for its Celery task (``kabar.STAGE``), its queue
and its dead letters.
"""

from __future__ import annotations

from typing import Any, Final, Protocol, runtime_checkable

from pydantic import BaseModel

STAGES: Final = ("feeds", "ingest", "enrich", "index")
# feeds: fetch a page a feed announced; its RawDocument then goes through ingest like a file's.
NEXT_STAGE: Final[dict[str, str]] = {"feeds": "ingest", "ingest": "enrich", "enrich": "index"}
# Watchlist alerts: a stage outside the pipeline's flow (the index stage hands alerts to it), with a
# delivery policy of its own (kabar_search.watch.tasks); a queue, a task and dead letters like the others.
ALERT_STAGE: Final = "alert"
QUEUES: Final = (*STAGES, ALERT_STAGE)  # every queue a worker consumes: one per stage, named after it

Payload = dict[str, Any]

# What a stage made of one message: its output, None (nothing to pass on) or the error it raised.
ItemResult = BaseModel | Exception | None


class StageHandler(Protocol):
    """What a service plugs into the pipeline for its stage.

    ``handle`` turns one message into the stage's output (``None``: nothing to pass on).
    ``after_forward`` runs once the output has been handed on, so a stage can record
    that it has seen something only when that can no longer be lost.

    A handler may also have ``handle_batch(payloads) -> list[ItemResult]``: the messages of a
    batch (see ``kabar.contract.batch``) at once, each with its own result or error, for a
    stage that does better with several (the index stage writes them in one bulk request).
    Without it, the runner calls ``handle`` for each message.
    """

    def handle(self, payload: Payload) -> BaseModel | None: ...

    def after_forward(self, result: BaseModel) -> None: ...


@runtime_checkable
class Receipt(Protocol):
    """What a last stage (one with no next stage) returns: ``outcome`` says what became of the message
    (``indexed``, ``unchanged``, ``delivered``); the embedded pipeline reports it."""

    @property
    def outcome(self) -> str: ...


def task_name(stage: str) -> str:
    return f"kabar.{stage}"
