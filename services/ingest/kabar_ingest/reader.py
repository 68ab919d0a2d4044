"""Turn files into ``RawDocument`` messages, refusing bad files with one clear reason each.

Supported: ``.txt`` (UTF-8 text, first line the title), ``.html``/``.htm`` (its declared
charset honoured) and ``.json`` (one object or a list of objects with ``text`` or ``html``
and optional ``url``, ``title``, ``published_at``).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from kabar.contract.messages import RawDocument

SUPPORTED_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html", ".json": "json"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_JSON_FIELDS = {"url", "title", "text", "html", "published_at"}


class BadDocument(ValueError):
    """A file that cannot be ingested; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class ReadResult:
    path: Path
    documents: list[RawDocument]
    error: str | None = None


def iter_files(path: Path) -> Iterator[Path]:
    """The files to ingest under ``path``: itself, or every file of a folder, sorted."""
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise BadDocument(f"{path}: no such file or folder")
    for child in sorted(path.rglob("*")):
        if child.is_file() and not child.name.startswith("."):
            yield child


def read_path(path: Path, max_bytes: int) -> ReadResult:
    """Read one file; never raises for a bad file, the reason is in ``error``."""
    try:
        return ReadResult(path, read_documents(path, max_bytes))
    except BadDocument as exc:
        return ReadResult(path, [], str(exc))
    except OSError as exc:
        return ReadResult(path, [], f"cannot read file: {exc.strerror or exc}")


def read_documents(path: Path, max_bytes: int) -> list[RawDocument]:
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadDocument(f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .html or .json")
    size = path.stat().st_size
    if size == 0:
        raise BadDocument("empty file")
    if size > max_bytes:
        raise BadDocument(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")
    data = path.read_bytes()
    if looks_binary(data):
        raise BadDocument("binary file, not text")
    if kind == "html":
        return [_document(str(path), "html", decode_html(data))]
    text = decode_utf8(data)
    if kind == "json":
        return parse_json_documents(text, str(path))
    if not text.strip():
        raise BadDocument("file has only whitespace")
    return [_document(str(path), "text", text)]


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean it is not text."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return controls > len(head) * 0.05


def decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDocument(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); convert it to UTF-8"
        ) from None


def decode_html(data: bytes) -> str:
    """HTML may declare its charset; without a declaration it must be UTF-8."""
    match = _META_CHARSET.search(data[:4096])
    if match:
        name = match.group(1).decode("ascii", "replace")
        try:
            codecs.lookup(name)
        except LookupError:
            raise BadDocument(f"HTML declares an unknown charset {name!r}") from None
        return data.decode(name, errors="replace")
    return decode_utf8(data)


def parse_json_documents(text: str, source: str) -> list[RawDocument]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadDocument(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    return [_json_document(item, source, index) for index, item in enumerate(items)]


def _json_document(item: object, source: str, index: int) -> RawDocument:
    where = f"item {index}" if index else "object"
    if not isinstance(item, dict):
        raise BadDocument(f"JSON {where} is not an object")
    unknown = set(item) - _JSON_FIELDS
    if unknown:
        raise BadDocument(f"JSON {where} has unknown fields: {', '.join(sorted(unknown))}")
    body_field = "html" if "html" in item else "text"
    body = item.get(body_field)
    if not isinstance(body, str) or not body.strip():
        raise BadDocument(f"JSON {where} needs a non-empty string 'text' or 'html'")
    try:
        return RawDocument(
            source=source, format="html" if body_field == "html" else "text", content=body,
            url=item.get("url"), title=item.get("title"), published_at=item.get("published_at"),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise BadDocument(f"JSON {where} field {field!r}: {first['msg']}") from None


def _document(source: str, fmt: str, content: str) -> RawDocument:
    return RawDocument(source=source, format="html" if fmt == "html" else "text", content=content)
