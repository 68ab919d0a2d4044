"""The ingest service's readings of its settings (fields of ``KabarSettings``): which hosts the
SSRF guard lets through although they resolve to private addresses (``KABAR_FETCH_ALLOW_HOSTS``)."""

from __future__ import annotations

import ipaddress

from kabar.contract.settings import KabarSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(settings: KabarSettings) -> tuple[IPNetwork, ...]:
    """The addresses and networks in ``KABAR_FETCH_ALLOW_HOSTS``."""
    networks: list[IPNetwork] = []
    for item in _allow_items(settings):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def allowed_host_names(settings: KabarSettings) -> frozenset[str]:
    """The host names in ``KABAR_FETCH_ALLOW_HOSTS`` (lower case, without a trailing dot)."""
    names = set()
    for item in _allow_items(settings):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            names.add(item.lower().rstrip("."))
    return frozenset(names)


def _allow_items(settings: KabarSettings) -> list[str]:
    return [item.strip() for item in settings.fetch_allow_hosts.split(",") if item.strip()]
