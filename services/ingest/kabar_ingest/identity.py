"""Stable article ids: the hash of the canonical URL, else of the normalised text.

The same story fetched twice through different tracking links must get the same id,
so the URL is canonicalised first (lower-case scheme and host, default ports, fragments
and tracking parameters dropped, remaining parameters sorted).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_ga|ref|ref_src|cmpid|share|amp)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidUrl(ValueError):
    pass


def canonical_url(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidUrl(f"only http(s) URLs are accepted, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise InvalidUrl("URL has no host")
    if parts.username or parts.password:
        raise InvalidUrl("URL carries credentials; remove them")
    host = parts.hostname.lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port != _DEFAULT_PORTS[scheme] else ""
    query = urlencode(sorted((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING_PARAMS.match(key)))
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    return urlunsplit((scheme, host + port, path, query, ""))


def source_domain(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def normalised_text(text: str) -> str:
    """Case, Unicode form and whitespace do not make a different article."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(normalised_text(f"{title}\n{text}").encode()).hexdigest()


def article_id(canonical: str | None, text_hash: str) -> str:
    if canonical:
        return hashlib.sha256(canonical.encode()).hexdigest()
    return text_hash
