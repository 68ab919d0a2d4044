"""Fetching feeds and pages over HTTP, safely and politely.

Safety (SSRF): only ``http``/``https`` URLs without credentials are fetched, and every
connection, redirects included, goes through ``GuardedBackend``: it resolves the host
itself and connects only to the addresses it has checked, so a name that resolves to a
public address when checked and to ``127.0.0.1`` when connected (DNS rebinding) gets
nowhere. Loopback, private, link-local, shared, multicast and reserved addresses are
refused unless ``KABAR_FETCH_ALLOW_HOSTS`` names the host or its network. Proxies from the
environment are not used (they would connect on our behalf, unchecked).

Bounds: a connect timeout, one deadline for the whole response (a server that sends one
byte a second is cut off like one that sends nothing), a byte limit counted on the
decoded body (a gzip bomb stops at the limit), at most ``KABAR_FETCH_MAX_REDIRECTS``
redirects and none that loops.

Politeness: robots.txt is read once per host and ``KABAR_ROBOTS_CACHE_SECONDS`` and
obeyed for our user agent (a 4xx robots.txt allows everything, an unreachable one
nothing, as RFC 9309 says); requests to one host are spaced by ``KABAR_FETCH_HOST_INTERVAL``
or the site's ``Crawl-delay``, across processes when the throttle lives in Redis.

Every failure is a ``FetchError`` with a one-line reason and whether trying again later
could help (``permanent``).
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
import threading
import time
import urllib.robotparser
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx
import redis

from kabar.contract.addresses import refusal
from kabar.contract.settings import KabarSettings
from kabar_ingest.config import IPNetwork, allowed_host_names, allowed_networks
from kabar_ingest.urlnorm import url_host

log = logging.getLogger(__name__)

FetchErrorKind = Literal["bad_url", "blocked", "robots", "too_large", "timeout", "redirects", "http", "network",
                         "content_type", "throttled", "decoding"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_PERMANENT_STATUSES: Final = frozenset({400, 401, 402, 403, 404, 405, 406, 410, 411, 414, 415, 451})


class FetchError(Exception):
    """A URL that could not be fetched: ``kind`` says what went wrong, ``permanent`` whether to try again."""

    def __init__(self, message: str, *, kind: FetchErrorKind, permanent: bool,
                 retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status


class BlockedAddress(Exception):
    """A connection the SSRF guard refused (raised inside the transport, turned into a ``FetchError``)."""


def check_url(url: str) -> str:
    """Refuse what is never fetched: other schemes, no host, credentials, a bad port. Returns the URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", kind="bad_url", permanent=True) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}: {url}",
                         kind="bad_url", permanent=True)
    if not parts.hostname:
        raise FetchError(f"URL has no host: {url}", kind="bad_url", permanent=True)
    if parts.username is not None or parts.password is not None:
        raise FetchError("URL carries credentials; remove them", kind="bad_url", permanent=True)
    if port == 0:
        raise FetchError(f"URL has port 0: {url}", kind="bad_url", permanent=True)
    return url


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address is not fetched from by default (judging any address it embeds), or None if public."""
    return refusal(address)


def media_type(content_type: str) -> tuple[str, str | None]:
    """A ``Content-Type`` header's media type (lower case) and charset, if it names one."""
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ")
    return media.strip().lower(), charset


