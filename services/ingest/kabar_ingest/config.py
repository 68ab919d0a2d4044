"""Helpers over the fetching, feed, push and correction settings (fields in ``KabarSettings``)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from kabar.contract.settings import KabarSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class IngestTuning(KabarSettings):
    """The contract's settings, with the ingest service's helpers for reading them."""

    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        networks: list[IPNetwork] = []
        for item in self._allow_items():
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue
        return tuple(networks)

    def allowed_host_names(self) -> frozenset[str]:
        names = set()
        for item in self._allow_items():
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                names.add(item.lower().rstrip("."))
        return frozenset(names)

    def _allow_items(self) -> list[str]:
        return [item.strip() for item in self.fetch_allow_hosts.split(",") if item.strip()]


@lru_cache(maxsize=1)
def get_tuning() -> IngestTuning:
    return IngestTuning()
