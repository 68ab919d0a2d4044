"""What every service's HTTP routes share, beside the contract: the API key guard, the request size
limit, CORS, and RFC 9457 problem details. Services import this module (and ``kabar.contract``) and
nothing else of ``kabar``; the app itself is assembled in ``kabar.api``.

Settings (fields of ``KabarSettings``, from the environment):

- ``KABAR_API_KEY``: the key write endpoints require, sent as ``X-API-Key: KEY`` or
  ``Authorization: Bearer KEY``. Unset, every write endpoint answers 403: writes are off
  until a key is configured. Never logged, hidden from ``repr``.
- ``KABAR_API_READ_REQUIRES_KEY``: ``true`` makes read endpoints require the key too
  (default ``false``: search is public).
- ``KABAR_API_MAX_REQUEST_BYTES``: request bodies over this are refused with 413, by the
  declared ``Content-Length`` before anything is read, else while the body streams in
  (default 1 MiB). A route may have a larger limit of its own (``POST /articles``:
  ``KABAR_PUSH_MAX_BYTES``), given by whoever composes the app.
- ``KABAR_API_CORS_ORIGINS``: a JSON list of origins allowed to call the API from a
  browser, such as ``["https://newsroom.example"]``. Empty (the default): no CORS headers,
  so browsers keep other sites' pages from reading the API.

Wiring: ``kabar.api.create_app`` installs the guard once (``install_security``); each service's
router guards its routes::

    @router.get("/search", dependencies=[Depends(security.require_read)], responses=problem_responses(...))
    @router.post("/...", dependencies=[Depends(security.require_write)], ...)
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabar.contract.settings import KabarSettings

API_KEY_HEADER: Final = "X-API-Key"
PROBLEM: Final = "application/problem+json"

_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey",
                               description="The API key (KABAR_API_KEY).")
_bearer = HTTPBearer(auto_error=False, scheme_name="Bearer",
                     description="The API key (KABAR_API_KEY) as a bearer token.")


def problem(status: int, title: str, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An RFC 9457 problem detail: the body of every error the API answers."""
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM, headers=headers)


def problem_responses(titles: Mapping[int, str], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``statuses`` (all of ``titles`` if none): every error is a problem detail."""
    return {status: {"description": f"{titles[status]} (problem detail)", "content": {PROBLEM: {}}}
            for status in statuses or tuple(titles)}


class ApiSecurity:
    """The FastAPI dependencies that guard endpoints, built from ``KabarSettings`` (read from the
    environment when none are given)."""

    def __init__(self, settings: KabarSettings | None = None) -> None:
        self.settings = settings or KabarSettings()

    def require_write(
        self,
        api_key: Annotated[str | None, Security(_api_key_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> None:
        """Dependency of every write endpoint: 403 while no key is configured, 401 without the right key."""
        if self.settings.api_key is None:
            raise StarletteHTTPException(403, "write endpoints are disabled until KABAR_API_KEY is set")
        self._check(api_key, bearer)

    def require_read(
        self,
        api_key: Annotated[str | None, Security(_api_key_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> None:
        """Dependency of read endpoints: open unless KABAR_API_READ_REQUIRES_KEY is set."""
        if not self.settings.api_read_requires_key:
            return
        if self.settings.api_key is None:
            raise StarletteHTTPException(403, "reads require a key, but KABAR_API_KEY is not set")
        self._check(api_key, bearer)

    def _check(self, api_key: str | None, bearer: HTTPAuthorizationCredentials | None) -> None:
        assert self.settings.api_key is not None
        presented = api_key if api_key is not None else (bearer.credentials if bearer else None)
        if presented is None:
            raise StarletteHTTPException(401, f"an API key is required ({API_KEY_HEADER} header or bearer token)",
                                         headers={"WWW-Authenticate": "Bearer"})
        expected = self.settings.api_key.get_secret_value().encode()
        if not hmac.compare_digest(presented.encode(), expected):
            raise StarletteHTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})


class RequestTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the {limit}-byte limit (KABAR_API_MAX_REQUEST_BYTES)")


class RequestSizeLimit:
    """ASGI middleware: refuse request bodies over their limit with 413, declared or streamed.

    The limit is ``max_bytes``, or a larger one ``route_limits`` gives a route (``POST /articles``:
    ``KABAR_PUSH_MAX_BYTES``). A body without a ``Content-Length`` (chunked) is read here, up to
    the limit, before the app sees it: a body that runs over is answered 413 at once, the same
    whether or not the request carries a key, and nothing is raised inside the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, route_limits: Mapping[tuple[str, str], int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.route_limits = dict(route_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.route_limits.get((scope.get("method", ""), scope.get("path", "")), self.max_bytes)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_problem(send, 413 if declared.isdigit() else 400,
                                RequestTooLarge(limit).detail if declared.isdigit()
                                else "the Content-Length header is not a number")
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server delivers exactly the declared length
            return
        body, complete = await _read_up_to(receive, limit)
        if not complete:
            await _send_problem(send, 413, RequestTooLarge(limit).detail)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_up_to(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body if it is at most ``limit`` bytes (True), or what was read when it ran over (False)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body), True  # the client went away: the app sees an empty body and its disconnect
        body += message.get("body", b"")
        if len(body) > limit:
            return bytes(body), False
        if not message.get("more_body", False):
            return bytes(body), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class SecurityHeaders:
    """ASGI middleware: ``nosniff``, no framing and a Content-Security-Policy on every response.

    The search pages send a CSP of their own (``kabar_search.web``); the OpenAPI pages (``/docs``,
    ``/redoc``) load FastAPI's viewer from its CDN with an inline script; everything else (JSON,
    problem details) may load nothing.
    """

    HEADERS: Final = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"))
    CSP: Final = b"default-src 'none'; frame-ancestors 'none'"
    DOCS_CSP: Final = (b"default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
                       b"style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
                       b"connect-src 'self'; worker-src blob:; frame-ancestors 'none'")
    DOCS_PATHS: Final = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        csp = self.DOCS_CSP if scope.get("path") in self.DOCS_PATHS else self.CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {bytes(name).lower() for name, _ in message.get("headers", [])}
                wanted = (*self.HEADERS, (b"content-security-policy", csp))
                message["headers"] = [*message.get("headers", []),
                                      *((name, value) for name, value in wanted if name not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def install_security(app: FastAPI, security: ApiSecurity,
                     route_limits: Mapping[tuple[str, str], int] | None = None) -> None:
    """The request size limit (``route_limits``: larger limits of some routes), security headers, and CORS
    only when origins are configured (off by default)."""
    settings = security.settings
    if settings.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", API_KEY_HEADER, "Content-Type"])
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestSizeLimit, max_bytes=settings.api_max_request_bytes, route_limits=route_limits)


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for logs and reprs)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))
    except ValueError:
        return "<unparseable URL>"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send_problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": "Request refused", "status": status, "detail": detail}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