class AddressPolicy:
    """Which addresses may be connected to: public ones, and those ``KABAR_FETCH_ALLOW_HOSTS`` names."""

    def __init__(self, networks: Iterable[IPNetwork] = (), host_names: Iterable[str] = ()) -> None:
        self.networks = tuple(networks)
        self.host_names = frozenset(name.lower().rstrip(".") for name in host_names)

    @classmethod
    def from_settings(cls, settings: KabarSettings) -> AddressPolicy:
        return cls(allowed_networks(settings), allowed_host_names(settings))

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` that may be connected to; ``BlockedAddress`` when there is none."""
        name = host.lower().rstrip(".").strip("[]")
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host!r}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if name in self.host_names:
            return addresses
        allowed: list[str] = []
        refused: list[str] = []
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            reason = refusal(address, self.networks)
            if reason is None:
                allowed.append(text)
            else:
                refused.append(f"{text} ({reason})")
        if not allowed:
            raise BlockedAddress(f"{host} resolves to {', '.join(refused)}; blocked (add the host or its "
                                 "network to KABAR_FETCH_ALLOW_HOSTS to allow it)")
        return allowed

    def check_host(self, url: str) -> None:
        """Resolve a URL's host now and refuse it as the fetcher would (``FetchError``)."""
        parts = urlsplit(check_url(url))
        try:
            self.resolve(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except BlockedAddress as exc:
            raise FetchError(str(exc), kind="blocked", permanent=True) from None
        except httpcore.ConnectError as exc:
            raise FetchError(str(exc), kind="network", permanent=False) from None


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only to addresses the ``AddressPolicy`` allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address in self._policy.resolve(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # resolve() returns at least one address
        raise last_error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are never fetched from")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend and no proxy."""

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=20, max_keepalive_connections=10,
            keepalive_expiry=5.0, network_backend=GuardedBackend(policy),
        )


# Politeness ----------------------------------------------------------------------------------------------


class HostThrottle(Protocol):
    """Turns to request a host: a request starts at least ``interval`` after the previous one started
    and after it ended, so a slow answer does not let the next request crowd the server."""

    def reserve(self, host: str, interval: float) -> float:
        """Book the next turn to request ``host``; returns the seconds to wait for it."""

    def finished(self, host: str, interval: float) -> None:
        """A request to ``host`` ended now: the next turn is at least ``interval`` from now."""


class LocalThrottle:
    """Turns per host within this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, host: str, interval: float) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(host, 0.0))
            self._next[host] = slot + interval
            return slot - now

    def finished(self, host: str, interval: float) -> None:
        with self._lock:
            self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + interval)


_RESERVE_SCRIPT: Final = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', math.ceil((slot + interval - now) * 1000) + 1000)
return tostring(slot - now)
"""

_FINISHED_SCRIPT: Final = """
local earliest = tonumber(ARGV[1]) + tonumber(ARGV[2])
local booked = tonumber(redis.call('GET', KEYS[1]) or '0')
if earliest > booked then
  redis.call('SET', KEYS[1], tostring(earliest), 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
end
return 0
"""


class RedisThrottle:
    """Turns per host shared by every worker process (one Redis key per host, expiring when idle)."""

    def __init__(self, client: redis.Redis[bytes], key_prefix: str) -> None:
        self._prefix = f"{key_prefix}:fetch:next:"
        self._reserve = client.register_script(_RESERVE_SCRIPT)
        self._finished = client.register_script(_FINISHED_SCRIPT)

    def reserve(self, host: str, interval: float) -> float:
        waited = self._reserve(keys=[self._prefix + host], args=[repr(time.time()), repr(interval)])
        return float(waited)

    def finished(self, host: str, interval: float) -> None:
        self._finished(keys=[self._prefix + host], args=[repr(time.time()), repr(interval)])


@dataclass(frozen=True, slots=True)
class _Robots:
    parser: urllib.robotparser.RobotFileParser | None  # None: everything allowed
    expires: float
    error: str | None = None  # robots.txt unreachable: nothing allowed until it expires

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None


# Fetching ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchedResponse:
    url: str  # after redirects
    status: int
    body: bytes
    content_type: str  # media type, lower-case, without parameters
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


class Fetcher:
    """One HTTP client with the SSRF guard, robots.txt, host turns and bounds. Thread-safe."""

    def __init__(self, settings: KabarSettings, throttle: HostThrottle | None = None,
                 policy: AddressPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or AddressPolicy.from_settings(settings)
        self.throttle = throttle or LocalThrottle()
        self.agent = settings.fetch_user_agent
        self._robots_agent = self.agent.split("/", 1)[0].split()[0] if self.agent.strip() else "*"
        self._robots: dict[str, _Robots] = {}
        self._robots_lock = threading.Lock()
        self._client = httpx.Client(transport=GuardedTransport(self.policy), follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": self.agent})

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, max_bytes: int, accept: str = "*/*", etag: str | None = None,
            last_modified: str | None = None, robots: bool = True) -> FetchedResponse:
        """GET ``url`` following redirects; a 304 comes back as a response with ``not_modified``."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        visited = [url]
        current = url
        while True:
            check_url(current)
            if robots and self.settings.fetch_respect_robots:
                self._obey_robots(current)
            with self._turn(current):
                outcome = self._request(current, headers, max_bytes)
            if isinstance(outcome, FetchedResponse):
                return outcome
            target = urljoin(current, outcome.location)
            if target in visited:
                raise FetchError(f"redirect loop: {' -> '.join([*visited[visited.index(target):], target])}",
                                 kind="redirects", permanent=True)
            if len(visited) > self.settings.fetch_max_redirects:
                raise FetchError(f"more than {self.settings.fetch_max_redirects} redirects from {url}",
                                 kind="redirects", permanent=True)
            visited.append(target)
            current = target

    def _request(self, url: str, headers: dict[str, str], max_bytes: int,
                 truncate: bool = False) -> FetchedResponse | _Redirect:
        limit = self.settings.fetch_timeout
        deadline = time.monotonic() + limit
        timeout = httpx.Timeout(limit, connect=min(self.settings.fetch_connect_timeout, limit))
        try:
            with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
                if response.is_redirect and "location" in response.headers:
                    return _Redirect(response.headers["location"])
                if response.status_code == 304:
                    return self._response(url, response, b"")
                if response.status_code >= 400 or response.status_code < 200:
                    raise _status_error(url, response)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes and not truncate:
                    raise _too_large(url, int(declared), max_bytes)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        if truncate:
                            del body[max_bytes:]
                            break
                        raise _too_large(url, None, max_bytes)
                    if time.monotonic() > deadline:
                        raise FetchError(f"{url}: the response took longer than {limit:g} s (slow server)",
                                         kind="timeout", permanent=False)
                return self._response(url, response, bytes(body))
        except BlockedAddress as exc:
            raise FetchError(str(exc), kind="blocked", permanent=True) from None
        except httpx.TimeoutException as exc:
            what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for the response"
            raise FetchError(f"{url}: timed out {what} (limit {limit:g} s)", kind="timeout",
                             permanent=False) from None
        except httpx.DecodingError as exc:
            raise FetchError(f"{url}: the response's encoding is broken: {exc}", kind="decoding",
                             permanent=True) from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            permanent = isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL)
            raise FetchError(f"{url}: {type(exc).__name__}: {exc or 'connection failed'}", kind="network",
                             permanent=permanent) from None

    @staticmethod
    def _response(url: str, response: httpx.Response, body: bytes) -> FetchedResponse:
        media, charset = media_type(response.headers.get("content-type", ""))
        return FetchedResponse(url=url, status=response.status_code, body=body, content_type=media,
                               charset=charset, etag=response.headers.get("etag"),
                               last_modified=response.headers.get("last-modified"))

    @contextmanager
    def _turn(self, url: str) -> Iterator[None]:
        """Wait for this host's turn, make the request, then book the next turn from when it ended."""
        host = _host_key(url)
        interval = self.settings.fetch_host_interval
        delay = self._robots_entry_delay(url)
        if delay is not None:
            interval = max(interval, min(delay, self.settings.fetch_max_crawl_delay))
        wait = self.throttle.reserve(host, interval)
        if wait > self.settings.fetch_max_wait:
            raise FetchError(f"{host} is busy: the next turn to request it is {wait:.0f} s away "
                             f"(over KABAR_FETCH_MAX_WAIT={self.settings.fetch_max_wait:g} s)",
                             kind="throttled", permanent=False, retry_after=wait)
        if wait > 0:
            time.sleep(wait)
        try:
            yield
        finally:
            if interval > 0:
                self.throttle.finished(host, interval)

    # robots.txt ------------------------------------------------------------------------------------------

    def robots_allows(self, url: str) -> bool:
        entry = self._robots_for(url)
        if entry.error is not None:
            return False
        return entry.parser is None or entry.parser.can_fetch(self._robots_agent, url)

    def _obey_robots(self, url: str) -> None:
        entry = self._robots_for(url)
        if entry.error is not None:
            raise FetchError(f"robots.txt of {_host_key(url)} cannot be read ({entry.error}); not fetching "
                             "until it can", kind="robots", permanent=False)
        if entry.parser is not None and not entry.parser.can_fetch(self._robots_agent, url):
            raise FetchError(f"robots.txt of {_host_key(url)} disallows {urlsplit(url).path or '/'} for "
                             f"user agent {self._robots_agent!r}", kind="robots", permanent=True)

    def _robots_entry_delay(self, url: str) -> float | None:
        if not self.settings.fetch_respect_robots:
            return None
        with self._robots_lock:
            entry = self._robots.get(_host_key(url))
        return entry.crawl_delay(self._robots_agent) if entry else None

    def _robots_for(self, url: str) -> _Robots:
        host = _host_key(url)
        with self._robots_lock:
            entry = self._robots.get(host)
        if entry is not None and entry.expires > time.monotonic():
            return entry
        entry = self._load_robots(url)
        with self._robots_lock:
            self._robots[host] = entry
        return entry

    def _load_robots(self, url: str) -> _Robots:
        parts = urlsplit(url)
        robots_url = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/robots.txt", "", ""))
        now = time.monotonic()
        keep = self.settings.robots_cache_seconds
        try:
            current = robots_url
            for _ in range(self.settings.fetch_max_redirects + 1):
                check_url(current)
                with self._turn(current):
                    outcome = self._request(current, {"Accept": "text/plain"}, self.settings.robots_max_bytes,
                                            truncate=True)
                if isinstance(outcome, FetchedResponse):
                    break
                current = urljoin(current, outcome.location)
            else:
                return _Robots(None, now + keep)  # too many redirects: RFC 9309 treats it as unavailable
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return _Robots(None, now + keep)  # "unavailable": everything is allowed
            if exc.kind == "blocked":
                raise
            if exc.kind == "network":  # the host itself cannot be reached (its name does not resolve, say): say so
                raise FetchError(f"{url}: {str(exc).removeprefix(robots_url + ': ')}", kind="network",
                                 permanent=False) from None
            return _Robots(None, now + min(keep, 60.0), error=str(exc))
        parser = urllib.robotparser.RobotFileParser(robots_url)
        parser.parse(outcome.body.decode("utf-8", "replace").splitlines())
        return _Robots(parser, now + keep)


def _host_key(url: str) -> str:
    """One key per host however it is spelled (``urlnorm``): its robots.txt and its pace are shared."""
    parts = urlsplit(url)
    host = url_host(parts.hostname or "")
    port = parts.port if parts.port not in (None, {"http": 80, "https": 443}.get(parts.scheme.lower())) else None
    return f"{host}:{port}" if port else host


def _too_large(url: str, size: int | None, limit: int) -> FetchError:
    said = f"{size / 1e6:.1f} MB" if size is not None else "more"
    return FetchError(f"{url}: the response is {said}, over the {limit / 1e6:.1f} MB limit", kind="too_large",
                      permanent=True)


def _status_error(url: str, response: httpx.Response) -> FetchError:
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    permanent = status in _PERMANENT_STATUSES
    return FetchError(f"{url}: HTTP {status} {response.reason_phrase}".rstrip(), kind="http", permanent=permanent,
                      retry_after=retry_after, status=status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
