"""Turn files into ``RawDocument`` messages, refusing bad files with one clear reason each.

Supported: ``.txt`` (UTF-8 text, first line the title), ``.html``/``.htm`` (its declared
charset honoured) and ``.json`` (one object or a list of objects with ``text`` or ``html``
and optional ``url``, ``title``, ``published_at``).

What is refused, each with its own reason: empty or whitespace-only files, files over the
size limit (checked before reading, and again while reading), binary files, text that is
not valid UTF-8, HTML that is not valid in the charset it declares (Windows-1252 labelled
UTF-8, say), HTML nested deeper than any parser reads, invalid or too deeply nested JSON,
JSON items with unknown fields or wrong types, titles and URLs over their length limits,
dates in the future or before 1900. In a JSON list the good items are kept and the bad
ones are named in the error.

What is repaired: control characters (other than tab, newline, carriage return and form
feed), ANSI escape sequences and bidirectional override/embedding/isolate characters are
removed from every text field, since they can only hide or disguise what a reader sees;
a date without a time zone is taken as UTC.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from pydantic import TypeAdapter, ValidationError

from kabar.contract.messages import RawDocument
from kabar.contract.surrogates import escape_text, lone_surrogate_reason

SUPPORTED_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html", ".json": "json"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_JSON_FIELDS = {"url", "title", "text", "html", "published_at"}

# A headline is a line, rarely over 200 characters; 1000 leaves room for long ones while a title
# cannot fill a results page. Over it, a title a client sends is refused (they can fix it) and a
# title from anywhere else (a page's metadata, a message on the queue) is cut (cleaning.clean_title).
MAX_TITLE_CHARS: Final = 1000
MAX_URL_CHARS: Final = 2048
MAX_HTML_DEPTH: Final = 512  # lxml gives up at 256 levels and trafilatura much earlier
# A news page has a few thousand elements (a heavy one 20,000-30,000). Parsing and extraction take
# about 2 KB and 0.1-0.3 ms of CPU per element: this budget keeps a worker far under 500 MB and a
# page under ~15 s of CPU (benchmarks/memory.py).
MAX_HTML_ELEMENTS: Final = 50_000
MAX_NAMED_ITEM_ERRORS: Final = 3  # bad items named in the error of a JSON list
EARLIEST_DATE: Final = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE: Final = timedelta(days=1)  # clocks and time zones of sources are not exact

# C0/C1 controls except \t \n \f \r, DEL, bidi embeddings/overrides (U+202A-E) and isolates
# (U+2066-9), interlinear annotation marks, and a BOM inside the text.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]")
# Invisible marks that sit inside words in pasted news text: a soft hyphen ("de\u00admokrasi"), a zero-width
# space ("e-comme\u200brce"), a word joiner, left-to-right and right-to-left marks ("Syarif\u200e"). They
# split or disguise a word for search, entities and near-duplicates, and show nothing.
_INVISIBLE_MARKS = re.compile("[\u00ad\u200b\u200e\u200f\u2060]")
# A numeric character reference in HTML ("&#11;", "&#x202E;"). C1 code points are left alone: HTML reads
# "&#150;" as Windows-1252's en dash.
_CHAR_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
_C1_RANGE = range(0x80, 0xA0)
# Tags for the nesting check: elements that never nest (void) or are often left open (optional end tags).
# Linear-time patterns only: a tag ends at the next "<" or ">", whatever the input.
_TAG = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^<>]*?(/?)>")
_RAW_TEXT_START = re.compile(rb"<!--|<(script|style|textarea|title)\b", re.IGNORECASE)
_NON_NESTING = frozenset(
    b"area base br col embed hr img input link meta param source track wbr p li dt dd tr td th option "
    b"optgroup thead tbody tfoot colgroup rb rt rtc rp caption".split()
)
_DATETIME: Final = TypeAdapter(datetime)


class BadDocument(ValueError):
    """A file that cannot be ingested; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class ReadResult:
    path: Path
    documents: list[RawDocument]
    error: str | None = None


@dataclass(slots=True)
class _JsonItems:
    documents: list[RawDocument] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


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
    """Read one file; never raises for a bad file, the reason is in ``error``.

    A JSON list with some bad items gives the good items' documents *and* an error.
    """
    try:
        kind, data = _read_bytes(path, max_bytes)
        if kind != "json":
            return ReadResult(path, [_document_of(path, kind, data)])
        items = _json_items(decode_utf8(data), source_name(path))
    except BadDocument as exc:
        return ReadResult(path, [], str(exc))
    except OSError as exc:
        return ReadResult(path, [], f"cannot read file: {exc.strerror or exc}")
    return ReadResult(path, items.documents, _json_error(items))


