"""benchmarks/pipeline.py, the in-process parts: the embedded backend (``InlinePipeline``, SQLite) and the
enrich-only loop, each timed stage by stage."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import support
from pipeline_feed import WARMUP_START, documents
from pipeline_measure import Result, TimedHandler, percentiles

STAGES = support.STAGES


def isolate_environment(data_dir: Path, batch_size: int) -> None:
    """This process runs embedded, on its own data directory (set before kabar is imported)."""
    support.clear_kabar_environ()
    os.environ.update({"KABAR_MODE": "embedded", "KABAR_DATA_DIR": str(data_dir), "KABAR_LOG_LEVEL": "WARNING",
                       "KABAR_BATCH_SIZE": str(batch_size)})


def run_embedded(options: Result) -> Result:
    isolate_environment(Path(options["workdir"]) / "data", options["batch_size"])
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar.contract.settings import get_settings  # noqa: PLC0415
    from kabar.embedded import InlinePipeline, build_handlers  # noqa: PLC0415

    setup = time.perf_counter()
    handlers = {stage: TimedHandler(handler) for stage, handler in build_handlers(get_settings()).items()}
    pipeline = InlinePipeline(dict(handlers))
    for doc in documents(WARMUP_START, 5, "warmup"):
        pipeline.run(RawDocument(**doc).model_dump(mode="json"))
    setup = time.perf_counter() - setup
    for handler in handlers.values():
        handler.cpu = handler.wall = 0.0
    per_doc: list[float] = []
    statuses: dict[str, int] = {}
    cpu, started = time.process_time(), time.perf_counter()
    for doc in documents(0, options["articles"], options["tag"]):
        payload = RawDocument(**doc).model_dump(mode="json")  # as `kabar ingest` hands it over
        began = time.perf_counter()
        status = pipeline.run(payload).status
        per_doc.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n = max(1, len(per_doc))
    stages = {stage: {"cpu_ms": 1000 * handlers[stage].cpu / n, "wall_ms": 1000 * handlers[stage].wall / n}
              for stage in STAGES}
    return {"articles": len(per_doc), "seconds": round(elapsed, 2), "per_s": len(per_doc) / elapsed,
            "cpu_ms_per_article": 1000 * cpu / n, "wall_ms_per_article": 1000 * elapsed / n, "stages": stages,
            "statuses": statuses, "setup_s": round(setup, 2), "per_article": percentiles(sorted(per_doc)),
            "peak_rss_mb": support.own_peak_rss_mb()}


def run_loop(options: Result) -> Result:
    workdir = Path(options["workdir"])
    isolate_environment(workdir / "data", options["batch_size"])
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar.contract.settings import get_settings  # noqa: PLC0415
    from kabar_enrich.stage import build_enricher  # noqa: PLC0415
    from kabar_ingest.stage import build_article  # noqa: PLC0415

    enricher = build_enricher(get_settings(), workdir / "enrich-state.sqlite3")
    for doc in documents(WARMUP_START, 3, "warmup"):
        enricher.enrich(build_article(RawDocument(**doc)))
    articles = [build_article(RawDocument(**doc)) for doc in documents(0, options["loop_articles"], options["tag"])]
    costs: list[float] = []
    cpu, started = time.process_time(), time.perf_counter()
    for article in articles:
        began = time.process_time()
        enricher.enrich(article)
        costs.append(time.process_time() - began)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n, quarter = max(1, len(articles)), max(1, len(costs) // 4)
    return {"articles": len(articles), "seconds": round(elapsed, 2), "per_s": len(articles) / elapsed,
            "wall_ms_per_article": 1000 * elapsed / n, "cpu_ms_per_article": 1000 * cpu / n,
            "cpu_ms_by_quarter": [1000 * statistics.mean(costs[:quarter]), 1000 * statistics.mean(costs[-quarter:])],
            "peak_rss_mb": support.own_peak_rss_mb()}
