"""Throughput of the whole pipeline on real services, its latency at half the peak rate, and its
efficiency against an in-process enrich-only loop over the same articles.

    .venv/bin/python benchmarks/pipeline.py                                  # 20,000 articles, every backend
    .venv/bin/python benchmarks/pipeline.py --json pipeline.json             # the same, figures also as JSON
    .venv/bin/python benchmarks/pipeline.py --articles 600 --latency-seconds 15 --loop-articles 200  # smoke run
    .venv/bin/python benchmarks/pipeline.py --backend elasticsearch --skip-latency --scale 1 2 4   # for the docs
    .venv/bin/python benchmarks/pipeline.py --backend opensearch --engine-url http://127.0.0.1:9201  # a running one
    .venv/bin/python benchmarks/pipeline.py --latency-rate 50                # the latency phase at 50 articles/s
    .venv/bin/python benchmarks/pipeline.py --batch-size 1                   # one article per queue message

Articles: ../shared/corpus/indosum.jsonl (3,463 Indonesian news articles, read in place), repeated
to --articles under new ids: article k of copy c gets its own URL and, from the second copy on, a
last line naming the copy, so its id and content hash are new (as benchmarks/load.py does).
Skips (exit 0) where the corpus is absent.

Parts, one after the other, each in its own process (its own ``KABAR_*`` environment):

1. services (``--backend elasticsearch`` or ``opensearch``; ``all`` runs each): the stack of
   benchmarks/load.py on loopback — a private redis-server (append-only, fsync every second, as
   docker-compose.yml runs it), the real engine (started for the part by scripts/engines.py, 512 MB
   heap, on the same cores; or the one at --engine-url, whose CPU is then not counted) and one
   worker per stage started with the commands of docker-compose.yml, the enrich pool with
   --enrich-workers processes. A few warm-up
   articles first (models load in each pool process on its first message), then:
   - peak: every article queued as fast as the pipeline takes it (``enqueue_many``, --batch-size
     articles per message, as ``kabar ingest`` queues a folder), at most --max-backlog articles
     waiting in all queues together. The
     articles in the index are counted (``_count``) every 0.5 s (every second above 5,000 articles);
     sustained articles/s is the rate between 10 % and 90 % of them indexed, overall articles/s from
     the first queued to the last indexed. CPU: user + system seconds of each worker's process tree
     (parent and pool processes), of Redis and of the engine, from /proc, from the end of the
     warm-up to the last article indexed, per article; also per half of the steady part (a cost
     that grows with the index shows there). Memory, sampled every second: the largest RSS per
     process and per tree, and the tree's PSS (pool processes share their parent's pages). The
     index worker's bulk writes (count, size, slowest) are read from its log;
   - latency: --latency-seconds at half the sustained peak rate (or --latency-rate), paced evenly.
     An article's clock starts on its turn (its arrival) and stops at the first ``ids`` search that
     finds it (asked every 100 ms for every article not found yet). Each article is queued alone
     as it arrives, as a push or a feed entry is: batches only form where there is a backlog. The
     table also gives the time from the message being queued. The index stage never refreshes: an
     article is searchable once the server's refresh has run: up to its refresh interval (1 s by
     default) after the write.
2. embedded (``--backend embedded``): ``InlinePipeline`` in one process (as ``kabar ingest`` runs it
   in the embedded mode), SQLite state and search index in a temporary data directory, over the same
   articles: articles/s, CPU and wall time per stage (each stage handler timed), per-article time
   (what an article waits for before it is searchable), the process' peak RSS.
3. enrich-only loop: the enricher the enrich stage builds (``build_enricher``, SQLite state in a
   temporary directory) over the first --loop-articles articles, already cleaned by ingest's
   ``build_article``, in one process: articles/s and ms per article. Efficiency = the pipeline's
   articles/s / the loop's articles/s; per core, the loop's CPU per article / the enrich worker's.

--scale N [N ...] then runs the services' peak phase again on a fresh stack for each enrich pool
size N (how throughput scales with the number of worker processes).

Prints markdown tables (and writes JSON with --json PATH) with the machine, the command and the date.
Everything listens on loopback only; every process started is stopped at the end.

The code, by phase: pipeline_stack.py starts the services, pipeline_feed.py makes and queues the
articles, pipeline_measure.py samples and computes the figures, pipeline_services.py and
pipeline_inprocess.py are the parts, pipeline_report.py prints the tables; this file runs each part
in its own process. What every benchmark shares is in support.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # benchmarks/support.py
from pipeline_inprocess import run_embedded, run_loop
from pipeline_measure import Result
from pipeline_report import command, machine, render
from pipeline_services import run_services

CORPUS = support.CORPUS


# ---- each part in its own process -----------------------------------------------------------------------------

PARTS: dict[str, Callable[[Result], Result]] = {"services": run_services, "embedded": run_embedded,
                                                 "loop": run_loop}


def _stop_on_sigterm() -> None:
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # so that every ``finally`` runs and stops what was started

    signal.signal(signal.SIGTERM, stop)


def _part_main(part: str, options: Result, out: str) -> None:
    _stop_on_sigterm()
    result = PARTS[part](options)
    Path(out).write_text(json.dumps(result))


def run_part(part: str, options: Result) -> Result | None:
    """``part`` in a fresh interpreter (its own KABAR_* settings); its result, or None when it failed."""
    Path(options["workdir"]).mkdir(parents=True, exist_ok=True)
    out = Path(options["workdir"]) / "result.json"
    process = multiprocessing.get_context("spawn").Process(target=_part_main, args=(part, options, str(out)),
                                                           name=f"kabar-pipeline-{part}")
    process.start()
    try:
        process.join()
    finally:
        if process.is_alive():
            process.terminate()  # the part stops what it started, then exits
            process.join(180)
        if process.is_alive():
            process.kill()
            process.join()
    if process.exitcode != 0 or not out.exists():
        print(f"# {part} failed (exit status {process.exitcode}); its files are in {options['workdir']}", flush=True)
        return None
    result: Result = json.loads(out.read_text())
    return result


# ---- main -----------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--backend", choices=(*support.ENGINES, "embedded", "all"), default="all",
                        help="an engine (services), the embedded backend, or all three")
    parser.add_argument("--engine-url", help="a running engine of --backend's kind (default: start one per part)")
    parser.add_argument("--enrich-workers", type=int, default=2, help="enrich pool processes")
    parser.add_argument("--batch-size", type=int, default=int(os.environ.get("KABAR_BATCH_SIZE", "20")),
                        help="articles per queue message in the peak phase (default KABAR_BATCH_SIZE or 20, "
                             "kabar's default); the latency phase sends each article alone, as it arrives")
    parser.add_argument("--max-backlog", type=int, default=2000,
                        help="most articles waiting in the queues (messages × batch size), all stages together")
    parser.add_argument("--latency-seconds", type=float, default=60.0, help="length of the half-peak phase")
    parser.add_argument("--latency-rate", type=float, default=None,
                        help="articles/s of the latency phase (default: half the sustained peak)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--loop-articles", type=int, default=2000, help="articles for the enrich-only loop")
    parser.add_argument("--scale", type=int, nargs="*", default=[], metavar="N",
                        help="also run the services' peak with N enrich processes, for each N (e.g. 1 2 4)")
    parser.add_argument("--timeout", type=float, default=6 * 3600.0, help="give up a peak phase after this many s")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, data) in /tmp")
    args = parser.parse_args(argv)
    if min(args.articles, args.enrich_workers, args.batch_size, args.loop_articles, *args.scale, 1) < 1:
        parser.error("counts must be at least 1")
    if args.engine_url and args.backend not in support.ENGINES:
        parser.error("--engine-url needs --backend elasticsearch or opensearch")
    return args


def options_for(args: argparse.Namespace, workdir: Path, **overrides: Any) -> Result:
    options = {key: value for key, value in vars(args).items() if key not in ("json", "scale")}
    options.update(workdir=str(workdir), tag=workdir.parent.name.removeprefix("kabar-pipeline-"), **overrides)
    return options


def run_all(args: argparse.Namespace, root: Path) -> Result:
    options = {key: value for key, value in vars(args).items() if key != "json"}
    report: Result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "command": command(),
                      "machine": machine(), "options": options}
    report["services"], report["scale"] = {}, {}
    for engine in [name for name in support.ENGINES if args.backend in (name, "all")]:
        report["services"][engine], report["scale"][engine] = run_engine(args, root, engine)
    if args.backend in ("embedded", "all"):
        print("# embedded run", flush=True)
        report["embedded"] = run_part("embedded", options_for(args, root / "embedded"))
    print("# enrich-only loop", flush=True)
    report["loop"] = run_part("loop", options_for(args, root / "loop"))
    return report


def run_engine(args: argparse.Namespace, root: Path, engine: str) -> tuple[Result | None, list[Result]]:
    """The services parts on ``engine``: one engine for its peak, latency and scaling runs."""
    print(f"# services on {engine}", flush=True)
    with support.search_engine(engine, args.engine_url) as (url, pid):
        def part(directory: str, **overrides: Any) -> Result | None:
            return run_part("services", options_for(args, root / directory, engine=engine, engine_url=url,
                                                    engine_pid=pid, **overrides))

        services = part(f"services-{engine}")
        scale: list[Result] = []
        for n in args.scale:
            if n == args.enrich_workers and services is not None:
                scale.append(services)  # the same peak: not run twice
            elif run := part(f"scale-{engine}-{n}", enrich_workers=n, skip_latency=True):
                scale.append(run)
    return services, scale


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return 0
    _stop_on_sigterm()
    root = Path(tempfile.mkdtemp(prefix="kabar-pipeline-"))
    failed = True
    try:
        report = run_all(args, root)
        failed = any(report.get(part, {}) is None for part in ("embedded", "loop")) or any(
            run is None for run in report["services"].values())
    finally:
        if args.keep or failed:
            print(f"# files (logs, data) in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