def source_name(path: Path) -> str:
    """The path as a document's source: a name that is not valid UTF-8 keeps its bytes as escapes."""
    return escape_text(str(path))


def read_documents(path: Path, max_bytes: int) -> list[RawDocument]:
    """Every document of one file; ``BadDocument`` if any part of it is refused."""
    result = read_path(path, max_bytes)
    if result.error:
        raise BadDocument(result.error)
    return result.documents


def _read_bytes(path: Path, max_bytes: int) -> tuple[str, bytes]:
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadDocument(f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .html or .json")
    size = path.stat().st_size
    if size == 0:
        raise BadDocument("empty file")
    if size > max_bytes:
        raise BadDocument(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)  # the file may have grown since stat
    if len(data) > max_bytes:
        raise BadDocument(f"file is over the {max_bytes / 1e6:.1f} MB limit")
    if not data:
        raise BadDocument("empty file")
    if looks_binary(data):
        raise BadDocument("binary file, not text")
    return kind, data


def _document_of(path: Path, kind: str, data: bytes) -> RawDocument:
    if kind == "html":
        check_html_shape(data)
        return _document(source_name(path), "html", sanitize(decode_html(data)))
    text = sanitize(decode_utf8(data))
    if not text.strip():
        raise BadDocument("file has only whitespace")
    return _document(source_name(path), "text", text)


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean it is not text."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return controls > len(head) * 0.05


def sanitize(text: str) -> str:
    """Without control characters, ANSI escapes, bidi overrides and invisible in-word marks: they hide or
    disguise text."""
    return _INVISIBLE_MARKS.sub("", _UNSAFE_CHARS.sub("", _ANSI_ESCAPE.sub("", text)))


def without_unsafe_references(html: str) -> str:
    """``html`` without the character references ``sanitize`` would remove once they are decoded. One
    reference to a control character ("&#11;", from a word processor) makes the HTML parser drop the whole
    page's text, and a decoded bidi override or invisible mark would come back after sanitizing."""
    if "&#" not in html:
        return html
    return _CHAR_REFERENCE.sub(_safe_reference, html)


def _safe_reference(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if code > sys.maxunicode or code in _C1_RANGE:
        return match.group(0)  # the parser's own reading: U+FFFD, or the Windows-1252 character
    return "" if sanitize(chr(code)) == "" else match.group(0)


def decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDocument(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); convert it to UTF-8"
        ) from None


def decode_html(data: bytes) -> str:
    """HTML may declare its charset; without a declaration it must be UTF-8. Either way it must decode."""
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return decode_utf8(data)
    name = match.group(1).decode("ascii", "replace")
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise BadDocument(f"HTML declares an unknown charset {name!r}") from None
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise BadDocument(
            f"HTML declares charset {name!r} but is not valid {codec.name} (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}); fix the declaration or convert the file"
        ) from None


def check_html_shape(data: bytes, max_depth: int = MAX_HTML_DEPTH, max_elements: int = MAX_HTML_ELEMENTS) -> None:
    """Refuse HTML nested deeper than ``max_depth`` (parsers drop what lies below their limit) or with
    more than ``max_elements`` elements (an HTML bomb: a parser's tree of it would not fit in a worker).

    A linear scan of the tags, before any parser builds a tree of the page.
    """
    depth = deepest = elements = 0
    for match in _TAG.finditer(_without_raw_text(data)):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if not closing:
            elements += 1
            if elements > max_elements:
                raise BadDocument(f"HTML has more than {max_elements:,} elements (the limit); no news page has "
                                  "that many, and parsing it would take too much memory")
        if name in _NON_NESTING or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
        if deepest > max_depth:
            raise BadDocument(f"HTML nests elements more than {max_depth} levels deep (the limit); "
                              "no parser reads it whole")


def _without_raw_text(data: bytes) -> bytes:
    """The markup without comments and the contents of script, style, textarea and title (not tags)."""
    lowered = data.lower()
    kept: list[bytes] = []
    position = 0
    while (start := _RAW_TEXT_START.search(data, position)) is not None:
        kept.append(data[position:start.start()])
        name = start.group(1)
        end_marker = b"-->" if name is None else b"</" + name.lower()
        end = lowered.find(end_marker, start.end())
        if end < 0:
            return b"".join(kept)
        position = end + len(end_marker)
    kept.append(data[position:])
    return b"".join(kept)


def parse_json_documents(text: str, source: str) -> list[RawDocument]:
    """The documents of a JSON file's text; ``BadDocument`` if any item is refused."""
    items = _json_items(text, source)
    error = _json_error(items)
    if error:
        raise BadDocument(error)
    return items.documents


def _json_items(text: str, source: str) -> _JsonItems:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadDocument(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise BadDocument("JSON nested too deeply") from None
    except ValueError as exc:  # Python's limit on integer digits (4,300): a number no article needs
        raise BadDocument(f"JSON holds a number too long to read: {exc}") from None
    if isinstance(parsed, list) and not parsed:
        raise BadDocument("JSON list has no items")
    result = _JsonItems()
    items = parsed if isinstance(parsed, list) else [parsed]
    for index, item in enumerate(items):
        try:
            result.documents.append(_json_document(item, source, index if isinstance(parsed, list) else None))
        except BadDocument as exc:
            result.errors.append(str(exc))
    return result


def _json_error(items: _JsonItems) -> str | None:
    if not items.errors:
        return None
    if not items.documents and len(items.errors) == 1:
        return items.errors[0]
    named = "; ".join(error.removeprefix("JSON ") for error in items.errors[:MAX_NAMED_ITEM_ERRORS])
    unnamed = len(items.errors) - MAX_NAMED_ITEM_ERRORS
    more = f"; and {unnamed} more" if unnamed > 0 else ""
    total = len(items.errors) + len(items.documents)
    return f"{len(items.errors)} of {total} JSON items refused: {named}{more}"


def _json_document(item: object, source: str, index: int | None) -> RawDocument:
    where = f"item {index}" if index is not None else "object"
    if not isinstance(item, dict):
        raise BadDocument(f"JSON {where} is not an object")
    unknown = set(item) - _JSON_FIELDS
    if unknown:
        named = ", ".join(sorted(escape_text(str(name)) for name in unknown))
        raise BadDocument(f"JSON {where} has unknown fields: {named}")
    unwritable = lone_surrogate_reason(item)
    if unwritable:
        raise BadDocument(f"JSON {where}: {unwritable}")
    body_field = "html" if "html" in item else "text"
    body = item.get(body_field)
    if not isinstance(body, str) or not sanitize(body).strip():
        raise BadDocument(f"JSON {where} needs a non-empty string 'text' or 'html'")
    title, url = item.get("title"), item.get("url")
    for name, value, limit in (("title", title, MAX_TITLE_CHARS), ("url", url, MAX_URL_CHARS)):
        if isinstance(value, str) and len(value) > limit:
            raise BadDocument(f"JSON {where} field {name!r} is {len(value)} characters long, over the {limit} limit")
    try:
        if body_field == "html":
            _check_field("html", lambda: check_html_shape(body.encode("utf-8", "replace")))
        return RawDocument(
            source=source, format="html" if body_field == "html" else "text", content=sanitize(body),
            url=sanitize(url) if isinstance(url, str) else url,
            title=sanitize(title) if isinstance(title, str) else title,
            published_at=_published_at(item.get("published_at")),
        )
    except BadDocument as exc:
        raise BadDocument(f"JSON {where} {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "published_at"
        raise BadDocument(f"JSON {where} field {name!r}: {first['msg']}") from None


def _check_field(name: str, check: Callable[[], object]) -> None:
    try:
        check()
    except BadDocument as exc:
        raise BadDocument(f"field {name!r}: {exc}") from None


def _published_at(value: object) -> datetime | None:
    """A publication date that can be true: time zone known (UTC if none given), not future, not before 1900."""
    if value is None:
        return None
    moment = _DATETIME.validate_python(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise BadDocument(f"field 'published_at': {moment.isoformat()} is in the future")
    if moment < EARLIEST_DATE:
        raise BadDocument(f"field 'published_at': {moment.isoformat()} is before 1900")
    return moment


def _document(source: str, fmt: str, content: str) -> RawDocument:
    return RawDocument(source=source, format="html" if fmt == "html" else "text", content=content)
