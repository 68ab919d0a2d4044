"""The simple query syntax users type, parsed before any backend sees it.

Words are ANDed, ``"quoted phrases"`` match as phrases, ``-word`` excludes. Anything
else (operators, brackets, field syntax) is treated as plain words, so no user input
ever reaches a backend as raw query syntax. A query that is visibly unfinished (an odd
number of quotes, brackets that do not pair up) is refused with a message saying so,
rather than searched as something the user did not mean.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)
_PIECE = re.compile(r'(-?)"([^"]*)"|(-?)([^\s"]+)')
_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = frozenset(_OPENING.values())


class QueryError(ValueError):
    """The query cannot be searched; the message tells the user why."""


@dataclass(frozen=True, slots=True)
class SimpleQuery:
    terms: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]

    @property
    def positive_words(self) -> tuple[str, ...]:
        return self.terms + tuple(word for phrase in self.phrases for word in phrase)


def words_of(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def check_balanced(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError('the query has an unbalanced quote: close the "phrase" or remove the quote')
    depth: list[str] = []
    for char in text:
        if char in _OPENING:
            depth.append(_OPENING[char])
        elif char in _CLOSING and (not depth or depth.pop() != char):
            raise QueryError(f"the query has an unbalanced {char!r}; brackets are not query syntax, remove them")
    if depth:
        raise QueryError(f"the query has an unclosed bracket (expected {depth[-1]!r}); remove it")


def parse_query(raw: str) -> SimpleQuery:
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(raw)} characters; the limit is {MAX_QUERY_CHARS}")
    text = raw.strip()
    check_balanced(text)
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    for match in _PIECE.finditer(text):
        negated = bool(match.group(1) or match.group(3))
        found = words_of(match.group(2) if match.group(2) is not None else match.group(4))
        if negated:
            excluded.extend(found)
        elif match.group(2) is not None and len(found) > 1:
            phrases.append(tuple(found))
        else:
            terms.extend(found)
    query = SimpleQuery(tuple(dict.fromkeys(terms)), tuple(phrases), tuple(dict.fromkeys(excluded)))
    if not query.positive_words:
        raise QueryError("the query has no words to search for")
    if len(query.positive_words) + len(query.excluded) > MAX_TERMS:
        raise QueryError(f"the query has more than {MAX_TERMS} words")
    return query
