"""The main text of an HTML page, by trafilatura: one function for every path into kabar.

trafilatura's defaults without comments, then kabar's furniture cleaning (cleaning.py):
on the gold pages in ../shared/eval this beat both trafilatura's plain defaults and its
favor_precision mode without tables (benchmarks/quality.py --section extraction; token F1
0.956 / 0.962 against 0.951 / 0.956 on the fundus and Scrapinghub pages, snippets 0.914
against 0.904). The page's title, author and date are read in ``pages.py``.
"""

from __future__ import annotations

import trafilatura


def main_text(html: str, url: str | None = None) -> str:
    """The page's main text as every path into kabar extracts it (the ingest stage, ``kabar extract`` and
    ``kabar enrich`` on pages, the benchmark). deduplicate=False: trafilatura's deduplication remembers text
    across calls in the process, so the third extraction of one page (a repeat, a correction check, a push)
    would find no text."""
    return trafilatura.extract(html, url=url, include_comments=False, deduplicate=False) or ""
