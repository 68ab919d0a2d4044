"""Stable article ids: the hash of the canonical URL, else of the normalised text.

The same story fetched twice through different links must get the same id, so the URL
is canonicalised first:

- lower-case scheme and host, ``www.`` dropped, default ports, fragments dropped;
- tracking parameters dropped (``utm_*``, ``fbclid``, ``amp`` …), the rest sorted;
- AMP and mobile variants mapped to the article: ``amp.``, ``m.`` and ``mobile.`` hosts,
  ``/amp`` path segments anywhere in the path (``/amp/news/x``, ``/news/x/amp``), a
  ``.amp`` or ``.amp.html`` ending, ``?amp=1`` / ``?outputType=amp``, and Google's AMP
  cache (``https://example-com.cdn.ampproject.org/c/s/example.com/x``);
- a page's ``<link rel="canonical">`` is honoured when it names the same registrable
  domain (``choose_canonical``): a syndicated copy keeps its own id, and a page that names
  its site's home page as canonical (a common CMS mistake) is not merged into it.

``article_identity`` is the one function that turns (URL, cleaned title, cleaned text)
into the id: the ingest stage and the push API both call it, so they cannot drift.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan

from kabar_ingest.urlnorm import normal_escapes, url_host

_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_ga|ref|ref_src|cmpid|share|amp|"
    r"outputtype|amp_js_v|usqp|_gsa)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MOBILE_HOST = re.compile(r"^(?:amp|m|mobile)\.(?=[^.]+\.[^.]+)")  # only with a domain left behind
_AMP_CACHE_HOST = re.compile(r"\.cdn\.ampproject\.org$")
_AMP_CACHE_PATH = re.compile(r"^/(?:[a-z]/)*?(?:(s)/)?([^/]+\.[^/]+)(/.*)?$")  # /c/s/host/path, /v/s/host/path
_AMP_SEGMENT = re.compile(r"^amp$", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"(?:\.amp(?=\.html?$)|\.amp$)", re.IGNORECASE)


class InvalidUrl(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ArticleIdentity:
    id: str
    url: str | None  # the canonical URL, when the article has one
    content_hash: str


def canonical_url(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidUrl(f"only http(s) URLs are accepted, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise InvalidUrl("URL has no host")
    if parts.username or parts.password:
        raise InvalidUrl("URL carries credentials; remove them")
    try:
        port_number = parts.port
    except ValueError as exc:
        raise InvalidUrl(f"URL has an invalid port: {exc}") from None
    host = url_host(parts.hostname)
    path = normal_escapes(parts.path or "/")
    if _AMP_CACHE_HOST.search(host):
        unwrapped = _unwrap_amp_cache(path, parts.query)
        if unwrapped is not None:
            return canonical_url(unwrapped)
    host = _MOBILE_HOST.sub("", host.removeprefix("www.")).removeprefix("www.")
    port = f":{port_number}" if port_number and port_number != _DEFAULT_PORTS[scheme] else ""
    query = urlencode(sorted((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING_PARAMS.match(key)))
    path = _without_amp(re.sub(r"/{2,}", "/", path))
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, host + port, path, query, ""))


def _without_amp(path: str) -> str:
    segments = [segment for segment in path.split("/") if not _AMP_SEGMENT.match(segment)]
    if segments and segments[-1]:
        segments[-1] = _AMP_SUFFIX.sub("", segments[-1])
    joined = "/".join(segments)
    return joined if joined.startswith("/") else "/" + joined


def _unwrap_amp_cache(path: str, query: str) -> str | None:
    """``/c/s/example.com/news/x`` on an AMP cache host is ``https://example.com/news/x``."""
    match = _AMP_CACHE_PATH.match(path)
    if match is None:
        return None
    scheme = "https" if match.group(1) else "http"
    host: str = match.group(2)
    rest: str = match.group(3) or "/"
    return urlunsplit((scheme, host, rest, query, ""))


def registrable_domain(url: str) -> str:
    """``news.example.co.uk`` → ``example.co.uk``; an IP address or a single-label host is itself."""
    host = (urlsplit(url).hostname or "").lower()
    domain = courlan.extract_domain(url)
    return str(domain) if domain else host


def choose_canonical(page_url: str | None, declared: str | None) -> str | None:
    """The URL to identify a fetched page by: its declared canonical link when that one can be trusted.

    Trusted: an absolute (or relative, resolved against the page) http(s) URL on the same registrable
    domain as the page, and not the site's home page unless the page is the home page itself.
    """
    if not declared:
        return page_url
    if page_url is None:
        return declared if urlsplit(declared).scheme in _DEFAULT_PORTS else None
    target = urljoin(page_url, declared.strip())
    if urlsplit(target).scheme not in _DEFAULT_PORTS:
        return page_url
    if registrable_domain(target) != registrable_domain(page_url):
        return page_url
    if urlsplit(target).path.strip("/") == "" and urlsplit(page_url).path.strip("/") != "":
        return page_url
    return target


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


def article_identity(url: str | None, title: str, text: str) -> ArticleIdentity:
    """Id, canonical URL and content hash of a cleaned article; ``InvalidUrl`` for a URL that cannot be used."""
    canonical = canonical_url(url) if url else None
    text_hash = content_hash(title, text)
    return ArticleIdentity(article_id(canonical, text_hash), canonical, text_hash)
