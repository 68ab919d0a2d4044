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
  (default 1 MiB).
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
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _send_problem(send, 413 if declared.isdigit() else 400,
                                RequestTooLarge(self.max_bytes).detail if declared.isdigit()
                                else "the Content-Length header is not a number")
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)  # the app's HTTPException handler answers 413
            return message

        await self.app(scope, limited, send)


def install_security(app: FastAPI, security: ApiSecurity) -> None:
    """The request size limit, and CORS only when origins are configured (off by default)."""
    settings = security.settings
    if settings.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", API_KEY_HEADER, "Content-Type"])
    app.add_middleware(RequestSizeLimit, max_bytes=settings.api_max_request_bytes)


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
