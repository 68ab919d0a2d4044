"""Memory of the ingest stage on the largest inputs it accepts, and on HTML bombs (issue #14).

    python benchmarks/memory.py                      # every case
    python benchmarks/memory.py enrich-10mb          # some of them

Each case runs in a fresh process (so one case's heap does not carry into the next): the
process loads the ingest handler, reads its RSS ("before"), hands it one input as the ingest
worker would, and reports its peak RSS (VmHWM) and its RSS afterwards. The target: at most
500 MB at the peak, and memory returned afterwards.

Cases:
- ``html-bomb``: the issue's page, 8.4 MB of 600,000 elements (refused by the element budget
  before any parser runs);
- ``html-at-budget``: a page just under the budget (``MAX_HTML_ELEMENTS`` elements of text,
  padded to the 10 MB size limit), which is parsed and extracted;
- ``html-deep``: nesting one level under the depth limit;
- ``text-10mb``: the largest text document (``KABAR_MAX_DOCUMENT_BYTES``);
- ``enrich-1mb``, ``enrich-10mb``: the enrich stage (language, entities, dates, fingerprints, stories)
  on an article of 1 MB and of 10 MB of text, the most ingest passes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("html-bomb", "html-at-budget", "html-deep", "text-10mb", "enrich-1mb", "enrich-10mb")

CHILD = r"""
import json, sys, time, resource
from kabar.contract.settings import KabarSettings
from kabar_ingest.reader import MAX_HTML_ELEMENTS, MAX_HTML_DEPTH
from kabar_ingest.stage import build_handler
from kabar.contract.messages import RawDocument

def real_text(size):
    # Real Indonesian news text (the IndoSum corpus in ../shared, read at run time), joined to ``size``:
    # varied words make as many shingles as a real article of that length would.
    from pathlib import Path
    corpus = Path("..") / "shared" / "corpus" / "indosum.jsonl"
    if not corpus.exists():
        return None
    parts, total = [], 0
    with corpus.open() as lines:
        for line in lines:
            item = json.loads(line)
            parts.append(item.get("text") or "")
            total += len(parts[-1])
            if total >= size:
                break
    joined = "\n\n".join(parts)
    return (joined + "\n\n") * (size // max(1, len(joined)) + 1)  # the corpus has ~7 MB: repeated past that

def rss():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

def measure(handler, warmup, raw, size):
    # One warm-up message (caches, lazy tables), then RSS before, the message, peak and after.
    handler.handle(warmup)
    before, _ = rss()
    started = time.process_time()
    try:
        handler.handle(raw)
        outcome = "accepted"
    except Exception as exc:
        outcome = f"refused: {type(exc).__name__}: {str(exc)[:120]}"
    cpu = time.process_time() - started
    raw.clear()
    after, peak = rss()
    print(json.dumps({"case": case, "bytes": size, "outcome": outcome, "cpu_s": round(cpu, 2),
                      "rss_before_mb": round(before), "rss_peak_mb": round(peak), "rss_after_mb": round(after)}))

def ingest_content(case, limit):
    paragraph = "<p>Presiden berbicara tentang ekonomi nasional dan harga beras di pasar.</p>"
    if case == "html-bomb":
        return "<html><body>" + "<div><b>x</b></div>" * 300_000 + "</body></html>"
    if case == "html-at-budget":  # as many elements as allowed, padded to the size limit
        count = MAX_HTML_ELEMENTS - 10
        words = "Presiden berbicara tentang ekonomi nasional dan harga beras di pasar. "
        padded = "<p>" + (words * ((limit - 200) // count // len(words) + 1))[: (limit - 200) // count - 7] + "</p>"
        return "<html><body><article>" + padded * count + "</article></body></html>"
    if case == "html-deep":
        depth = MAX_HTML_DEPTH - 5
        return "<html><body>" + "<div>" * depth + paragraph * 50 + "</div>" * depth + "</body></html>"
    return "Judul berita\n\n" + ("Presiden berbicara tentang ekonomi nasional. " * (limit // 46))[: limit - 20]

case, data_dir = sys.argv[1], sys.argv[2]
settings = KabarSettings(data_dir=data_dir, keep_raw_html=False)
sentence = "Presiden Joko Widodo bertemu Menteri Luar Negeri Retno Marsudi di Jakarta pada hari Senin. "
if case.startswith("enrich"):
    from kabar_enrich.stage import build_handler as build_enrich
    from kabar.contract.messages import Article
    size_limit = (1 if case == "enrich-1mb" else 10) * 1024 * 1024
    text = (real_text(size_limit) or sentence * (size_limit // len(sentence) + 1))[:size_limit]
    warm = Article(id="warm", title="Judul", text=sentence * 20, content_hash="w", received_at="2025-01-01T00:00:00Z")
    article = Article(id="big", title="Judul", text=text, content_hash="h", received_at="2025-01-01T00:00:00Z")
    size, payload = len(text.encode()), article.model_dump(mode="json")
    del text, article
    measure(build_enrich(settings), warm.model_dump(mode="json"), payload, size)
else:
    content = ingest_content(case, 10 * 1024 * 1024)
    warm = RawDocument(source="warmup", format="text", content="Judul\n\n" + "kata lain " * 100)
    raw = RawDocument(source=case, format="html" if case.startswith("html") else "text", content=content,
                      url="https://news.example.id/" + case)
    size, payload = len(content.encode()), raw.model_dump(mode="json")
    del content, raw
    measure(build_handler(settings), warm.model_dump(mode="json"), payload, size)
"""


def run_case(case: str, data_dir: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, case, str(data_dir)], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    if done.returncode != 0:
        return {"case": case, "outcome": f"crashed: {done.stderr.strip().splitlines()[-1:]}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    import tempfile  # noqa: PLC0415

    print(f"{'case':16} {'MB in':>6} {'CPU s':>6} {'RSS before':>10} {'peak':>6} {'after':>6}  outcome")
    worst = 0
    for case in sys.argv[1:] or CASES:
        with tempfile.TemporaryDirectory(prefix="kabar-memory-") as data_dir:
            row = run_case(case, Path(data_dir))
        peak = int(str(row.get("rss_peak_mb", 0)))
        worst = max(worst, peak)
        print(f"{case:16} {int(str(row.get('bytes', 0))) / 1e6:6.1f} {row.get('cpu_s', '-')!s:>6} "
              f"{row.get('rss_before_mb', '-')!s:>10} {peak:>6} {row.get('rss_after_mb', '-')!s:>6}  {row['outcome']}")
    print(f"largest peak: {worst} MB (target: at most 500 MB)")
    return 0 if worst <= 500 else 1


if __name__ == "__main__":
    sys.exit(main())
