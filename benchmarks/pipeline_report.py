"""benchmarks/pipeline.py, reporting: the figures as markdown tables, with the machine, the command and the date."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import support
from pipeline_measure import TARGET_P99, TARGET_RATE, Result

STAGES = support.STAGES


def machine() -> Result:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    meminfo = Path("/proc/meminfo").read_text().split()
    ram_gb = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    return {"cores": os.cpu_count(), "cpu": model, "ram_gb": round(ram_gb, 1), "python": platform.python_version(),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()]}


def command() -> str:
    python = Path(sys.executable)
    with suppress(ValueError):
        python = python.relative_to(Path.cwd())
    return shlex.join([str(python), *sys.argv])


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:,.{digits}f}"
    return "-" if value is None else str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(cell) if not isinstance(cell, str) else cell for cell in row) + " |"
              for row in rows]
    return [*lines, ""]


def throughput_rows(report: Result) -> list[list[Any]]:
    peak = (report.get("services") or {}).get("peak") or {}
    embedded, loop = report.get("embedded") or {}, report.get("loop") or {}
    loop_rate = loop.get("per_s")

    def efficiency(rate: float | None) -> str:
        return f"{rate / loop_rate:.2f}" if rate and loop_rate else "-"

    return [
        ["articles", peak.get("articles"), embedded.get("articles"), loop.get("articles")],
        ["sustained articles/s (10–90 % indexed)", peak.get("sustained_per_s"), "-", "-"],
        ["overall articles/s (first queued → last searchable)", peak.get("overall_per_s"), embedded.get("per_s"),
         loop.get("per_s")],
        ["seconds", peak.get("seconds"), embedded.get("seconds"), loop.get("seconds")],
        ["efficiency: articles/s ÷ the loop's", efficiency(peak.get("sustained_per_s")),
         efficiency(embedded.get("per_s")), "1.00" if loop_rate else "-"],
        ["lost / dead letters", f"{peak.get('lost', '-')} / {(report.get('services') or {}).get('dead_letters', '-')}",
         _embedded_failures(embedded), "-"],
    ]


def _embedded_failures(embedded: Result) -> str:
    statuses = embedded.get("statuses")
    if not statuses:
        return "-"
    return f"{embedded['articles'] - statuses.get('indexed', 0)} / {statuses.get('failed', 0)}"


def cpu_rows(report: Result) -> list[list[Any]]:
    peak = (report.get("services") or {}).get("peak") or {}
    cpu, parent = peak.get("cpu_ms_per_article", {}), peak.get("parent_cpu_ms_per_article", {})
    first, last = peak.get("cpu_ms_per_article_by_half") or [{}, {}]
    stages = (report.get("embedded") or {}).get("stages", {})
    loop = report.get("loop") or {}

    def halves(name: str) -> str:
        return f"{first[name]:.1f} → {last[name]:.1f}" if name in first and name in last else "-"

    rows: list[list[Any]] = []
    for stage in STAGES:
        embedded = stages.get(stage, {})
        looped = [loop.get("cpu_ms_per_article"), loop.get("wall_ms_per_article")] if stage == "enrich" else ["-"] * 2
        rows.append([stage, cpu.get(stage), parent.get(stage), halves(stage), embedded.get("cpu_ms"),
                     embedded.get("wall_ms"), *looped])
    rows.append(["redis-server", cpu.get("redis"), "-", halves("redis"), "-", "-", "-", "-"])
    rows.append([f"{report.get('engine') or 'search engine'} (search)", cpu.get("engine"), "-", halves("engine"),
                 "-", "-", "-", "-"])
    embedded_all = report.get("embedded") or {}
    rows.append(["**pipeline total**", cpu.get("pipeline"), "-", halves("pipeline"),
                 embedded_all.get("cpu_ms_per_article"), embedded_all.get("wall_ms_per_article"),
                 loop.get("cpu_ms_per_article"), loop.get("wall_ms_per_article")])
    rows.append(["producer (this script: enqueue, counting)", cpu.get("producer"), "-", "-", "-", "-", "-", "-"])
    return rows


def memory_rows(report: Result) -> list[list[Any]]:
    rss = ((report.get("services") or {}).get("peak") or {}).get("rss_mb", {})
    rows: list[list[Any]] = [[f"{name} ({memory['processes']} process(es))", memory["tree_pss_mb"], memory["tree_mb"],
                              memory["parent_mb"], memory["child_mb"] or "-"] for name, memory in rss.items()]
    for part in ("embedded", "loop"):
        if report.get(part):
            rows.append([f"{part} (one process)", "-", report[part]["peak_rss_mb"], "-", "-"])
    return rows


def summary_lines(report: Result) -> list[str]:
    """What the figures say: efficiency per core, the CPU ceiling, the latency target."""
    lines: list[str] = []
    services, loop = report.get("services") or {}, report.get("loop") or {}
    peak = services.get("peak") or {}
    cpu = peak.get("cpu_ms_per_article", {})
    if cpu.get("enrich") and loop.get("cpu_ms_per_article"):
        lines.append(f"- per core, enrich: the loop spends {loop['cpu_ms_per_article']:.1f} ms CPU per article, the "
                     f"enrich worker {cpu['enrich']:.1f} ms ({loop['cpu_ms_per_article'] / cpu['enrich']:.2f} of its "
                     f"CPU is enrichment); the whole services pipeline spends {cpu['pipeline']:.1f} ms "
                     f"({cpu['pipeline'] / loop['cpu_ms_per_article']:.2f}× the enrichment alone)")
    if loop.get("cpu_ms_by_quarter"):
        early, late = loop["cpu_ms_by_quarter"]
        lines.append(f"- the loop's enrichment CPU per article: {early:.1f} ms over its first quarter, {late:.1f} ms "
                     "over its last (a rise would mean the cost grows with the state: more articles seen)")
    window = peak.get("steady_window_s") or []
    if peak and (len(window) < 2 or window[1] - window[0] < 30):
        lines.append("- the steady part of the peak (10–90 % indexed) lasted under 30 s: too short for a reliable "
                     "rate, and the latency phase's rate follows from it (use more --articles)")
    if cpu.get("pipeline"):
        cores = report["machine"]["cores"] or 1
        lines.append(f"- CPU ceiling on this machine: {cores} cores / {cpu['pipeline']:.1f} ms per article = "
                     f"{1000 * cores / cpu['pipeline']:.0f} articles/s if every core did nothing else "
                     f"(the producer's {cpu['producer']:.1f} ms/article not included)")
    if peak.get("other_cpu_seconds") is not None:
        lines.append(f"- other processes on the machine used {peak['other_cpu_seconds']:.0f} CPU s of the "
                     f"{peak['cpu_seconds_available']:.0f} available during the peak (0 on an idle machine)")
    latency = services.get("latency")
    if latency:
        verdict = "yes" if latency["p99_s"] <= TARGET_P99 else "no"
        lines.append(f"- p99 ≤ {TARGET_P99:g} s at {TARGET_RATE:g} articles/s: {verdict}, measured at "
                     f"{latency['rate_per_s']:.1f} articles/s (the rate used; the target names {TARGET_RATE:g})")
        slow = (latency.get("bulk_writes") or {}).get("over_1s", 0)
        if slow:
            lines.append(f"- {slow} bulk write(s) to the search server took over 1 s during the latency phase: the "
                         "index worker writes one batch at a time, so every article behind a slow write waits for it")
    return lines


def render(report: Result) -> str:
    """One report per engine (the embedded and loop figures repeat in each), or the embedded one alone."""
    engines = list(report.get("services") or {})
    views = [{**report, "engine": name, "services": report["services"][name], "scale": report["scale"].get(name)}
             for name in engines] or [{**report, "engine": None, "services": None, "scale": None}]
    return "\n".join(render_one(view) for view in views)


def render_one(report: Result) -> str:
    m, options = report["machine"], report["options"]
    engine = report["engine"] or "no engine"
    out = [f"## kabar pipeline: {options['articles']:,} articles, {engine}", "",
           f"- date: {report['date']}", f"- command: `{report['command']}`",
           f"- machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
           f"load average at start {' '.join(map(str, m['load_average_at_start']))}",
           f"- enrich pool: {options['enrich_workers']} process(es); batch size {options['batch_size']} article(s) per "
           f"queue message; backlog under {options['max_backlog']} articles", ""]
    out += ["### Throughput", ""]
    out += table(["", f"services (Redis, Celery, {engine})", "embedded (in-process, SQLite)", "enrich-only loop"],
                 throughput_rows(report))
    out += latency_lines(report)
    out += bulk_line("peak (warm-up included)", ((report.get("services") or {}).get("peak") or {}).get("bulk_writes"))
    out += ["### CPU per article (ms)", ""]
    out += table(["", "services CPU (worker tree)", "of which the worker's parent", "10–50 % → 50–90 % indexed",
                  "embedded CPU", "embedded wall", "enrich-only loop CPU", "loop wall"], cpu_rows(report))
    out += ["### Resident memory, largest seen (MB)", ""]
    out += table(["process", "whole tree, PSS", "whole tree, RSS", "parent RSS", "largest pool process RSS"],
                 memory_rows(report))
    if report.get("scale"):
        out += ["### Scaling with enrich processes (services, peak)", ""]
        out += table(["enrich processes", "sustained articles/s", "overall articles/s", "enrich CPU ms/article",
                      "pipeline CPU ms/article", "× 1 process"], scale_rows(report["scale"]))
    return "\n".join([*out, *summary_lines(report), ""])


def latency_lines(report: Result) -> list[str]:
    out: list[str] = []
    latency = (report.get("services") or {}).get("latency")
    if latency:
        keys = ("p50_s", "p95_s", "p99_s", "max_s")
        out += ["### Ingest → searchable (services, half the peak rate)", ""]
        out += table(["from", "rate (articles/s)", "achieved", "sent", "searchable", "p50 s", "p95 s", "p99 s",
                      "max s"],
                     [["arrival", latency["rate_per_s"], latency["achieved_rate_per_s"], latency["sent"],
                       latency["searchable"], *(fmt(latency[key], 3) for key in keys)],
                      ["queued (once its batch filled)", "", "", "", "",
                       *(fmt(latency["from_queued"][key], 3) for key in keys)]])
        out += bulk_line("latency phase", latency.get("bulk_writes"))
    embedded = report.get("embedded")
    if embedded:
        per = embedded["per_article"]
        out += [f"Embedded, per article (searchable when its run returns): p50 {fmt(per['p50_s'] * 1000)} ms, "
                f"p95 {fmt(per['p95_s'] * 1000)} ms, p99 {fmt(per['p99_s'] * 1000)} ms, "
                f"max {fmt(per['max_s'] * 1000)} ms", ""]
    return out


def bulk_line(phase: str, writes: Result | None) -> list[str]:
    if not writes:
        return []
    return [f"Index worker, {phase}: {writes['writes']} bulk writes of {writes['articles_per_write']:.1f} articles on "
            f"average, the slowest {writes['slowest_s']:.2f} s, {writes['over_1s']} over 1 s (from its log).", ""]


def scale_rows(scale: Sequence[Result]) -> list[list[Any]]:
    base = next((run["peak"]["sustained_per_s"] for run in scale if run["enrich_workers"] == 1), None)
    rows: list[list[Any]] = []
    for run in scale:
        peak = run["peak"]
        factor = f"{peak['sustained_per_s'] / base:.2f}" if base else "-"
        rows.append([run["enrich_workers"], peak["sustained_per_s"], peak["overall_per_s"],
                     peak["cpu_ms_per_article"].get("enrich"), peak["cpu_ms_per_article"].get("pipeline"), factor])
    return rows
