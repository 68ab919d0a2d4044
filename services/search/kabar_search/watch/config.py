"""Watchlist settings, from ``KABAR_`` environment variables (kept here until they join ``KabarSettings``).

- ``KABAR_ALERT_TIMEOUT``: seconds the alerts worker waits for a webhook to connect and for
  each read of its answer (default 5).
- ``KABAR_ALERT_INLINE_TIMEOUT``: the same for the one inline attempt of the embedded mode
  (default 3): ``kabar ingest`` waits at most about this long per new alert.
- ``KABAR_ALERT_MAX_RETRIES``, ``KABAR_ALERT_RETRY_BACKOFF_BASE``, ``KABAR_ALERT_RETRY_BACKOFF_MAX``:
  retry n waits between half and all of ``min(max, base * 2**(n-1))`` seconds. The defaults
  (10, 2, 600) keep retrying for roughly 14 to 27 minutes before the alert is dead-lettered.
- ``KABAR_WEBHOOK_ALLOWED_NETWORKS``: comma-separated networks a webhook may resolve to besides
  public addresses (default loopback: ``127.0.0.0/8,::1/128``). Add your receiver's private
  network (``10.0.0.0/8``, the compose network …) to alert inside it.
- ``KABAR_MAX_WATCHLISTS``: at most this many watchlists (default 1000): every indexed article
  is matched against all of them.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property, lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1/128"`` → networks; a bare address is a one-address network."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())


class WatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KABAR_", extra="ignore")

    alert_timeout: float = Field(default=5.0, gt=0, le=120)
    alert_inline_timeout: float = Field(default=3.0, gt=0, le=120)
    alert_max_retries: int = Field(default=10, ge=0, le=100)
    alert_retry_backoff_base: float = Field(default=2.0, gt=0)
    # Below the broker's visibility timeout (1 hour): a retry waits unacknowledged in the worker.
    alert_retry_backoff_max: float = Field(default=600.0, gt=0, le=3000)
    webhook_allowed_networks: str = "127.0.0.0/8,::1/128"
    max_watchlists: int = Field(default=1000, ge=1)

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"KABAR_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
        return value

    @cached_property
    def allowed_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.webhook_allowed_networks)


@lru_cache(maxsize=1)
def get_watch_settings() -> WatchSettings:
    return WatchSettings()
