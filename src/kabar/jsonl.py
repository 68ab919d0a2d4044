"""The JSON-lines contract of ``kabar enrich --jsonl`` and ``kabar extract --jsonl``.

One output line per input line, in order; a line that cannot be processed gets
``{"id": ..., "error": "..."}`` and the rest carries on. Models load once per process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TextIO

from kabar.contract.messages import Article, utc_now
from kabar.contract.settings import KabarSettings

MEMORY = Path(":memory:")


def _parse(line: str, number: int) -> tuple[dict[str, Any] | None, str | None]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"line {number}: invalid JSON: {exc.msg}"
    if not isinstance(item, dict):
        return None, f"line {number}: not a JSON object"
    if not isinstance(item.get("id"), str | int):
        return None, f"line {number}: needs an 'id'"
    body = item.get("html", item.get("text"))
    if not isinstance(body, str):
        return item, f"line {number}: needs a string 'text' or 'html'"
    return item, None


def _write(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()


def page_article(html: str) -> tuple[str, str]:
    """A page's title and text exactly as the ingest stage makes them (extraction, furniture and "Baca juga"
    cleaning); both empty when it holds no article text. ``UnusableDocument`` for a page ingest refuses."""
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar_ingest.stage import NoArticleText, prepare  # noqa: PLC0415

    try:
        prepared = prepare(RawDocument(source="push", format="html", content=html))
    except NoArticleText:
        return "", ""
    return prepared.title, prepared.text


def _page(item: dict[str, Any], number: int) -> tuple[str, str] | str:
    """The page's title and text as ingest makes them, or why it refuses the page (the error line's message)."""
    from kabar_ingest.stage import UnusableDocument  # noqa: PLC0415

    try:
        return page_article(item["html"])
    except UnusableDocument as exc:
        return f"line {number}: {exc}"


def extract_lines(lines: TextIO, out: TextIO) -> int:
    failures = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item, error = _parse(line, number)
        if error is None and item is not None and not isinstance(item.get("html"), str):
            error = f"line {number}: needs a string 'html'"
        if error or item is None:
            failures += 1
            _write(out, {"id": item.get("id") if item else None, "error": error})
            continue
        page = _page(item, number)
        if isinstance(page, str):
            failures += 1
            _write(out, {"id": item["id"], "error": page})
            continue
        _write(out, {"id": item["id"], "title": page[0], "text": page[1]})
    return failures


def _without_furniture(text: str, masked: str) -> str:
    """The text enrich sees of a ``text`` line: its page furniture, "read also" links and footer blanked out
    (``masked``), as ingest cleans files and pushes; the text as given when nothing else is left of it (a
    line that is all "Jangan lewatkan …" is still what was asked about)."""
    return masked if any(char.isalpha() for char in masked) else text


def enrich_lines(lines: TextIO, out: TextIO, settings: KabarSettings, store: Path | None) -> int:
    from kabar_enrich.dates import date_from_html  # noqa: PLC0415
    from kabar_enrich.stage import build_enricher  # noqa: PLC0415
    from kabar_ingest.cleaning import masked_furniture  # noqa: PLC0415

    enricher = build_enricher(settings, store or MEMORY)
    failures = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item, error = _parse(line, number)
        if error or item is None:
            failures += 1
            _write(out, {"id": item.get("id") if item else None, "error": error})
            continue
        is_html = isinstance(item.get("html"), str)
        title = str(item.get("title") or "")
        if is_html:  # a page is cleaned as ingest cleans it (furniture, "Baca juga" links): enrich sees the article
            page = _page(item, number)
            if isinstance(page, str):
                failures += 1
                _write(out, {"id": item["id"], "error": page})
                continue
            title, text = title or page[0], page[1]
        else:  # furniture blanked where it stands, so the entities' offsets are the input's
            text = _without_furniture(item["text"], masked_furniture(item["text"]))
        article = Article(id=str(item["id"]), title=title, text=text,
                          content_hash=hashlib.sha256(text.encode()).hexdigest(), received_at=utc_now(),
                          published_at=date_from_html(item["html"]) if is_html else None)
        enriched = enricher.enrich(article).model_dump(mode="json")
        record = {key: enriched[key] for key in ("id", "language", "language_confidence", "paragraph_languages",
                                                 "entities", "published_at", "fingerprint", "duplicate_of",
                                                 "story_id")}
        record["id"] = item["id"]
        if is_html:
            record["text"] = text
        _write(out, record)
    return failures
