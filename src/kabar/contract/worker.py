"""Start a Celery worker for one stage, with metrics served by its parent process."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init, worker_process_shutdown

from kabar.contract import metrics
from kabar.contract.celery_app import app


def run_worker(stage: str, concurrency: int, metrics_port: int, pool: str = "prefork") -> None:
    @worker_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def _serve_metrics(**_: Any) -> None:
        # The parent process serves the values its prefork children write to the shared directory.
        metrics.serve_metrics(metrics_port)

    @worker_process_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
    def _forget_child(pid: int | None = None, **_: Any) -> None:
        if pid is not None:
            metrics.mark_process_dead(pid)

    app.worker_main([
        "worker", "--queues", stage, "--hostname", f"{stage}@%h", "--concurrency", str(concurrency),
        "--pool", pool, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ])
