"""A search request beyond its words: filters, sort, collapse, facets and the page cursor.

The ``search_after`` token is opaque to clients: base64url of a small JSON object
``{"v": 1, "f": <request fingerprint>, "k": <sort key>, "i": <article id>}``. The sort key
is the last hit's relevance score (a float) or its date (epoch milliseconds), and the id
breaks ties, so pages never overlap or skip within one index state. The fingerprint is
a hash of everything that decides the order of hits (words, filters, sort, collapse): a
token from another query is refused with a clear error instead of silently paging
through a different result list. Every decoded value is type- and range-checked, so a
crafted token can never make a backend reject the query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from kabar_search.models import Interval
from kabar_search.query import QueryError, SimpleQuery

SortOrder = Literal["relevance", "date"]

MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 256
MAX_TOKEN_CHARS = 1024
MAX_ID_BYTES = 512  # Elasticsearch's limit for a document id
# Epoch milliseconds of years 1 and 9999: any date the API can parse lies in between.
_MIN_MILLIS = -62_135_596_800_000
_MAX_MILLIS = 253_402_300_799_999
_DAY_MILLIS = 86_400_000
_MAX_SCORE = 1e30  # far above any relevance score, far below where a float32 overflows
_TOKEN_VERSION = 1


class PageTokenError(QueryError):
    """The search_after token is malformed or belongs to another query."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Values within one filter are ORed; different filters are ANDed. Entities are ANDed
    (an article must mention every entity asked for). Dates are epoch milliseconds, the
    range half-open: ``since_ms <= dated_at < until_ms``."""

    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    entity_ids: tuple[str, ...] = ()
    story_ids: tuple[str, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page ended: the sort key and id of its last hit."""

    key: float
    id: str


@dataclass(frozen=True, slots=True)
class SearchOptions:
    filters: Filters = field(default_factory=Filters)
    sort: SortOrder = "relevance"
    collapse: bool = False
    facets: bool = False
    interval: Interval = "month"
    after: Cursor | None = None


def epoch_millis(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def check_filter_values(name: str, values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_FILTER_VALUES:
        raise QueryError(f"{name}: at most {MAX_FILTER_VALUES} values, got {len(values)}")
    for value in values:
        if not value.strip() or len(value) > MAX_FILTER_CHARS:
            raise QueryError(f"{name}: each value must have 1 to {MAX_FILTER_CHARS} characters")
    return tuple(dict.fromkeys(values))


def parse_date_bound(name: str, raw: str | None, *, end: bool) -> int | None:
    """``YYYY-MM-DD`` or an ISO 8601 date-time, both ends inclusive; a bare end date includes its whole day."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = epoch_millis(datetime(day.year, day.month, day.day, tzinfo=UTC))
            return start + _DAY_MILLIS if end else start
        moment = epoch_millis(datetime.fromisoformat(text.replace("Z", "+00:00")))
        return moment + 1 if end else moment  # the end is inclusive; the range is kept half-open
    except (ValueError, OverflowError):
        raise QueryError(f"{name}: {raw[:40]!r} is not a date; use YYYY-MM-DD or an ISO 8601 date-time") from None


def check_date_range(since_ms: int | None, until_ms: int | None) -> None:
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise QueryError("from: the start of the date range must come before its end")


def fingerprint(query: SimpleQuery, options: SearchOptions) -> str:
    """A short hash of everything that decides which hits come in which order."""
    canonical = json.dumps({
        "terms": query.terms, "phrases": query.phrases, "excluded": query.excluded,
        "filters": [options.filters.languages, options.filters.sources, sorted(options.filters.entities),
                    options.filters.story_ids, options.filters.since_ms, options.filters.until_ms,
                    # only when used, so that page tokens from before the entity_id filter stay valid
                    *([sorted(options.filters.entity_ids)] if options.filters.entity_ids else [])],
        "sort": options.sort, "collapse": options.collapse,
    }, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_token(query: SimpleQuery, options: SearchOptions, cursor: Cursor) -> str:
    body = {"v": _TOKEN_VERSION, "f": fingerprint(query, options), "k": cursor.key, "i": cursor.id}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, query: SimpleQuery, options: SearchOptions) -> Cursor:
    """The cursor in ``token``, checked against the query it is used with."""
    body = _token_body(token)
    if body.get("v") != _TOKEN_VERSION or body.get("f") != fingerprint(query, options):
        raise PageTokenError("search_after: this token belongs to a different query, filters or sort; "
                             "start again without search_after")
    return Cursor(key=_checked_key(body.get("k"), options.sort), id=_checked_id(body.get("i")))


def _token_body(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_CHARS:
        raise PageTokenError("search_after: the token is too long to be one this API issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise PageTokenError("search_after: not a token this API issued") from None
    if not isinstance(body, dict):
        raise PageTokenError("search_after: not a token this API issued")
    return body


def _checked_key(key: object, sort: SortOrder) -> float:
    if isinstance(key, bool) or not isinstance(key, int | float) or not math.isfinite(key):
        raise PageTokenError("search_after: the token's sort key is not a number")
    if sort == "date" and (not isinstance(key, int) or not _MIN_MILLIS <= key <= _MAX_MILLIS):
        raise PageTokenError("search_after: the token's date is out of range")
    if abs(key) > _MAX_SCORE:
        raise PageTokenError("search_after: the token's score is out of range")
    return key


def _checked_id(article_id: object) -> str:
    if not isinstance(article_id, str) or not article_id or len(article_id.encode()) > MAX_ID_BYTES:
        raise PageTokenError("search_after: the token's article id is invalid")
    return article_id
