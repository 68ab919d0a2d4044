"""Whether an IP address is public: the one judgement behind the fetcher's SSRF guard and the
webhook guard.

An IPv6 address can carry an IPv4 address inside it, and reaching it may reach that one:
IPv4-mapped (``::ffff:127.0.0.1``), IPv4-compatible (``::127.0.0.1``, deprecated), 6to4
(``2002:7f00:1::``), NAT64 (``64:ff9b::7f00:1`` and the local-use ``64:ff9b:1::/48``) and Teredo
(``2001:0::/32``: its server and its client). Such an address is judged by the addresses it
embeds: it is public only if all of them are (a NAT64 address of 8.8.8.8 is public, of 127.0.0.1
is not). An IPv4-compatible address is judged by itself as well: nothing routes that old form.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64: Final = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")


def embedded_addresses(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo); none for IPv4."""
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    carried = address.ipv4_mapped or address.sixtofour
    if carried is not None:
        return (carried,)
    if address.teredo is not None:
        return address.teredo
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in _NAT64):
        return (low32,)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: (unspecified) nor ::1 (loopback)
        return (low32,)
    return ()


def non_public_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private", …) by itself, or None if public."""
    checks = (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("private", address.is_private), ("reserved", address.is_reserved))
    for name, hit in checks:
        if hit:
            return name
    return None if address.is_global else "non-public"


def refusal(address: IPAddress, allowed: Sequence[Network] = ()) -> str | None:
    """Why ``address`` is not public (judging what it embeds too), or None when it is public or allowed.

    ``allowed`` networks are exceptions: the address itself, or each non-public address it embeds,
    may be in one.
    """
    if _in_any(address, allowed):
        return None
    embedded = embedded_addresses(address)
    judged = (*embedded, address) if not embedded or address in _IPV4_COMPATIBLE else embedded
    for candidate in judged:
        kind = non_public_kind(candidate)
        if kind is None or _in_any(candidate, allowed):
            continue
        what = "not a public address" if kind == "non-public" else f"{_article(kind)} {kind} address"
        if candidate is address:
            return what
        return f"an address that embeds {candidate}, {what}"
    return None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _in_any(address: IPAddress, networks: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)
