"""All configuration, from environment variables prefixed ``KABAR_``.

The defaults work on a laptop with nothing running: the *embedded* mode runs every
stage in-process and keeps its state and search index in SQLite under ``data_dir``.
The *services* mode sends work through Redis to Celery workers and indexes into
Elasticsearch (or OpenSearch: ``KABAR_SEARCH_BACKEND=opensearch``). Each backend can also be
chosen on its own.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Mode = Literal["embedded", "services"]
SearchBackendName = Literal["sqlite", "elasticsearch", "opensearch"]
EngineName = Literal["elasticsearch", "opensearch"]
StateBackendName = Literal["sqlite", "redis"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1/128"`` → networks; a bare address is a one-address network."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())


class KabarSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KABAR_", extra="ignore")

    mode: Mode = "embedded"
    data_dir: Path = Path("./data")

    # Backends: left unset they follow ``mode``.
    search_backend: SearchBackendName | None = None
    state_backend: StateBackendName | None = None

    # Left out of repr: a URL may carry a password.
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", repr=False)
    elasticsearch_url: str = Field(default="http://127.0.0.1:9200", repr=False)
    elasticsearch_api_key: str | None = Field(default=None, repr=False)
    # OpenSearch (KABAR_SEARCH_BACKEND=opensearch); credentials, if any, go in the URL (https://user:pass@host).
    opensearch_url: str = Field(default="http://127.0.0.1:9200", repr=False)
    index_alias: str = "kabar-articles"
    key_prefix: str = "kabar"

    # Ingest limits: a file larger than this is refused with a clear error.
    max_document_bytes: int = 10 * 1024 * 1024

    # Near-duplicates: MinHash over word shingles; a copy has estimated Jaccard >= threshold,
    # or the shorter text (a teaser) is at least ``containment`` inside the longer.
    minhash_permutations: int = 128
    near_duplicate_threshold: float = 0.5
    near_duplicate_containment: float = 0.6
    # Same story: an article joins the story it most probably reports on when that probability
    # (kabar_enrich.story_features.StoryModel: words, lead, names and numbers, days apart) is at
    # least this, and it was published within the window of the story's dates.
    story_join_probability: float = Field(0.5, gt=0.0, lt=1.0)
    story_window_days: float = Field(7.0, gt=0.0)

    # Celery: with acks_late, a prefetch of 1 keeps a crashed worker from taking
    # more than one unacknowledged message per process down with it.
    worker_concurrency: int = 2
    worker_prefetch_multiplier: int = 1
    task_max_retries: int = 5
    task_retry_backoff_max: int = 300
    # Retry n waits between half and all of min(task_retry_backoff_max, base * 2**(n-1)) s:
    # with the defaults, 5 retries span 62-124 s, so a search server or Redis restart is ridden out.
    task_retry_backoff_base: float = Field(4.0, gt=0)
    # Deliveries of one attempt at a message before it counts as poisonous (the worker died under it).
    task_max_deliveries: int = Field(5, ge=1)
    # Articles per queue message when a producer has many at once (a folder, a push batch, a feed
    # poll): one message, one acknowledgement and one in-flight record per batch instead of per
    # article. Each article still succeeds, fails and is dead-lettered on its own.
    batch_size: int = Field(20, ge=1, le=500)

    # ---- Reliability of the Redis transport (see kabar.contract.runner and kabar.contract.inflight) ----
    # A message a worker took and never acknowledged (the worker was killed, or Redis restarted
    # before the acknowledgement arrived) is delivered again after this many seconds. Must be
    # longer than any task and than any retry's countdown: those are held unacknowledged too.
    broker_visibility_timeout: int = 3600
    # How often each worker looks for such messages (seconds).
    broker_restore_interval: float = 10.0
    # How long a worker keeps trying to hand a message's outcome to Redis (forward, retry,
    # dead letter) before it gives the message back to the queue.
    handoff_timeout: float = Field(120.0, gt=0)
    # The in-flight ledger: a message not finished this long after it was sent, whose queue is
    # empty and which no worker holds, was lost in transit and is sent again.
    inflight_timeout: float = Field(120.0, gt=0)
    inflight_check_interval: float = Field(15.0, gt=0)
    # Liveness (kabar.contract.liveness): each worker renews a key with this TTL every interval and
    # records the deliveries it holds; what a worker whose key expired held goes back to its queue,
    # so a killed worker's messages come back in about TTL + interval seconds, not the visibility timeout.
    worker_heartbeat_interval: float = Field(5.0, gt=0)
    worker_heartbeat_ttl: float = Field(20.0, gt=0)

    # The index worker runs threads that hand articles to one bulk writer: a batch is written
    # at ``index_batch_size`` articles or after ``index_batch_wait_ms``, whichever comes first.
    index_worker_concurrency: int = 32
    index_batch_size: int = 200
    index_batch_wait_ms: int = 100

    # ---- Fetching, feeds, HTTP push and corrections (the ingest service) ----
    # SSRF guard: URLs resolving to loopback, private, link-local, … addresses are refused unless
    # their host name or address is in this comma-separated list of host names, addresses or networks
    # ("127.0.0.1", "10.0.0.0/8", "intranet.example").
    fetch_allow_hosts: str = ""
    fetch_user_agent: str = "kabar/0.1 (news ingestion; respects robots.txt)"
    fetch_connect_timeout: float = Field(5.0, gt=0)
    # The whole response (headers and body) must arrive within this many seconds.
    fetch_timeout: float = Field(20.0, gt=0)
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    # Politeness: at least this many seconds between two requests to one host (robots.txt's
    # Crawl-delay, when larger, wins up to fetch_max_crawl_delay).
    fetch_host_interval: float = Field(1.0, ge=0)
    fetch_max_crawl_delay: float = Field(30.0, ge=0)
    # A fetch that would have to wait longer than this for its host's turn fails (and is retried later).
    fetch_max_wait: float = Field(60.0, gt=0)
    fetch_respect_robots: bool = True
    robots_cache_seconds: float = Field(3600.0, ge=0)
    robots_max_bytes: int = Field(512 * 1024, gt=0)

    # Feeds: polled every feed_interval seconds each (per feed, overridable); beat looks for
    # feeds that are due every feed_tick seconds. A failing feed backs off exponentially.
    feed_interval: float = Field(900.0, ge=10)
    feed_tick: float = Field(60.0, gt=0)
    feed_max_bytes: int = Field(5 * 1024 * 1024, gt=0)
    feed_max_entries: int = Field(50, ge=1)  # new entries taken from one poll of one feed
    feed_backoff_max: float = Field(6 * 3600.0, gt=0)
    feed_poll_concurrency: int = Field(4, ge=1)  # feeds polled at once by `kabar feeds poll`
    feed_lease_seconds: float = Field(600.0, gt=0)  # a dispatched poll that did not finish is retried after this

    # Retention of the Redis state that grows with the archive (seen content hashes, versions, the
    # near-duplicate index, stories): what was not written for this many days is forgotten, swept
    # from the stores' write paths at most every sweep interval (kabar.contract.retention). 0 keeps
    # everything. 90 days covers the story window, late corrections and feeds re-serving old items
    # many times over; docs/operations.md gives the memory this bounds.
    state_retention_days: float = Field(90.0, ge=0)
    retention_sweep_interval: float = Field(300.0, gt=0)

    # HTTP push: request body and batch limits.
    push_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    push_max_items: int = Field(100, ge=1)

    # Corrections: a known article whose title changed, or whose body changed in more than this
    # share of its tokens, is a new version; smaller edits are skipped.
    correction_threshold: float = Field(0.02, ge=0, le=1)
    versions_kept: int = Field(20, ge=2)
    # Keep each fetched or pushed page's HTML, gzip-compressed, under KABAR_DATA_DIR/raw/.
    keep_raw_html: bool = True

    # ---- The HTTP API: write endpoints (push, feeds, watchlists, dead-letter replay) need this key;
    # reads only when api_read_requires_key. CORS is off unless origins are listed.
    api_key: SecretStr | None = Field(default=None, repr=False)
    api_read_requires_key: bool = False
    api_max_request_bytes: int = Field(default=1024 * 1024, ge=1)
    api_cors_origins: list[str] = Field(default_factory=list)

    # ---- Watchlist alerts (the alerts worker posts them to webhooks) ----
    # Seconds the alerts worker waits for a webhook to connect and for each read of its answer.
    alert_timeout: float = Field(default=5.0, gt=0, le=120)
    # The same for the one inline attempt of the embedded mode: `kabar ingest` waits at most
    # about this long per new alert.
    alert_inline_timeout: float = Field(default=3.0, gt=0, le=120)
    # Retry n waits between half and all of min(max, base * 2**(n-1)) s: the defaults keep
    # retrying for roughly 14 to 27 minutes before the alert is dead-lettered.
    alert_max_retries: int = Field(default=10, ge=0, le=100)
    alert_retry_backoff_base: float = Field(default=2.0, gt=0)
    # Below the broker's visibility timeout (1 hour): a retry waits unacknowledged in the worker.
    alert_retry_backoff_max: float = Field(default=600.0, gt=0, le=3000)
    # Comma-separated networks a webhook may resolve to besides public addresses. None by default,
    # not even loopback (a key holder could aim alerts at Redis on 127.0.0.1). Add your receiver's
    # network (10.0.0.0/8, the compose network, 127.0.0.1/32 on a laptop ...) to alert inside it.
    webhook_allowed_networks: str = ""
    # Every indexed article is matched against all watchlists: at most this many.
    max_watchlists: int = Field(default=1000, ge=1)

    metrics_port: int = 9100
    # The address a worker's Prometheus endpoint listens on: loopback by default; compose sets
    # 0.0.0.0, where Prometheus scrapes it from another container.
    metrics_host: str = "127.0.0.1"
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"KABAR_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
        return value

    @cached_property
    def webhook_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.webhook_allowed_networks)

    @model_validator(mode="after")
    def _backends_follow_mode(self) -> KabarSettings:
        services = self.mode == "services"
        if self.search_backend is None:
            self.search_backend = "elasticsearch" if services else "sqlite"
        if self.state_backend is None:
            self.state_backend = "redis" if services else "sqlite"
        return self

    @property
    def search_backend_name(self) -> SearchBackendName:
        assert self.search_backend is not None  # set by the validator
        return self.search_backend

    @property
    def search_engine(self) -> EngineName | None:
        """The search engine behind the backend, or None for SQLite."""
        name = self.search_backend_name
        return None if name == "sqlite" else name

    @property
    def search_engine_url(self) -> str:
        return self.opensearch_url if self.search_backend_name == "opensearch" else self.elasticsearch_url

    @property
    def state_backend_name(self) -> StateBackendName:
        assert self.state_backend is not None  # set by the validator
        return self.state_backend

    @property
    def sqlite_state_path(self) -> Path:
        return self.data_dir / "state.sqlite3"

    @property
    def sqlite_index_path(self) -> Path:
        return self.data_dir / "search.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> KabarSettings:
    """The process-wide settings, read once from the environment."""
    return KabarSettings()
