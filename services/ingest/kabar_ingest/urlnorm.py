"""One spelling per host and per path (RFC 3986 §6.2.2): what feed keys, article ids and the per-host
politeness of the fetcher compare.

- hosts: lower case, no trailing dot, IDNA (``bücher.example`` is ``xn--bcher-kva.example``, by the
  ``idna`` package's UTS #46 mapping), IPv4 in any notation the resolver accepts (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``) as its dotted quad, IPv6 compressed, and ``localhost`` as ``127.0.0.1``;
- paths and queries: percent-escapes of unreserved characters decoded (``%7Ebob`` is ``~bob``), the
  others in upper case (``%e2%82%ac`` is ``%E2%82%AC``); reserved characters stay escaped.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Final

import idna

_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_NUMERIC_HOST: Final = re.compile(r"[0-9a-fA-FxX.]+")
LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


def normal_host(host: str) -> str:
    """The one spelling of ``host`` (a name, an IPv4 address in any notation, or an IPv6 address)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(name) and any(char.isdigit() for char in name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))  # 2130706433, 0x7f.1, 0177.0.0.1
        except OSError:
            pass
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return name


def normal_escapes(text: str) -> str:
    """``text`` (a path or query) with unreserved characters unescaped and other escapes in upper case."""
    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _ESCAPE.sub(one, text)


def url_host(host: str) -> str:
    """``normal_host`` as it is written in a URL (an IPv6 address in brackets)."""
    normal = normal_host(host)
    return f"[{normal}]" if ":" in normal else normal
