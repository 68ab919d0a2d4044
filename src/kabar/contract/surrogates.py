"""Lone surrogates: strings Python holds but nothing can write.

JSON may carry ``"\\ud800"``, an escape of half a UTF-16 pair; ``json.loads`` turns it into a
Python string that raises ``UnicodeEncodeError`` wherever it is encoded to UTF-8: a queue
message, a dead letter, a log line, a database row. Input is checked for them where it comes in
(``first_lone_surrogate``: refused with the field named), and whatever must be written anyway
(a dead letter of the item that carried one) is escaped first (``escape_surrogates``).
"""

from __future__ import annotations

import re
from typing import Any, Final

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_MAX_WRITABLE_BITS: Final = 13_000  # about 3,900 digits: under Python's 4,300-digit conversion limit


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def first_lone_surrogate(value: Any, where: str = "") -> str | None:
    """Where (a field path such as ``title`` or ``items[2].text``) the first lone surrogate is, or None."""
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        return None if match is None else f"{where or 'the text'} (U+{ord(match.group()):04X} at {match.start()})"
    if isinstance(value, dict):
        for key, item in value.items():
            found = first_lone_surrogate(str(key), f"{where}.{key!r}" if where else "a field name")
            found = found or first_lone_surrogate(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = first_lone_surrogate(item, f"{where}[{index}]")
            if found:
                return found
    return None


def lone_surrogate_reason(value: Any) -> str | None:
    """The one-line reason to refuse ``value``, or None when it can be written as UTF-8."""
    found = first_lone_surrogate(value)
    if found is None:
        return None
    return (f"a lone surrogate in {found}: half of a UTF-16 pair (an escape such as \\ud800), "
            "not a character; send valid Unicode text")


def escape_text(text: str) -> str:
    """``text`` with every lone surrogate written as its escape (``\\ud800`` as six characters)."""
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def escape_surrogates(value: Any) -> Any:
    """``value`` (a JSON value) with every lone surrogate in its strings escaped (``escape_text``), and any
    integer too long for Python to write as digits (over 4,300) described instead: what a dead letter
    keeps must be writable whatever the message held."""
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_WRITABLE_BITS:
        return f"<an integer of about {value.bit_length() * 0.30103:.0f} digits>"
    if isinstance(value, dict):
        return {escape_surrogates(key): escape_surrogates(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [escape_surrogates(item) for item in value]
    return value
