"""Watchlists as clients send and see them, the alert kept per story, and the delivery message."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kabar.contract.messages import EnrichedArticle, Message, utc_now
from kabar.contract.settings import get_settings
from kabar.contract.surrogates import lone_surrogate_reason
from kabar_search.query import MAX_QUERY_CHARS, QueryError, SimpleQuery, parse_query
from kabar_search.request import Filters, check_filter_values
from kabar_search.watch.webhooks import MAX_WEBHOOK_CHARS, InvalidWebhook, check_webhook_url

MAX_NAME_CHARS: Final = 200
ALERT_TYPE: Final = "kabar.watchlist.alert"
AlertStatus = Literal["pending", "queued", "delivered", "failed"]


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_watchlist", message)  # the message as it is, no "Value error, " prefix


class WatchlistSpec(BaseModel):
    """What a client sends to create a watchlist. Everything is checked here, once."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    query: str = Field(description='Words (ANDed), "quoted phrases" and -excluded words, as in GET /search. '
                                   f"At most {MAX_QUERY_CHARS} characters.")
    webhook: str = Field(description="http(s) URL the alerts are POSTed to (JSON). Public addresses only, "
                                     "unless its network is in KABAR_WEBHOOK_ALLOWED_NETWORKS.")
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS, description="A label for people.")
    languages: list[str] = Field(default_factory=list, description="Language codes; ORed, as in /search.")
    sources: list[str] = Field(default_factory=list, description="Source domains; ORed.")
    entities: list[str] = Field(default_factory=list, description="Canonical entity names; all must appear.")
    entity_ids: list[str] = Field(default_factory=list, description="Entity ids (e.g. loc:north-korea), as the "
                                                                    "entity_id filter of /search; all must appear.")

    @model_validator(mode="before")
    @classmethod
    def _writable(cls, data: object) -> object:
        reason = lone_surrogate_reason(data)
        if reason is not None:
            raise _invalid(reason)
        return data

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str) -> str:
        try:
            parse_query(value)
        except QueryError as exc:
            raise _invalid(str(exc)) from None
        return value

    @field_validator("languages", "sources", "entities", "entity_ids")
    @classmethod
    def _filters_are_sane(cls, values: list[str], info: ValidationInfo) -> list[str]:
        try:
            return list(check_filter_values(info.field_name or "filter", values))
        except QueryError as exc:
            raise _invalid(str(exc)) from None

    @field_validator("webhook")
    @classmethod
    def _webhook_is_allowed(cls, value: str) -> str:
        if len(value) > MAX_WEBHOOK_CHARS:  # before anything parses it
            raise _invalid(f"the webhook URL is {len(value)} characters; the limit is {MAX_WEBHOOK_CHARS}")
        try:
            return check_webhook_url(value, get_settings().webhook_networks)
        except InvalidWebhook as exc:
            raise _invalid(str(exc)) from None


def first_problem(exc: ValidationError) -> str:
    """One line for a person: where and what, for the first error."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


class Watchlist(BaseModel):
    """A stored watchlist. Not re-validated when read back: a setting changed since (allowed
    networks, limits) must not make stored watchlists unreadable; delivery checks the address."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    query: str
    languages: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    entity_ids: list[str] = Field(default_factory=list)
    webhook: str
    created_at: datetime

    @classmethod
    def create(cls, spec: WatchlistSpec) -> Watchlist:
        return cls(id=f"wl-{secrets.token_hex(8)}", created_at=utc_now(), **spec.model_dump())

    def parsed(self) -> tuple[SimpleQuery, Filters]:
        """The query and filters exactly as ``GET /search`` would take them."""
        return parse_query(self.query), Filters(languages=tuple(self.languages), sources=tuple(self.sources),
                                                entities=tuple(self.entities), entity_ids=tuple(self.entity_ids))


class ArticleRef(BaseModel):
    """An article as an alert names it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    url: str | None = None
    source_domain: str | None = None
    language: str | None = None
    published_at: datetime | None = None

    @classmethod
    def of(cls, article: EnrichedArticle) -> ArticleRef:
        return cls(id=article.id, title=article.title, url=article.url, source_domain=article.source_domain,
                   language=article.language, published_at=article.published_at)


class AlertState(BaseModel):
    """The one alert of a story for a watchlist, with the coverage seen since."""

    model_config = ConfigDict(extra="forbid")

    story_id: str
    articles: int = Field(description="Matching articles of this story indexed so far.")
    first_article: ArticleRef
    last_article: ArticleRef
    first_at: datetime = Field(description="When the first matching article was indexed (the alert).")
    last_at: datetime
    status: AlertStatus = Field(description="pending: not handed to delivery yet; queued: on the alert queue; "
                                            "delivered; failed: dead-lettered (kabar dlq list, stage alert).")
    delivered_at: datetime | None = None


def alert_id(watchlist_id: str, story_id: str) -> str:
    """Stable per watchlist and story: a receiver can drop a repeated delivery by it."""
    return hashlib.sha256(f"{watchlist_id}\n{story_id}".encode()).hexdigest()[:24]


class AlertWatchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    query: str


class AlertBody(BaseModel):
    """The JSON a webhook receives."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["kabar.watchlist.alert"] = ALERT_TYPE
    alert_id: str
    watchlist: AlertWatchlist
    story_id: str
    article: ArticleRef = Field(description="The first article of the story that matched.")
    matched_at: datetime


class AlertDelivery(Message):
    """The message on the ``alerts`` queue (and in a dead letter of stage ``alert``)."""

    watchlist_id: str
    webhook: str
    alert: AlertBody

    @classmethod
    def of(cls, watchlist: Watchlist, state: AlertState) -> AlertDelivery:
        body = AlertBody(alert_id=alert_id(watchlist.id, state.story_id),
                         watchlist=AlertWatchlist(id=watchlist.id, name=watchlist.name, query=watchlist.query),
                         story_id=state.story_id, article=state.first_article, matched_at=state.first_at)
        return cls(watchlist_id=watchlist.id, webhook=watchlist.webhook, alert=body)


def redacted_webhook(url: str) -> str:
    """Scheme, host and port only: a webhook's path and query often are its secret (chat webhooks)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    hidden = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
    return f"{parts.scheme}://{host}{port}{hidden}"


class WatchlistView(BaseModel):
    """A watchlist as the API shows it: the webhook without its path and query."""

    id: str
    name: str | None
    query: str
    languages: list[str]
    sources: list[str]
    entities: list[str]
    entity_ids: list[str]
    webhook: str = Field(description="Scheme, host and port of the webhook; the rest is not shown.")
    created_at: datetime
    alert_count: int = Field(description="Stories that have alerted: one alert per story.")

    @classmethod
    def of(cls, watchlist: Watchlist, alert_count: int) -> WatchlistView:
        return cls(**watchlist.model_dump(exclude={"webhook"}), webhook=redacted_webhook(watchlist.webhook),
                   alert_count=alert_count)


class WatchlistDetail(WatchlistView):
    alerts: list[AlertState] = Field(description="One per story, newest first, at most the requested limit.")
