"""HTTP ingest: ``POST /articles`` (push), ``/feeds`` (the feed list), ``GET /articles/{id}/versions``.

``POST /articles`` takes

- JSON: one object or a list of up to ``KABAR_PUSH_MAX_ITEMS`` objects
  ``{"url", "title", "text" | "html", "published_at"}``, checked exactly as ``.json`` files are
  (unknown fields, empty bodies, over-long titles or URLs, impossible dates are refused);
- raw HTML (``Content-Type: text/html``) or plain text (``text/plain``), with the page's URL in
  the ``url`` query parameter or the ``X-Kabar-Url`` header (and optionally ``title``).

Every document is read, extracted and cleaned as the ingest stage will, so the answer carries
the id ingest will give it (``stage.identify``); a document without article text or with an
unusable URL is refused then, not later. A batch is all or nothing: one bad item refuses the
request, naming the item. Then each document goes on (the ingest queue in the services mode,
the whole pipeline here in the embedded mode): ``202 Accepted`` with the ids, in order.

Errors are RFC 9457 problem details (the API's handlers): 413 over ``KABAR_PUSH_MAX_BYTES`` or
the item limit, 415 for another content type, 422 for invalid documents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from kabar.contract.failures import PermanentError
from kabar.contract.messages import RawDocument
from kabar.contract.settings import KabarSettings
from kabar.service_api import ApiSecurity, problem_responses
from kabar_ingest.corrections import VersionStore, open_version_store, versions_router
from kabar_ingest.feeds import Feed, FeedStore, new_feed, open_feed_store
from kabar_ingest.fetch import AddressPolicy, FetchError, media_type
from kabar_ingest.reader import (
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    BadDocument,
    check_html_shape,
    decode_html,
    decode_utf8,
    parse_json_documents,
    sanitize,
)
from kabar_ingest.sinks import DocumentSink
from kabar_ingest.stage import identify, prepare

PUSH_SOURCE: Final = "push"
_JSON_TYPES: Final = frozenset({"application/json"})
_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})


class PushItem(BaseModel):
    """One pushed article (documentation of the JSON body; the body is checked like a ``.json`` file)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=MAX_URL_CHARS)
    title: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    text: str | None = Field(None, description="Plain text; or give html.")
    html: str | None = Field(None, description="The page's HTML; or give text.")
    published_at: str | None = Field(None, description="ISO 8601; UTC when no zone is given.")


class PushedArticle(BaseModel):
    id: str
    url: str | None
    status: str = Field(description="queued (services mode), or the pipeline's outcome (embedded mode): "
                                    "indexed, unchanged, repeat, failed.")
    reason: str | None = None


class PushResult(BaseModel):
    accepted: int
    articles: list[PushedArticle]


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_CHARS, description="The RSS or Atom feed's URL (http or https).")
    name: str | None = Field(None, max_length=200)
    interval: float | None = Field(None, ge=60, le=7 * 86400, description="Seconds between polls.")


class FeedList(BaseModel):
    feeds: list[Feed]


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is over ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is {int(declared) / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"request body is over the {limit / 1e6:.1f} MB limit")
    return bytes(body)


def documents_of(body: bytes, media: str, charset: str | None, *, url: str | None, title: str | None,
                 max_items: int) -> list[RawDocument]:
    """The pushed documents; ``HTTPException`` (413, 415, 422) with the reason otherwise."""
    if not body.strip():
        raise HTTPException(422, "the request body is empty")
    try:
        if media in _JSON_TYPES:
            documents = parse_json_documents(decode_utf8(body), PUSH_SOURCE)
        elif media in _HTML_TYPES or media == "text/plain":
            documents = [_single_document(body, media, charset, url, title)]
        else:
            raise HTTPException(415, f"content type {media or '(none)'!r} is not accepted; send application/json, "
                                     "text/html or text/plain")
    except BadDocument as exc:
        raise HTTPException(422, str(exc)) from None
    if len(documents) > max_items:
        raise HTTPException(413, f"{len(documents)} articles in one request, over the limit of {max_items}")
    return documents


def _single_document(body: bytes, media: str, charset: str | None, url: str | None,
                     title: str | None) -> RawDocument:
    if url is not None and len(url) > MAX_URL_CHARS:
        raise BadDocument(f"the url is {len(url)} characters long, over the {MAX_URL_CHARS} limit")
    if title is not None and len(title) > MAX_TITLE_CHARS:
        raise BadDocument(f"the title is {len(title)} characters long, over the {MAX_TITLE_CHARS} limit")
    if media == "text/plain":
        text = sanitize(_decode(body, charset, decode_utf8))
        if not text.strip():
            raise BadDocument("the text has only whitespace")
        return RawDocument(source=PUSH_SOURCE, format="text", content=text, url=url, title=title)
    check_html_shape(body)
    html = sanitize(_decode(body, charset, decode_html))
    return RawDocument(source=PUSH_SOURCE, format="html", content=html, url=url, title=title)


def _decode(body: bytes, charset: str | None, fallback: Callable[[bytes], str]) -> str:
    if charset:
        try:
            return body.decode(charset)
        except LookupError:
            raise BadDocument(f"unknown charset {charset!r}") from None
        except UnicodeDecodeError as exc:
            raise BadDocument(f"not valid {charset} (byte 0x{body[exc.start]:02x} at offset {exc.start})") from None
    return fallback(body)


