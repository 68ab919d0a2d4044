"""Webhook URLs: what a watchlist may point at, and the one POST that delivers an alert.

A webhook must be an ``http`` or ``https`` URL with a host and no credentials. It may only
reach public addresses, or addresses inside ``KABAR_WEBHOOK_ALLOWED_NETWORKS`` (default: none,
not even loopback, where Redis and other local services listen): whoever can create a watchlist
can make the alerts worker send requests, and link-local (cloud metadata), private and other
internal addresses are not theirs to reach. An address that embeds another (IPv4-mapped, 6to4,
NAT64, Teredo) is judged by that one (``kabar.contract.addresses``, shared with the fetcher).

The address is checked twice: at creation when the host is an IP literal, and at every
delivery after resolving the name. The connection then goes to the very address that was
checked (the name is not resolved again), so a name that changes its answer between the
check and the connection cannot steer the request inside. Redirects are not followed.
Proxies from the environment are not used.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from kabar.contract import addresses
from kabar.contract.settings import Network

MAX_WEBHOOK_CHARS: Final = 2048
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ANSWER_BYTES: Final = 2048  # of a refusal's body, for the dead letter's reason
USER_AGENT: Final = "kabar-watchlists/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidWebhook(ValueError):
    """The URL cannot be a webhook; the message says why."""


class WebhookRefused(Exception):
    """Delivery can never succeed as things are (address not allowed, a 4xx, a redirect): no retry."""


class DeliveryFailed(Exception):
    """A failure that may pass (timeout, connection refused, 5xx, 429): retried."""


def check_webhook_url(url: str, allowed: Sequence[Network]) -> str:
    """``url`` if it may be a webhook, else ``InvalidWebhook`` with the reason."""
    if not url.strip():
        raise InvalidWebhook("the webhook URL is empty")
    if len(url) > MAX_WEBHOOK_CHARS:
        raise InvalidWebhook(f"the webhook URL is {len(url)} characters; the limit is {MAX_WEBHOOK_CHARS}")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise InvalidWebhook("the webhook URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhook(f"the webhook URL does not parse: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise InvalidWebhook(f"the webhook must be an http:// or https:// URL, not {shown}")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhook("the webhook URL must not carry credentials (user:password@); "
                             "put a token in its path or query instead")
    host = parts.hostname
    if not host:
        raise InvalidWebhook("the webhook URL has no host")
    if port == 0:
        raise InvalidWebhook("the webhook URL has port 0")
    address = ip_literal(host)
    if address is not None:
        refusal = address_refusal(address, allowed)
        if refusal:
            raise InvalidWebhook(refusal)
    elif not valid_hostname(host):
        raise InvalidWebhook(f"the webhook host {host[:100]!r} is not a valid host name")
    return url


def ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def valid_hostname(host: str) -> bool:
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return False
    if not ascii_host or len(ascii_host) > 253:
        return False
    labels = ascii_host.split(".")
    # A last label of digits only would be an IP address in another notation (0x7f.1, 2130706433).
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def address_refusal(address: Address, allowed: Sequence[Network]) -> str | None:
    """Why a webhook may not go to ``address`` (judging any address it embeds); None when it may."""
    reason = addresses.refusal(address, allowed)
    if reason is None:
        return None
    return (f"the webhook address {address} is {reason}; webhooks may only go to public addresses "
            "or to networks listed in KABAR_WEBHOOK_ALLOWED_NETWORKS")


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float, allowed: Sequence[Network]) -> int:
    """POST ``body`` to ``url``; the status on a 2xx answer.

    Raises ``WebhookRefused`` (do not retry) or ``DeliveryFailed`` (retry). ``timeout`` bounds the
    connection and each read of the answer.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    address = _resolve(host, port, allowed)
    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(host, port, address, timeout) if https else _PinnedHTTPConnection(host, port, address,
                                                                                                  timeout))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        status = response.status
        answer = response.read(_ANSWER_BYTES).decode("utf-8", "replace").strip()
    except TimeoutError:
        raise DeliveryFailed(f"the webhook did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"could not reach the webhook: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    return _judge(status, answer)


def _judge(status: int, answer: str) -> int:
    said = f": {answer[:300]}" if answer else ""
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise WebhookRefused(f"the webhook answered {status}, a redirect; redirects are not followed, "
                             "so give the watchlist the final URL")
    if status in (408, 425, 429) or status >= 500:
        raise DeliveryFailed(f"the webhook answered {status}{said}")
    raise WebhookRefused(f"the webhook refused the alert with {status}{said}")


def _resolve(host: str, port: int, allowed: Sequence[Network]) -> str:
    """The address to connect to: every address the name has must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:  # may be a passing DNS failure: retried
        raise DeliveryFailed(f"cannot resolve the webhook host {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        refusal = address_refusal(ipaddress.ip_address(text.split("%", 1)[0]), allowed)
        if refusal:
            raise WebhookRefused(f"{host} resolves to {text}: {refusal}")
    if not addresses:
        raise DeliveryFailed(f"the webhook host {host!r} has no address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, sends the host name in ``Host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the host name (SNI included)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
