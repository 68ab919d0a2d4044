"""Escaping and links shared by the server-rendered pages."""

from __future__ import annotations

import html
from urllib.parse import quote


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def marked(passage: str) -> str:
    """Escape a highlight passage, keeping only its <mark> tags as markup."""
    return esc(passage).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")


def view(kind: str, item_id: str) -> str:
    """The page of one article or story; the id is percent-encoded whole (ids may hold any character)."""
    return f"/view/{kind}/{quote(item_id, safe='')}"