def accept_documents(documents: list[RawDocument], sink: DocumentSink) -> PushResult:
    """Identify every document first (all or nothing), then hand them on together."""
    identified = []
    for index, document in enumerate(documents):
        try:
            identity = identify(prepare(document))
        except PermanentError as exc:
            where = f"item {index}: " if len(documents) > 1 else ""
            raise HTTPException(422, f"{where}{exc}") from None
        identified.append((document, identity))
    outcomes = sink([document for document, _ in identified])
    articles = [PushedArticle(id=identity.id, url=identity.url, status=submitted.status, reason=submitted.reason)
                for (_, identity), submitted in zip(identified, outcomes, strict=True)]
    return PushResult(accepted=len(articles), articles=articles)


_PUSH_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [
                PushItem.model_json_schema(),
                {"type": "array", "items": PushItem.model_json_schema()},
            ]}},
            "text/html": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    },
}


def push_router(sink: Callable[[], DocumentSink], settings: KabarSettings) -> APIRouter:
    router = APIRouter(tags=["ingest"])

    @router.post("/articles", status_code=202, response_model=PushResult, openapi_extra=_PUSH_BODY,
                 summary="Push one article or a batch", responses=_problems(400, 413, 415, 422))
    async def push(request: Request,
                   url: Annotated[str | None, Query(description="Raw HTML or text: the page's URL.")] = None,
                   title: Annotated[str | None, Query(description="Raw HTML or text: its title.")] = None,
                   x_kabar_url: Annotated[str | None, Header(description="Raw HTML or text: the page's URL.")] = None,
                   ) -> PushResult:
        media, charset = media_type(request.headers.get("content-type", ""))
        body = await read_limited_body(request, settings.push_max_bytes)
        documents = documents_of(body, media, charset, url=url or x_kabar_url, title=title,
                                 max_items=settings.push_max_items)
        return await run_in_threadpool(accept_documents, documents, sink())

    return router


def feeds_router(store: Callable[[], FeedStore], settings: KabarSettings, guard: ApiSecurity) -> APIRouter:
    router = APIRouter(tags=["feeds"])
    policy = AddressPolicy.from_settings(settings)

    @router.post("/feeds", dependencies=[Depends(guard.require_write)],
                 status_code=201, response_model=Feed, summary="Add an RSS or Atom feed to poll",
                 responses=_problems(400, 401, 403, 422))
    def add_feed(feed: FeedIn, response: Response) -> Feed:
        try:
            record = new_feed(feed.url, feed.name, feed.interval, settings)
            policy.check_host(record.url)
        except FetchError as exc:
            raise HTTPException(422, str(exc)) from None
        stored, created = store().add(record)
        if not created:
            response.status_code = 200
        return stored

    @router.get("/feeds", dependencies=[Depends(guard.require_read)],
                response_model=FeedList, summary="The feeds polled, with their last poll's outcome",
                responses=_problems(401, 403))
    def list_feeds() -> FeedList:
        return FeedList(feeds=store().all())

    @router.get("/feeds/{feed_id}", dependencies=[Depends(guard.require_read)],
                response_model=Feed, summary="One feed", responses=_problems(401, 403, 404, 422))
    def get_feed(feed_id: str) -> Feed:
        found = store().get(feed_id)
        if found is None:
            raise HTTPException(404, f"no feed with id {feed_id!r}")
        return found

    @router.delete("/feeds/{feed_id}", dependencies=[Depends(guard.require_write)],
                   status_code=204, summary="Stop polling a feed", responses=_problems(401, 403, 404, 422))
    def remove_feed(feed_id: str) -> Response:
        if not store().remove(feed_id):
            raise HTTPException(404, f"no feed with id {feed_id!r}")
        return Response(status_code=204)

    return router


_PROBLEM_TITLES: Final = {400: "Malformed request (unparseable body or headers)", 401: "API key missing or wrong",
                          403: "API key not configured", 404: "Not found", 413: "Body or batch over the limit",
                          415: "Content type not accepted", 422: "Invalid document or parameter"}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for these statuses: every error is a problem detail (the API's handlers)."""
    return problem_responses(_PROBLEM_TITLES, *statuses)


class _Lazy:
    """Stores and sinks opened on first use, so an API that never ingests opens nothing."""

    def __init__(self, settings: KabarSettings, open_sink: Callable[[], DocumentSink]) -> None:
        self.settings = settings
        self._open_sink = open_sink
        self._feeds: FeedStore | None = None
        self._versions: VersionStore | None = None
        self._sink: DocumentSink | None = None

    def feeds(self) -> FeedStore:
        if self._feeds is None:
            self._feeds = open_feed_store(self.settings)
        return self._feeds

    def versions(self) -> VersionStore:
        if self._versions is None:
            self._versions = open_version_store(self.settings, self.settings.versions_kept)
        return self._versions

    def sink(self) -> DocumentSink:
        if self._sink is None:
            self._sink = self._open_sink()
        return self._sink


def ingest_routers(settings: KabarSettings, security: ApiSecurity | None,
                   sink: Callable[[], DocumentSink]) -> list[APIRouter]:
    """Push, feeds and versions. ``sink`` opens, on the first push, where pushed documents go
    (``kabar_ingest.sinks.document_sink``: the queue, or the embedded pipeline the caller hands in).

    Mount them ahead of a catch-all ``/articles/{id:path}`` route, which would take ``…/versions``.
    """
    lazy = _Lazy(settings, sink)
    guard = security or ApiSecurity(settings)
    # include_router applies dependencies to every route it copies: a write guard on push,
    # a read guard on versions; the feeds router guards each of its routes itself.
    # Each guard documents the answers it can give.
    push = APIRouter(dependencies=[Depends(guard.require_write)], responses=_problems(401, 403))
    push.include_router(push_router(lazy.sink, settings))
    versions = APIRouter(dependencies=[Depends(guard.require_read)], responses=_problems(401, 403))
    versions.include_router(versions_router(lazy.versions))
    return [push, feeds_router(lazy.feeds, settings, guard), versions]
