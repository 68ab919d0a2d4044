"""Start a Celery worker for one stage, with metrics served by its parent process and the in-flight
reconciler (``inflight``, started when the worker is ready) running in it."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import after_setup_logger, worker_init, worker_process_shutdown

from kabar.contract import inflight, liveness, metrics  # noqa: F401 - the reconciler and heartbeat run in every worker
from kabar.contract.celery_app import app

# Celery's "succeeded" line (the "received" line stays: it shows each delivery) and the Elasticsearch
# client's line per request.
PER_MESSAGE_LOGGERS = ("celery.app.trace", "elastic_transport.transport")


def run_worker(stage: str, concurrency: int, metrics_port: int, pool: str = "prefork",
               metrics_host: str = "127.0.0.1") -> None:
    @worker_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def _serve_metrics(**_: Any) -> None:
        # The parent process serves the values its prefork children write to the shared directory.
        metrics.serve_metrics(metrics_port, metrics_host)

    @worker_process_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
    def _forget_child(pid: int | None = None, **_: Any) -> None:
        if pid is not None:
            metrics.mark_process_dead(pid)

    @after_setup_logger.connect(weak=False)  # type: ignore[untyped-decorator]
    def _quiet_per_message_lines(**_: Any) -> None:
        # At INFO, Celery logs a line when a message succeeds and the Elasticsearch client one per request:
        # at a hundred articles a second that is most of a worker's log and a share of its CPU. The
        # worker's own lines (ready, deliveries received, errors, retries, dead letters) stay at INFO.
        for name in PER_MESSAGE_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)

    app.worker_main([
        "worker", "--queues", stage, "--hostname", f"{stage}@%h", "--concurrency", str(concurrency),
        "--pool", pool, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ])
