"""Run every stage in this process, in pipeline order: the embedded mode.

The same stage handlers as the Celery workers, called directly; a failure at any stage
is dead-lettered exactly as a worker would, and the other documents carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from kabar.contract import metrics
from kabar.contract.deadletter import dead_letters, describe
from kabar.contract.settings import KabarSettings
from kabar.contract.stages import ALERT_STAGE, NEXT_STAGE, Payload, Receipt, StageHandler

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Outcome:
    # repeat (a stage passed nothing on), failed (dead-lettered), or what the last stage's Receipt says:
    # indexed, unchanged (index), delivered (alert).
    status: str
    stage: str
    reason: str | None = None


def build_handlers(settings: KabarSettings) -> dict[str, StageHandler]:
    """The composition root: the one place that knows every service."""
    from kabar_enrich.stage import build_handler as build_enrich  # noqa: PLC0415 - loads models
    from kabar_ingest.feeds import build_page_handler  # noqa: PLC0415
    from kabar_ingest.stage import build_handler as build_ingest  # noqa: PLC0415
    from kabar_search.stage import build_handler as build_index  # noqa: PLC0415
    from kabar_search.watch.delivery import AlertHandler  # noqa: PLC0415
    from kabar_search.watch.store import open_watchlist_store  # noqa: PLC0415

    return {"feeds": build_page_handler(settings), "ingest": build_ingest(settings),
            "enrich": build_enrich(settings), "index": build_index(settings),
            ALERT_STAGE: AlertHandler(open_watchlist_store(settings), settings)}


def inline_pipeline(settings: KabarSettings) -> Callable[[], InlinePipeline]:
    """How to build the embedded pipeline (it loads the enrich models): what a service that runs
    documents here (the push API, feed polls) is handed."""
    return lambda: InlinePipeline(build_handlers(settings))


class InlinePipeline:
    def __init__(self, handlers: dict[str, StageHandler]) -> None:
        self._handlers = handlers

    def run(self, payload: Payload, stage: str = "ingest") -> Outcome:
        """Take one message through ``stage`` and every stage after it."""
        handler = self._handlers[stage]
        with metrics.observe_stage(stage):
            try:
                result = handler.handle(payload)
            except Exception as exc:
                letter = dead_letters().put(stage, payload, exc, attempts=1)
                metrics.STAGE_FAILED.labels(stage, "permanent").inc()
                metrics.STAGE_DEAD_LETTERED.labels(stage).inc()
                log.debug("dead-lettered %s at %s", letter.id, stage)
                return Outcome("failed", stage, letter.reason)
        metrics.STAGE_PROCESSED.labels(stage).inc()
        return self._after(stage, result)

    def _after(self, stage: str, result: BaseModel | None) -> Outcome:
        next_stage = NEXT_STAGE.get(stage)
        if result is None:
            return Outcome("repeat", stage)
        if next_stage is None:
            return Outcome(result.outcome if isinstance(result, Receipt) else "unchanged", stage)
        outcome = self.run(result.model_dump(mode="json"), next_stage)
        try:
            self._handlers[stage].after_forward(result)
        except Exception as exc:  # the output went on; missing this only means a repeat is not skipped
            log.warning("stage %s: after_forward failed (the output went on): %s", stage, describe(exc))
        return outcome
