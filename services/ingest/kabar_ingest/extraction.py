"""Main text, title and date of an HTML page, by trafilatura.

trafilatura's defaults without comments, then kabar's furniture cleaning (cleaning.py):
on the gold pages in ../shared/eval this beat both trafilatura's plain defaults and its
favor_precision mode (benchmarks/quality.py --section extraction).
"""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    text: str
    title: str | None
    url: str | None
    date: str | None


def extract_html(html: str, url: str | None = None) -> ExtractedPage:
    text = trafilatura.extract(html, url=url, include_comments=False) or ""
    metadata = trafilatura.extract_metadata(html, default_url=url)
    if metadata is None:
        return ExtractedPage(text=text, title=None, url=url, date=None)
    return ExtractedPage(text=text, title=metadata.title, url=metadata.url or url, date=metadata.date)
